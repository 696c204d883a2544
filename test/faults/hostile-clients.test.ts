/**
 * Attacks on the API's sockets: a WebSocket upgrade with an over-long path, clients that never
 * hang up while the server shuts down, and a revoked key holding streams open on two API
 * processes.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startApiServer } from '../../src/api/index.ts';
import { createApiKey, revokeApiKey } from '../../src/api/keys.ts';
import { Engine } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { openSse, silentLogger, startApiHarness, type ApiHarness } from '../support/http.ts';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness({ keyCacheTtlMs: 60_000 });
});

afterAll(async () => {
  await api?.close();
});

function upgradeRequest(path: string, key: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: taskloom\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nx-api-key: ${key}\r\n\r\n`;
}

/** Sends raw bytes; resolves with what came back once the server closes, or 'open' after waitMs. */
async function rawExchange(url: string, bytes: string, waitMs = 3000): Promise<{ closed: boolean; response: string }> {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  let response = '';
  socket.on('data', (chunk: Buffer) => { response += chunk.toString(); });
  socket.on('error', () => {});
  socket.write(bytes);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.destroy();
  return { closed, response };
}

it('closes the socket of an upgrade refused for a 6,000-character path', async () => {
  for (const path of [`/ws/projects/${'a'.repeat(6000)}`, `/ws/tasks/${'b'.repeat(6000)}`, '/ws/not-a-stream']) {
    const exchange = await rawExchange(api.url, upgradeRequest(path, api.keyA));
    expect(exchange.response).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(exchange.closed).toBe(true);
  }
});

it('closes within its grace period while clients hold an upgraded socket and a half-sent request open', async () => {
  const server = await startApiServer({ engine: api.engine, pool: api.db.pool, config: api.config, logger: silentLogger, host: '127.0.0.1', port: 0, webRoot: false, closeGraceMs: 1000 });
  const port = Number(new URL(server.url).port);
  // An upgraded WebSocket that will never answer a close frame.
  const upgraded = net.connect(port, '127.0.0.1');
  upgraded.on('error', () => {});
  const switched = new Promise<void>((resolve) => upgraded.once('data', () => resolve()));
  upgraded.write(upgradeRequest('/ws/projects/p1', api.keyA));
  await switched;
  // A request whose headers never end.
  const stalled = net.connect(port, '127.0.0.1');
  stalled.on('error', () => {});
  stalled.write('GET /healthz HTTP/1.1\r\nHost: taskloom\r\n');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  await server.close();
  expect(Date.now() - started).toBeLessThan(2500);
  upgraded.destroy();
  stalled.destroy();
});

it('closes a revoked key\'s WebSocket and SSE streams on every API process within a second', async () => {
  // A second API process: its own engine, listener and key cache on the same database.
  const otherEngine = await Engine.start({ url: api.db.url, pool: api.db.pool, logger: silentLogger, taskTypes: [sleepTask], maintenance: false });
  const other = await startApiServer({ engine: otherEngine, pool: api.db.pool, config: api.config, logger: silentLogger, host: '127.0.0.1', port: 0, webRoot: false, keyCacheTtlMs: 60_000 });
  try {
    const created = await createApiKey(api.db.pool, { tenant: 'alpha' });
    const task = await api.request('POST', '/api/v1/tasks/submit', { key: created.key, body: { task_type: 'sleep', task_data: { ms: 20_000, steps: 20 } } });
    expect(task.status).toBe(202);
    // Both processes have the key cached (60 s) before it is revoked.
    expect((await fetch(`${other.url}/api/v1/tasks?limit=1`, { headers: { 'x-api-key': created.key } })).status).toBe(200);

    const socket = new WebSocket(`${api.url.replace('http', 'ws')}/ws/projects/${task.body.project_id ?? 'default'}?api_key=${created.key}`);
    const wsClosed = new Promise<{ code: number; at: number }>((resolve) => socket.on('close', (code) => resolve({ code, at: Date.now() })));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const sse = await openSse(`${other.url}/api/v1/tasks/${task.body.task_id}/events`, { 'x-api-key': created.key });
    expect(sse.status).toBe(200);
    await sse.next();
    const sseEnded = (async () => {
      while ((await sse.next(30_000)) !== undefined) { /* drain until the server ends the stream */ }
      return Date.now();
    })();

    const revokedAt = Date.now();
    expect(await revokeApiKey(api.db.pool, created.id)).toHaveLength(1);
    const closed = await wsClosed;
    expect(closed.code).toBe(1008);
    expect(closed.at - revokedAt).toBeLessThan(1000);
    expect((await sseEnded) - revokedAt).toBeLessThan(1000);
    const refused = await fetch(`${other.url}/api/v1/tasks?limit=1`, { headers: { 'x-api-key': created.key } });
    expect(refused.status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect((await api.request('GET', '/api/v1/tasks?limit=1', { key: created.key })).status).toBe(401);
  } finally {
    await other.close();
    await otherEngine.stop({ graceMs: 0 });
  }
});
