/**
 * A worker's start and its connections (worker.ts `start`, delivery-connections.ts): it claims
 * and settles on connections it borrows from the engine's pool, opening no server process of its
 * own, and hands them back with their settings reset when it stops. A connection it holds that is
 * lost (a restart, a failover) is dropped at once and another borrowed, not found dead by the next
 * claim. A worker that cannot register itself fails to start; registering also forgets the rows
 * of workers gone for over a day. Its first claims go only to the queues holding due work. A worker
 * stopped on its own leaves the engine's list of workers (readiness counts the ones listed).
 */
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPool, openConnections, type Pool } from '../../src/db/pool.ts';
import { Engine } from '../../src/engine/index.ts';
import { createSideEffectTables, stepsTask } from '../fixtures/task-types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testLogger, waitForStatus } from '../support/engine.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

let database: TestDatabase;
let proxy: TcpProxy;

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  proxy = await startTcpProxy(database.url);
});

afterAll(async () => {
  await proxy?.close();
  await database?.drop();
});

/** Server processes connected to this test's database. */
async function backends(): Promise<number> {
  const result = await database.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database()');
  return result.rows[0]!.count;
}

/** Runs `tasks` one-step tasks and waits for each to complete. */
async function runTasks(engine: Engine, tasks: number): Promise<void> {
  const submitted = await Promise.all(Array.from({ length: tasks }, (_, index) => engine.submit({ taskType: stepsTask.type, input: { steps: 1 + (index % 2) } })));
  for (const { task } of submitted) expect((await waitForStatus(engine, task.id, ['completed'])).status).toBe('completed');
}

/** The delivery settings as each of `pool`'s connections has them now (all checked out at once). */
async function settingsOfEveryConnection(pool: Pool): Promise<Array<{ enable_seqscan: string; plan_cache_mode: string; prepared: number }>> {
  const clients = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
  try {
    return await Promise.all(clients.map(async (client) => (await client.query(
      "SELECT current_setting('enable_seqscan') AS enable_seqscan, current_setting('plan_cache_mode') AS plan_cache_mode, (SELECT count(*)::int FROM pg_prepared_statements WHERE name = 'taskloom_deliver') AS prepared",
    )).rows[0]));
  } finally {
    for (const client of clients) client.release();
  }
}

it('claims on connections borrowed from the engine\'s pool, and hands them back with their settings reset', async () => {
  // Opened and primed as a service opens its pool at start.
  const pool = createPool(database.url, { max: 4 });
  await openConnections(pool);
  const engine = await Engine.start({ url: database.url, pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false, eagerStart: false });
  try {
    const before = await backends();
    const worker = await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
    await runTasks(engine, 6);
    // No server process was started for the worker.
    expect(await backends()).toBe(before);
    await worker.stop();
    const connections = await settingsOfEveryConnection(pool);
    expect(connections.map(({ enable_seqscan, plan_cache_mode }) => ({ enable_seqscan, plan_cache_mode }))).toEqual(Array.from({ length: 4 }, () => ({ enable_seqscan: 'on', plan_cache_mode: 'auto' })));
    // The connections the worker held keep its statement prepared, for the next worker.
    expect(connections.some((connection) => connection.prepared === 1)).toBe(true);
  } finally {
    await engine.stop();
    await pool.end();
  }
});

it('gives the connections it is not using back as soon as others wait for the pool', async () => {
  // A checkout that waits longer than half a second fails: the worker's connections unused
  // since the tasks ended would otherwise stay with it for thirty seconds (`lingerMs`).
  const pool = createPool(database.url, { max: 3, connectionTimeoutMs: 500 });
  const engine = await Engine.start({ url: database.url, pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false, eagerStart: false });
  try {
    const worker = await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
    await runTasks(engine, 6);
    const checkouts = await Promise.allSettled(Array.from({ length: 3 }, () => pool.connect()));
    for (const checkout of checkouts) if (checkout.status === 'fulfilled') checkout.value.release();
    expect(checkouts.map((checkout) => checkout.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    await worker.stop();
  } finally {
    await engine.stop();
    await pool.end();
  }
});

it('drops a connection it holds as soon as it is lost, and claims on another once the database answers', async () => {
  // Everything goes through the proxy: the pool the worker borrows from, and the listener.
  const pool = createPool(proxy.url, { max: 4, connectionTimeoutMs: 1000 });
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  const engine = await Engine.start({ url: proxy.url, pool, logger, taskTypes: [stepsTask], maintenance: false, schedules: false, eagerStart: false });
  try {
    const worker = await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
    await runTasks(engine, 4);
    // A failover as the worker sees it: every connection drops, and the next ones are accepted.
    await proxy.cut();
    await proxy.restore();
    await runTasks(engine, 4);
    // Had a lost connection stayed among the worker's, a claim would have failed on it first.
    expect(warnings.filter((line) => line.includes('claiming tasks failed'))).toEqual([]);
    await worker.stop();
  } finally {
    await proxy.restore();
    await engine.stop();
    await pool.end();
  }
});

it('fails to start when it cannot register', async () => {
  const pool = createPool(proxy.url, { max: 2, connectionTimeoutMs: 1000 });
  const engine = await Engine.start({ url: database.url, pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false });
  try {
    await proxy.cut();
    await expect(engine.startWorker({ concurrency: 2 })).rejects.toThrow();
    expect(engine.workers.size).toBe(0);
  } finally {
    await proxy.restore();
    await engine.stop();
    await pool.end();
  }
});

it('forgets the workers gone for over a day as it registers', async () => {
  await database.pool.query(
    `INSERT INTO workers (id, hostname, pid, queues, concurrency, started_at, heartbeat_at, expires_at) VALUES
       ('gone-long-ago', 'elsewhere', 1, '{default}', 1, now() - interval '30 hours', now() - interval '30 hours', now() - interval '25 hours'),
       ('gone-an-hour-ago', 'elsewhere', 2, '{default}', 1, now() - interval '2 hours', now() - interval '2 hours', now() - interval '1 hour')`,
  );
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false });
  try {
    const worker = await engine.startWorker({ concurrency: 1 });
    const rows = await database.pool.query<{ id: string }>('SELECT id FROM workers ORDER BY id');
    // The one an hour gone stays for the dashboard's history; the one a day gone is forgotten.
    expect(rows.rows.map((row) => row.id)).toEqual(['gone-an-hour-ago', worker.id].sort());
  } finally {
    await engine.stop();
    await database.pool.query("DELETE FROM workers WHERE id = 'gone-an-hour-ago'");
  }
});

it('claims at start only in the queues that hold due work', async () => {
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false, eagerStart: false });
  const claimedQueues: string[] = [];
  const original = pg.Client.prototype.query;
  try {
    const { task } = await engine.submit({ taskType: stepsTask.type, input: { steps: 1 } });
    // Every claim is a delivery statement asking for tasks of one queue ($1) up to a limit ($2).
    pg.Client.prototype.query = function watchedQuery(this: pg.Client, ...parameters: unknown[]): unknown {
      const statement = parameters[0] as { name?: string; values?: unknown[] } | undefined;
      if (statement?.name === 'taskloom_deliver' && Number(statement.values?.[1]) > 0) claimedQueues.push(String(statement.values?.[0]));
      return (original as (...values: unknown[]) => unknown).apply(this, parameters);
    } as typeof original;
    const worker = await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
    expect(worker.queueNames.length).toBeGreaterThan(1);
    await waitForStatus(engine, task.id, ['completed']);
    expect(claimedQueues).toEqual([task.queue]);
  } finally {
    pg.Client.prototype.query = original;
    await engine.stop();
  }
});

it('leaves the engine\'s list of workers when it is stopped on its own', async () => {
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false });
  try {
    const stopped = await engine.startWorker({ concurrency: 1 });
    const kept = await engine.startWorker({ concurrency: 1 });
    expect([...engine.workers]).toEqual([stopped, kept]);
    await stopped.stop();
    expect([...engine.workers]).toEqual([kept]);
    // The worker still running takes the tasks, eagerly or through the queue.
    const { task } = await engine.submit({ taskType: stepsTask.type, input: { steps: 1 } });
    expect((await waitForStatus(engine, task.id, ['completed'])).worker_id).toBe(kept.id);
  } finally {
    await engine.stop();
  }
});
