/**
 * Chaos: PostgreSQL itself (a private server, so nothing else on the machine is disturbed) is
 * restarted twice while an API process and two worker processes drain 500 tasks. Every process
 * stays up, the API answers 503 while the server is down, every task completes, and no
 * checkpointed step's side effect happens twice.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.ts';
import { createApiKey } from '../../src/api/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { locateDataFolder, password, startServer, stopServer, user, type DataFolder } from '../../src/db/embedded-postgres-server.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { Engine } from '../../src/engine/index.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';
import { freePort, killPostmasters } from '../db/postmasters.ts';
import { eventually, testLogger } from '../support/engine.ts';
import { killChildren, spawnNode, type Child } from '../support/processes.ts';

let home: string;
let folder: DataFolder;
let port: number;
let url: string;
let pool: Pool;
let engine: Engine;
let server: ApiServer;
let key: string;
const workers: Child[] = [];

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-chaos-'));
  // As root the server runs as the postgres user, which must reach the data folder.
  await chmod(home, 0o755);
  folder = await locateDataFolder(home);
  port = await freePort();
  await startServer(folder, port);
  url = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
  pool = createPool(url, { max: 5, applicationName: 'taskloom-api', connectionTimeoutMs: 2000 });
  await migrate(pool);
  await createSideEffectTables(pool);
  key = (await createApiKey(pool, { tenant: 'alpha' })).key;
  engine = await Engine.start({ url, pool, logger: testLogger, taskTypes: testTaskTypes, maintenance: true });
  server = await startApiServer({ engine, pool, config: loadConfig({}, {}), logger: testLogger, host: '127.0.0.1', port: 0, webRoot: false });
  for (let index = 0; index < 2; index += 1) workers.push(spawnNode('test/fixtures/worker-process.ts', [url, '8']));
  await Promise.all(workers.map((child) => child.waitForLine('ready')));
}, 180_000);

afterAll(async () => {
  await killChildren();
  await server?.close();
  await engine?.stop({ graceMs: 500 }).catch(() => {});
  await pool?.end().catch(() => {});
  await stopServer(folder).catch(() => {});
  await killPostmasters(folder.dataPath);
  await rm(home, { recursive: true, force: true });
}, 120_000);

async function counts(): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ status: string; count: number }>('SELECT status, count(*)::int AS count FROM tasks GROUP BY status');
    return Object.fromEntries(result.rows.map((row) => [row.status, row.count]));
  } finally {
    await client.end();
  }
}

it('drains 500 tasks through two PostgreSQL restarts', async () => {
  const total = 500;
  for (let index = 0; index < total; index += 1) {
    await engine.submit({ taskType: 'test_steps', input: { steps: 2, stepMs: 20 } });
  }
  const statusesDuringOutage: number[] = [];
  for (let restart = 0; restart < 2; restart += 1) {
    await eventually(async () => ((await counts()).completed ?? 0) >= (restart + 1) * 100, 120_000, 100);
    await stopServer(folder);
    for (let probe = 0; probe < 3; probe += 1) {
      const response = await fetch(`${server.url}/api/v1/tasks?limit=1`, { headers: { 'x-api-key': key } });
      statusesDuringOutage.push(response.status);
      if (response.status === 503) expect(response.headers.get('retry-after')).toBe('5');
      await sleep(300);
    }
    await startServer(folder, port);
    for (const child of workers) expect(child.process.exitCode, child.output()).toBeNull();
  }
  expect(statusesDuringOutage.every((status) => status === 503)).toBe(true);

  await eventually(async () => {
    const current = await counts();
    return (current.completed ?? 0) + (current.failed ?? 0) === total;
  }, 180_000, 500);
  expect(await counts()).toEqual({ completed: total });
  const repeated = await pool.query('SELECT task_id, step FROM test_side_effects GROUP BY task_id, step HAVING count(*) > 1');
  expect(repeated.rows).toEqual([]);
  for (const child of workers) {
    expect(child.process.exitCode).toBeNull();
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }
}, 420_000);
