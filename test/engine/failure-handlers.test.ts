import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, failureHandlerPasses, type Engine, type TaskRecord, type Worker } from '../../src/engine/index.ts';
import { PermanentError } from '../../src/errors.ts';
import { FailureHandlers } from '../../src/engine/failure-handlers.ts';
import { TaskRegistry } from '../../src/engine/task-registry.ts';
import { createTestDatabase, startTestEngine, testLogger, waitForTask, type TestDatabase } from '../../src/kit/testing.ts';
import { claimAndVanish, eventually } from '../support/engine.ts';

// Each handler writes one row per call through the transaction it is given: a row that exists
// committed with the handler's cursor, and the count says how often it ran.
const recordFailure = async (failure: { task: TaskRecord; transaction: { query: (text: string, values: unknown[]) => Promise<unknown> }; stepResult: (key: string) => Promise<unknown> }): Promise<void> => {
  await failure.transaction.query(
    'INSERT INTO failure_records (task_id, status, error_code, step_result) VALUES ($1, $2, $3, $4)',
    [failure.task.id, failure.task.status, (failure.task.error as { code?: string } | null)?.code ?? null, JSON.stringify(await failure.stepResult('made') ?? null)],
  );
};

const failing = defineTask({
  type: 'failure_handler_fails',
  description: 'checkpoints a step, then fails for good',
  queue: 'default',
  maxAttempts: 1,
  input: z.object({}),
  async run(context) {
    await context.step('made', async () => ({ value: 42 }));
    throw new PermanentError('this task always fails');
  },
  onFailure: recordFailure,
});

const retrying = defineTask({
  type: 'failure_handler_retries',
  description: 'fails retryably, so it waits a minute for its next attempt',
  queue: 'default',
  maxAttempts: 3,
  retryBaseDelayMs: 60_000,
  input: z.object({}),
  async run() {
    throw new Error('try again later');
  },
  onFailure: recordFailure,
});

const abandoned = defineTask({
  type: 'failure_handler_abandoned',
  description: 'one attempt, which the test claims and never runs',
  queue: 'default',
  maxAttempts: 1,
  input: z.object({}),
  async run() {
    return null;
  },
  onFailure: recordFailure,
});

const handlerCalls = new Map<string, number>();
const throwing = defineTask({
  type: 'failure_handler_throws',
  description: 'fails; its handler throws `throws` times (input) before it writes',
  queue: 'default',
  maxAttempts: 1,
  input: z.object({ throws: z.number().int() }),
  async run() {
    throw new PermanentError('fails at once');
  },
  async onFailure(failure) {
    const calls = (handlerCalls.get(failure.task.id) ?? 0) + 1;
    handlerCalls.set(failure.task.id, calls);
    // Its write before the throw must not survive the pass that threw.
    await recordFailure(failure);
    if (calls <= (failure.task.input as { throws: number }).throws) throw new Error(`handler failure ${calls}`);
  },
});

const succeeding = defineTask({
  type: 'failure_handler_succeeds',
  description: 'completes: its handler must never run',
  queue: 'default',
  input: z.object({}),
  async run() {
    return 'done';
  },
  onFailure: recordFailure,
});

let database: TestDatabase;
let engine: Engine;
let worker: Worker;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query('CREATE TABLE failure_records (task_id uuid NOT NULL, status text NOT NULL, error_code text, step_result jsonb)');
  engine = await startTestEngine(database, [failing, retrying, abandoned, throwing, succeeding]);
  worker = await engine.startWorker({ concurrency: 4, pollIntervalMs: 100, heartbeatSeconds: 1 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

/** Resolves with the task once its type's handler has run for it and committed. */
function handled(taskId: string): Promise<TaskRecord> {
  return new Promise((resolve) => {
    const hook = (task: TaskRecord): void => {
      if (task.id !== taskId) return;
      engine.hooks.failureHandled.delete(hook);
      resolve(task);
    };
    engine.hooks.failureHandled.add(hook);
  });
}

async function records(taskId: string): Promise<Array<{ status: string; error_code: string | null; step_result: unknown }>> {
  return (await database.pool.query('SELECT status, error_code, step_result FROM failure_records WHERE task_id = $1', [taskId])).rows;
}

it('runs once for a task that fails for good, with its checkpointed steps readable', async () => {
  const { task } = await engine.submit({ taskType: failing.type, input: {} });
  const heard = handled(task.id);
  await waitForTask(engine, task.id, ['failed']);
  await heard;
  expect(await records(task.id)).toEqual([{ status: 'failed', error_code: 'permanent_failure', step_result: { value: 42 } }]);
  // A later pass, and a second worker's, pass over it: the cursor moved with the handler's write.
  const second = await engine.startWorker({ concurrency: 1, pollIntervalMs: 100 });
  const next = await engine.submit({ taskType: failing.type, input: {} });
  await handled(next.task.id);
  await second.stop();
  expect(await records(task.id)).toHaveLength(1);
  expect(await records(next.task.id)).toHaveLength(1);
});

it('runs for a task cancelled while it waits for a retry, when none of its code runs', async () => {
  const { task } = await engine.submit({ taskType: retrying.type, input: {} });
  await waitForTask(engine, task.id, ['retrying']);
  const heard = handled(task.id);
  expect(await engine.cancel(task.id)).toMatchObject({ previous_state: 'retrying', status: 'cancelled' });
  await heard;
  // A cancelled task keeps the error of its last attempt.
  expect(await records(task.id)).toEqual([{ status: 'cancelled', error_code: 'internal_error', step_result: null }]);
});

it('runs for a task failed as abandoned when its worker stopped answering on its last attempt', async () => {
  await worker.stop();
  const { task } = await engine.submit({ taskType: abandoned.type, input: {} });
  const lost = await claimAndVanish(database.pool, { queue: 'default', limit: 10, workerId: 'worker-that-died', leaseSeconds: 1 });
  expect(lost.claimed.map((claimed) => claimed.task.id)).toContain(task.id);
  const heard = handled(task.id);
  worker = await engine.startWorker({ concurrency: 4, pollIntervalMs: 100, heartbeatSeconds: 1 });
  await heard;
  expect(await records(task.id)).toEqual([{ status: 'failed', error_code: 'abandoned', step_result: null }]);
}, 30_000);

it('runs a handler that threw again on a later pass, keeping none of a thrown pass\'s writes', async () => {
  const { task } = await engine.submit({ taskType: throwing.type, input: { throws: 2 } });
  await handled(task.id);
  expect(handlerCalls.get(task.id)).toBe(3);
  expect(await records(task.id)).toEqual([{ status: 'failed', error_code: 'permanent_failure', step_result: null }]);
});

it(`gives a handler up after ${failureHandlerPasses} passes, and goes on with the failures after it`, async () => {
  const poisoned = await engine.submit({ taskType: throwing.type, input: { throws: 1000 } });
  await waitForTask(engine, poisoned.task.id, ['failed']);
  const after = await engine.submit({ taskType: throwing.type, input: { throws: 0 } });
  await handled(after.task.id);
  expect(handlerCalls.get(poisoned.task.id)).toBe(failureHandlerPasses);
  expect(await records(poisoned.task.id)).toEqual([]);
  expect(await records(after.task.id)).toHaveLength(1);
});

it('never runs for a task that completes', async () => {
  const { task } = await engine.submit({ taskType: succeeding.type, input: {} });
  await waitForTask(engine, task.id, ['completed']);
  const lastEvent = Math.max(...(await engine.readEvents({ taskId: task.id })).map((event) => event.id));
  // Its type's cursor passes over its events at a poll, handling none of them.
  await eventually(async () => {
    const cursor = await database.pool.query<{ last_event_id: number }>('SELECT last_event_id FROM event_consumers WHERE name = $1', [`failure-handler:${succeeding.type}`]);
    return cursor.rows[0]!.last_event_id >= lastEvent;
  });
  expect(await records(task.id)).toEqual([]);
});

it('passes over the log only for the cursors behind its newest event: an idle worker sends one statement for them', async () => {
  // A database of its own: no other test's events arrive between the runs.
  const isolated = await createTestDatabase();
  const submitter = await startTestEngine(isolated, [succeeding]);
  try {
    const elsewhere = (type: string) => defineTask({ type, description: 'runs in no process here', queue: 'default', input: z.object({}), run: async () => null, onFailure: recordFailure });
    const handlers = new FailureHandlers({ pool: isolated.pool, registry: new TaskRegistry().register(elsewhere('idle_first'), elsewhere('idle_second')), logger: testLogger });
    // Cursors not created yet are behind: their first pass creates them at the newest event.
    expect(await handlers.run()).toEqual({ handled: 0, passed: 2 });
    expect(await handlers.run()).toEqual({ handled: 0, passed: 0 });
    // Any event puts every cursor behind it until a pass has gone over it.
    await submitter.submit({ taskType: succeeding.type, input: {} });
    expect(await handlers.run()).toEqual({ handled: 0, passed: 2 });
    expect(await handlers.run()).toEqual({ handled: 0, passed: 0 });
  } finally {
    await submitter.stop();
    await isolated.drop();
  }
});
