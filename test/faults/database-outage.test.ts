/**
 * Fault: the network to PostgreSQL is cut (every connection dropped, new ones refused) for a few
 * seconds, twice, while the API serves and two worker processes drain tasks. Every process
 * stays up; during the cut the API answers 503 dependency_failed with Retry-After and /readyz
 * 503; afterwards every task completes and no checkpointed step's side effect happens twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.ts';
import { createApiKey } from '../../src/api/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { Engine } from '../../src/engine/index.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, testLogger } from '../support/engine.ts';
import { killChildren, spawnNode, type Child } from '../support/processes.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

let database: TestDatabase;
let proxy: TcpProxy;
let pool: Pool;
let engine: Engine;
let server: ApiServer;
let key: string;
const workers: Child[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  key = (await createApiKey(database.pool, { tenant: 'alpha' })).key;
  proxy = await startTcpProxy(database.url);
  // The API process's engine (no worker: the two worker processes do the work) goes through the proxy.
  pool = createPool(proxy.url, { max: 5, applicationName: 'taskloom-api', connectionTimeoutMs: 2000 });
  engine = await Engine.start({ url: proxy.url, pool, logger: testLogger, taskTypes: testTaskTypes, maintenance: true });
  server = await startApiServer({ engine, pool, config: loadConfig({}, {}), logger: testLogger, host: '127.0.0.1', port: 0, webRoot: false });
  for (let index = 0; index < 2; index += 1) {
    const child = spawnNode('test/fixtures/worker-process.ts', [proxy.url, '4']);
    workers.push(child);
  }
  await Promise.all(workers.map((child) => child.waitForLine('ready')));
});

afterAll(async () => {
  await killChildren();
  await server?.close();
  await engine?.stop({ graceMs: 500 });
  await pool?.end();
  await proxy?.close();
  await database?.drop();
});

async function request(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function statusCounts(): Promise<Record<string, number>> {
  const result = await database.pool.query<{ status: string; count: number }>('SELECT status, count(*)::int AS count FROM tasks GROUP BY status');
  return Object.fromEntries(result.rows.map((row) => [row.status, row.count]));
}

it('rides out two network cuts: processes stay up, the API answers 503, every task completes once', async () => {
  const total = 60;
  const taskIds: string[] = [];
  for (let index = 0; index < total; index += 1) {
    const submitted = await request('POST', '/api/v1/tasks/submit', { task_type: 'test_steps', task_data: { steps: 3, stepMs: 150 } });
    expect(submitted.status).toBe(202);
    taskIds.push(submitted.body.task_id);
  }

  for (let cut = 0; cut < 2; cut += 1) {
    await eventually(async () => ((await statusCounts()).completed ?? 0) >= (cut + 1) * 10, 30_000);
    await proxy.cut();
    const during = await request('GET', '/api/v1/tasks?limit=5');
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('dependency_failed');
    expect(during.body.error.details).toMatchObject({ dependency: 'database', retry_after_seconds: 5 });
    expect(during.headers.get('retry-after')).toBe('5');
    // No internal address in what a client sees.
    expect(JSON.stringify(during.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    const submit = await request('POST', '/api/v1/tasks/submit', { task_type: 'test_steps', task_data: { steps: 1 } });
    expect(submit.status).toBe(503);
    const ready = await request('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('not_ready');
    expect(JSON.stringify(ready.body)).not.toMatch(/127\.0\.0\.1/);
    expect((await request('GET', '/healthz')).status).toBe(200);
    await sleep(3000);
    await proxy.restore();
    for (const child of workers) expect(child.process.exitCode).toBeNull();
  }

  await eventually(async () => (await request('GET', '/readyz')).status === 200, 15_000);
  await eventually(async () => {
    const counts = await statusCounts();
    return (counts.completed ?? 0) + (counts.failed ?? 0) === total;
  }, 120_000, 250);
  expect(await statusCounts()).toEqual({ completed: total });
  const effects = await database.pool.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM test_side_effects WHERE task_id = ANY($1::uuid[]) GROUP BY task_id, step HAVING count(*) > 1',
    [taskIds],
  );
  expect(effects.rows).toEqual([]);
  for (const child of workers) {
    expect(child.process.exitCode).toBeNull();
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }
}, 180_000);
