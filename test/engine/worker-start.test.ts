/**
 * A worker's start (worker.ts `start`): it claims as soon as one delivery connection is open and
 * opens the others meanwhile. A delivery connection that cannot open at start is not fatal (the
 * claims open one when the database answers again); a worker that cannot register itself fails
 * to start and leaves no delivery connection behind. A worker stopped on its own leaves the
 * engine's list of workers (readiness counts the ones listed).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.ts';
import { Engine } from '../../src/engine/index.ts';
import { createSideEffectTables, stepsTask } from '../fixtures/task-types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, testLogger, waitForStatus } from '../support/engine.ts';
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

/** Delivery connections of this test's database, as the server sees them. */
async function deliveryConnections(): Promise<number> {
  const result = await database.pool.query<{ count: number }>(
    "SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = 'taskloom-worker' AND datname = current_database()",
  );
  return result.rows[0]!.count;
}

it('starts with its delivery connections refused, and claims once the database answers them', async () => {
  // The delivery connections (and the listener) go through the proxy; the engine's pool does not.
  const engine = await Engine.start({ url: proxy.url, pool: database.pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false, eagerStart: false });
  try {
    await proxy.cut();
    const worker = await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
    const { task } = await engine.submit({ taskType: stepsTask.type, input: { steps: 1 } });
    expect((await engine.getTask(task.id)).status).toBe('queued');
    await proxy.restore();
    expect((await waitForStatus(engine, task.id, ['completed'])).result).toEqual({ values: [1], sum: 1 });
    // The claim opened a delivery connection of its own once the proxy accepted again.
    expect(await deliveryConnections()).toBeGreaterThan(0);
    await worker.stop();
    // A backend leaves pg_stat_activity shortly after its client has gone.
    await eventually(async () => (await deliveryConnections()) === 0);
  } finally {
    await proxy.restore();
    await engine.stop();
  }
});

it('fails to start when it cannot register, and leaves no delivery connection open', async () => {
  // The engine's pool goes through the proxy; the delivery connections do not.
  const pool = createPool(proxy.url, { max: 2, connectionTimeoutMs: 1000 });
  const engine = await Engine.start({ url: database.url, pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false });
  try {
    await proxy.cut();
    await expect(engine.startWorker({ concurrency: 2 })).rejects.toThrow();
    expect(engine.workers.size).toBe(0);
    await eventually(async () => (await deliveryConnections()) === 0);
  } finally {
    await proxy.restore();
    await engine.stop();
    await pool.end();
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
