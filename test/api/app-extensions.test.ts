/**
 * Rate limits, route plugins, revoked keys, and the dashboard's static files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildApp, parseOrThrow, revokeApiKey } from '../../src/api/index.ts';
import { silentLogger, startApiHarness, type ApiHarness } from '../support/http.ts';

const gatherPlugin: FastifyPluginAsync = async (app) => {
  app.post('/api/v1/projects/:id/gather', async (request) => {
    const { id } = parseOrThrow(z.object({ id: z.string().min(1) }).strict(), request.params, 'params');
    const body = parseOrThrow(z.object({ departments: z.array(z.string()).min(1) }).strict(), request.body, 'body');
    return { project_id: id, tenant: request.tenant, departments: body.departments };
  });
};

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness({ worker: false, config: { apiRateLimitPerMinute: 8 }, routePlugins: [gatherPlugin], keyCacheTtlMs: 0 });
});

afterAll(async () => {
  await api?.close();
});

describe('route plugins', () => {
  it('run inside the authenticated scope with request.tenant and the API\'s validation', async () => {
    expect((await api.request('POST', '/api/v1/projects/p1/gather', { key: null, body: { departments: ['story'] } })).status).toBe(401);
    const bad = await api.request('POST', '/api/v1/projects/p1/gather', { key: api.keyB, body: { departments: [], extra: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', details: { location: 'body' } });
    const good = await api.request('POST', '/api/v1/projects/p1/gather', { key: api.keyB, body: { departments: ['story'] } });
    expect(good.body).toEqual({ project_id: 'p1', tenant: 'beta', departments: ['story'] });
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once a key spends its budget, per key', async () => {
    let limited;
    for (let index = 0; index < 10; index += 1) {
      const response = await api.request('GET', '/api/v1/tasks');
      if (response.status === 429) {
        limited = response;
        break;
      }
      expect(response.status).toBe(200);
    }
    expect(limited?.body.error.code).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Health is not rate limited; another key has its own budget.
    expect((await api.request('GET', '/healthz', { key: null })).status).toBe(200);
    expect((await api.request('GET', '/api/v1/task-types', { key: api.keyB })).status).toBe(200);
  });
});

describe('keys', () => {
  it('a revoked key is refused', async () => {
    const { createApiKey } = await import('../../src/api/keys.ts');
    const created = await createApiKey(api.db.pool, { tenant: 'gamma', name: 'temporary' });
    expect((await api.request('GET', '/api/v1/tenant', { key: created.key })).body.tenant).toBe('gamma');
    expect(await revokeApiKey(api.db.pool, created.prefix)).toHaveLength(1);
    expect((await api.request('GET', '/api/v1/tenant', { key: created.key })).status).toBe(401);
    const stored = await api.db.pool.query('SELECT count(*)::int AS count FROM api_keys WHERE key_hash = $1 OR prefix = $1', [created.key]);
    expect(stored.rows[0].count).toBe(0);
  });
});

describe('dashboard', () => {
  it('serves web/dist with an SPA fallback that leaves API paths alone', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'taskloom-web-'));
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>taskloom</title>');
    await writeFile(path.join(root, 'app.js'), 'console.log(1)');
    const app = await buildApp({ engine: api.engine, config: api.config, logger: silentLogger, webRoot: root });
    try {
      const index = await app.inject({ method: 'GET', url: '/' });
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('<title>taskloom</title>');
      expect((await app.inject({ method: 'GET', url: '/app.js' })).body).toContain('console.log');
      const clientRoute = await app.inject({ method: 'GET', url: '/tasks/some-id' });
      expect(clientRoute.statusCode).toBe(200);
      expect(clientRoute.body).toContain('<title>taskloom</title>');
      expect((await app.inject({ method: 'GET', url: '/missing.js' })).statusCode).toBe(404);
      const api404 = await app.inject({ method: 'GET', url: '/api/v1/unknown' });
      expect(api404.statusCode).toBe(404);
      expect(api404.json().error.code).toBe('route_not_found');
    } finally {
      await app.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
