/**
 * Eager start (submit.ts, worker.ts): a task submitted beside an idle worker of the same engine is
 * written already leased to it and starts when the submit commits, with its events in order and
 * a lease that lives like a claim's. Keyed tasks, busy workers and engines that turn it off
 * queue as before, and a submit that leases nothing gives its slot back.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eagerSlotFree, eventually, startTestEngine, waitForTask } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';

const gates = new Gates();

const quick = defineTask({
  type: 'eager_quick',
  description: 'returns at once',
  queue: 'default',
  input: z.object({}),
  async run() {
    return null;
  },
});

const gated = defineTask({
  type: 'eager_gated',
  description: 'returns when the test opens its gate',
  queue: 'default',
  input: z.object({ gate: z.string() }),
  async run(context) {
    await gates.wait(context.input.gate);
    return null;
  },
});

const keyed = defineTask({
  type: 'eager_keyed',
  description: 'one at a time per key',
  queue: 'default',
  input: z.object({ key: z.string() }),
  concurrency: { key: (input) => input.key, onConflict: 'queue' },
  async run() {
    return null;
  },
});

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [quick, gated, keyed], { heartbeatSeconds: 1 });
});

afterEach(async () => {
  for (const worker of engine.workers) await worker.stop({ graceMs: 100 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 100 });
  await database?.drop();
});

async function eventsOf(taskId: string): Promise<Array<{ id: number; type: string; payload: Record<string, unknown> }>> {
  const result = await database.pool.query('SELECT id::int, type, payload FROM task_events WHERE task_id = $1 ORDER BY id', [taskId]);
  return result.rows;
}

it('starts a task submitted beside an idle worker as the submit commits, leased like a claim', async () => {
  const worker = await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
  await eagerSlotFree(worker);
  const { task } = await engine.submit({ taskType: gated.type, input: { gate: 'eager' } });
  expect(task).toMatchObject({ status: 'running', attempts: 1, worker_id: worker.id });
  expect(task.lease).not.toBeNull();
  const lease = await database.pool.query('SELECT lease, worker_id, expires_at FROM task_leases WHERE task_id = $1', [task.id]);
  expect(lease.rows).toEqual([{ lease: task.lease, worker_id: worker.id, expires_at: expect.any(Date) }]);
  expect(await database.pool.query('SELECT 1 FROM task_queue WHERE task_id = $1', [task.id])).toMatchObject({ rowCount: 0 });
  // Running past the lease's first expiry (1.5 s at a 1 s heartbeat): the worker's heartbeat
  // extends it as it extends a claimed task's, and nothing takes the task away.
  await eventually(async () => {
    const now = await database.pool.query('SELECT now() > $2 AND expires_at > $2 AS extended FROM task_leases WHERE task_id = $1', [task.id, lease.rows[0].expires_at]);
    return now.rows[0]?.extended === true;
  });
  await gates.open('eager');
  const done = await waitForTask(engine, task.id, ['completed']);
  expect(done.attempts).toBe(1);
  const events = await eventsOf(task.id);
  expect(events.map((event) => event.type)).toEqual(['task_queued', 'task_started', 'task_completed']);
  expect(events[1]!.payload).toEqual({ attempt: 1, max_attempts: task.max_attempts, worker_id: worker.id, resumed: false });
});

it('queues a task when the worker has no free slot, and a keyed task always', async () => {
  const worker = await engine.startWorker({ concurrency: 1, pollIntervalMs: 60_000 });
  await eagerSlotFree(worker);
  const busy = await engine.submit({ taskType: gated.type, input: { gate: 'busy' } });
  expect(busy.task.status).toBe('running');
  const waiting = await engine.submit({ taskType: quick.type, input: {} });
  expect(waiting.task.status).toBe('queued');
  await gates.open('busy');
  await waitForTask(engine, waiting.task.id, ['completed']);

  await eagerSlotFree(worker);
  const { task } = await engine.submit({ taskType: keyed.type, input: { key: 'a' } });
  expect(task.status).toBe('queued');
  await waitForTask(engine, task.id, ['completed']);
});

it('gives the slot back when an idempotency key returns an earlier task', async () => {
  const worker = await engine.startWorker({ concurrency: 1, pollIntervalMs: 60_000 });
  await eagerSlotFree(worker);
  const first = await engine.submit({ taskType: quick.type, input: {}, idempotencyKey: 'once' });
  expect(first.task.status).toBe('running');
  await waitForTask(engine, first.task.id, ['completed']);
  await eagerSlotFree(worker);
  const again = await engine.submit({ taskType: quick.type, input: {}, idempotencyKey: 'once' });
  expect(again).toMatchObject({ created: false, task: { id: first.task.id, status: 'completed' } });
  // The one slot was not kept by the submit that leased nothing.
  const next = await engine.submit({ taskType: quick.type, input: {} });
  expect(next.task.status).toBe('running');
  await waitForTask(engine, next.task.id, ['completed']);
});

it('queues every task when the engine turns eager start off', async () => {
  const queuedOnly = await startTestEngine(database, [quick], { eagerStart: false });
  try {
    const worker = await queuedOnly.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
    await eagerSlotFree(worker);
    const { task } = await queuedOnly.submit({ taskType: quick.type, input: {} });
    expect(task.status).toBe('queued');
    await waitForTask(queuedOnly, task.id, ['completed']);
  } finally {
    await queuedOnly.stop({ graceMs: 100 });
  }
});

it('stops within its grace period while a submit holds one of its slots, and that task is handed back unspent', async () => {
  const worker = await engine.startWorker({ concurrency: 1, pollIntervalMs: 60_000 });
  await eagerSlotFree(worker);
  // Another transaction inserting the same idempotency key holds the submit's statement.
  const blocker = await database.pool.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query(
      `INSERT INTO tasks (id, tenant, task_type, queue, priority, status, input, max_attempts, idempotency_key)
       VALUES (gen_random_uuid(), 'default', $1, 'default', 5, 'queued', '{}', 1, 'held')`,
      [quick.type],
    );
    const submitted = engine.submit({ taskType: quick.type, input: {}, idempotencyKey: 'held' });
    await eventually(async () => (await database.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO tasks%'`)).rowCount === 1);
    const stopping = performance.now();
    await worker.stop({ graceMs: 200 });
    expect(performance.now() - stopping).toBeLessThan(5_000);
    await blocker.query('ROLLBACK');
    const { task, created } = await submitted;
    expect(created).toBe(true);
    const back = await eventually(async () => {
      const found = await engine.getTask(task.id);
      return found.status === 'queued' ? found : undefined;
    });
    expect(back).toMatchObject({ attempts: 0, lease: null, worker_id: null });
    // Leased by the submit (its slot was held), then handed back, not queued from the start.
    expect((await eventsOf(task.id)).map((event) => event.type)).toEqual(['task_queued', 'task_started', 'task_queued']);
    expect(await database.pool.query('SELECT 1 FROM task_queue WHERE task_id = $1', [task.id])).toMatchObject({ rowCount: 1 });
    expect(await database.pool.query('SELECT 1 FROM task_leases WHERE task_id = $1', [task.id])).toMatchObject({ rowCount: 0 });
  } finally {
    await blocker.query('ROLLBACK').catch(() => {});
    blocker.release();
  }
});
