/**
 * Serving the dashboard when it is not built (a fresh clone started with `npx taskloom serve`,
 * which skips `npm start`'s build) and when it is: a warning at start that says how to build it,
 * and `/` answering a notice (HTML, or JSON for Accept: application/json) instead of a bare 404.
 *
 * No browser here: real HTTP against the API server, started with `webRoot` pointing at a
 * temporary folder (empty, or holding a stand-in index.html).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.ts';
import { loadConfig } from '../../src/config.ts';
import type { Engine } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine } from '../support/engine.ts';

let database: TestDatabase;
let engine: Engine;
const folders: string[] = [];
const servers: ApiServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [sleepTask]);
});

afterAll(async () => {
  for (const server of servers) await server.close();
  await engine?.stop({ graceMs: 0 });
  await database?.drop();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A server on `webRoot` whose log lines are kept (pino JSON, as `taskloom serve` writes them). */
async function serve(webRoot: string): Promise<{ url: string; logs: LogLine[] }> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const server = await startApiServer({ engine, config: loadConfig({}, {}), logger: pino({ level: 'info' }, sink), pool: database.pool, host: '127.0.0.1', port: 0, webRoot });
  servers.push(server);
  return { url: server.url, logs };
}

async function temporaryFolder(): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'taskloom-web-root-'));
  folders.push(folder);
  return folder;
}

describe('dashboard not built', () => {
  let url: string;
  let logs: LogLine[];
  let webRoot: string;

  beforeAll(async () => {
    webRoot = await temporaryFolder();
    ({ url, logs } = await serve(webRoot));
  });

  it('warns at start that the dashboard is not built and how to build it', () => {
    const warnings = logs.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('dashboard is not built');
    expect(warnings[0]!.msg).toContain('npm run build:web');
    expect(warnings[0]!.msg).toContain(path.join(webRoot, 'index.html'));
  });

  it('answers / with an HTML notice for a browser', async () => {
    const response = await fetch(`${url}/`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const page = await response.text();
    expect(page).toContain('<h1>The taskloom dashboard is not built</h1>');
    expect(page).toContain('npm run build:web');
    // A client route of the dashboard (a bookmarked task page) says the same.
    const clientRoute = await fetch(`${url}/tasks/00000000-0000-4000-8000-000000000001`);
    expect(clientRoute.status).toBe(503);
    expect(await clientRoute.text()).toContain('npm run build:web');
    // curl's default Accept (*/*) gets the page too.
    expect((await fetch(`${url}/`, { headers: { accept: '*/*' } })).headers.get('content-type')).toContain('text/html');
  });

  it('answers / in the API\'s error shape for Accept: application/json', async () => {
    const response = await fetch(`${url}/`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = await response.json() as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(body.error.code).toBe('dashboard_not_built');
    expect(body.error.message).toContain('npm run build:web');
    expect(body.error.details).toEqual({ web_root: webRoot, build_command: 'npm run build:web' });
  });

  it('leaves the API, missing assets and unknown API paths as they were', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/tasks`)).status).toBe(401);
    const asset = await fetch(`${url}/assets/index.js`);
    expect(asset.status).toBe(404);
    expect(((await asset.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
    const unknownApi = await fetch(`${url}/api/v1/nothing-here`);
    expect(unknownApi.status).toBe(404);
    expect(((await unknownApi.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
    // Only reads are answered with the notice.
    expect((await fetch(`${url}/`, { method: 'POST' })).status).toBe(404);
  });
});

describe('dashboard built', () => {
  it('serves index.html at / and for client routes, with no warning', async () => {
    const webRoot = await temporaryFolder();
    await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>stand-in dashboard</title>');
    const { url, logs } = await serve(webRoot);
    expect(logs.filter((line) => line.level >= 40)).toEqual([]);
    for (const pathname of ['/', '/tasks/00000000-0000-4000-8000-000000000001']) {
      const response = await fetch(url + pathname);
      expect(response.status, pathname).toBe(200);
      expect(await response.text(), pathname).toContain('stand-in dashboard');
    }
    expect((await fetch(`${url}/assets/missing.js`)).status).toBe(404);
  });
});
