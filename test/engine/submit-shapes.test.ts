/**
 * The shapes of a submit statement (submit.ts `SubmitShape`): a batch of one binds its values as
 * scalars, a batch whose tasks all start eagerly leaves out the queue and exclusive-key parts,
 * and one that carries its workers' finishes records them too, one or several. Whichever
 * statement a batch takes, it stores the same rows and events as the others would.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine, type SubmitResult } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eagerSlotFree, eventWriter, startEagerly, startTestEngine, waitForTask } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';
import { countStatements } from '../support/statements.ts';

const gates = new Gates();

const quick = defineTask({
  type: 'shapes_quick',
  description: 'returns at once',
  queue: 'default',
  input: z.object({}),
  async run() {
    return null;
  },
});

const gated = defineTask({
  type: 'shapes_gated',
  description: 'returns its gate when the test opens it',
  queue: 'default',
  input: z.object({ gate: z.string() }),
  async run(context) {
    await gates.wait(context.input.gate);
    return { gate: context.input.gate };
  },
});

const exclusive = defineTask({
  type: 'shapes_exclusive',
  description: 'one active task per key',
  queue: 'default',
  input: z.object({ key: z.string() }),
  concurrency: { key: (input) => input.key, onConflict: 'reject' },
  async run() {
    return null;
  },
});

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [quick, gated, exclusive]);
});

afterEach(async () => {
  for (const worker of engine.workers) await worker.stop({ graceMs: 100 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 100 });
  await database?.drop();
});

/** The submit statements sent while `during` runs, by name. */
async function submitStatementsDuring(during: () => Promise<void>): Promise<string[]> {
  const counts = await countStatements(during);
  return [...counts.keys()].filter((name) => name.startsWith('taskloom_submit')).sort();
}

async function eventTypes(taskId: string): Promise<string[]> {
  return (await engine.readEvents({ taskId })).map((event) => event.type);
}

async function rowsOf(table: 'task_queue' | 'task_leases' | 'task_exclusive_keys', taskIds: string[]): Promise<number> {
  const result = await database.pool.query(`SELECT 1 FROM ${table} WHERE task_id = ANY($1::uuid[])`, [taskIds]);
  return result.rowCount ?? 0;
}

/** Starts a gated task eagerly (support/engine.ts), and returns its gate's opener. */
function startGatedEagerly(gate: string): Promise<{ taskId: string; open: () => void }> {
  return startEagerly(engine, gates, gate, (name) => engine.submit({ taskType: gated.type, input: { gate: name } }));
}

it('queues a lone task with the one-row statement and a batch with the array statement', async () => {
  let lone: SubmitResult | undefined;
  expect(await submitStatementsDuring(async () => {
    lone = await engine.submit({ taskType: quick.type, input: {} });
  })).toEqual(['taskloom_submit_one']);
  expect(lone!.task).toMatchObject({ status: 'queued', attempts: 0, lease: null });

  let batch: SubmitResult[] = [];
  expect(await submitStatementsDuring(async () => {
    batch = await Promise.all([
      engine.submit({ taskType: quick.type, input: {} }),
      engine.submit({ taskType: quick.type, input: {}, priority: 9 }),
      engine.submit({ taskType: exclusive.type, input: { key: 'queued-in-a-batch' } }),
    ]);
  })).toEqual(['taskloom_submit']);
  const ids = [lone!.task.id, ...batch.map((result) => result.task.id)];
  expect(batch.map((result) => result.task.status)).toEqual(['queued', 'queued', 'queued']);
  expect(batch[1]!.task.priority).toBe(9);
  expect(await rowsOf('task_queue', ids)).toBe(4);
  expect(await rowsOf('task_exclusive_keys', ids)).toBe(1);

  await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
  for (const id of ids) {
    await waitForTask(engine, id, ['completed']);
    expect(await eventTypes(id)).toEqual(['task_queued', 'task_started', 'task_completed']);
  }
  expect(await rowsOf('task_exclusive_keys', ids)).toBe(0);
});

it('writes tasks started eagerly with the leased statements, one or several, and a keyed task with the general one', async () => {
  const worker = await engine.startWorker({ concurrency: 3, pollIntervalMs: 60_000 });
  await eagerSlotFree(worker);
  let lone: SubmitResult | undefined;
  expect(await submitStatementsDuring(async () => {
    lone = await engine.submit({ taskType: gated.type, input: { gate: 'lone' } });
  })).toEqual(['taskloom_submit_leased_one']);
  expect(lone!.task).toMatchObject({ status: 'running', attempts: 1, worker_id: worker.id });
  expect(await rowsOf('task_leases', [lone!.task.id])).toBe(1);
  expect(await rowsOf('task_queue', [lone!.task.id])).toBe(0);
  await gates.open('lone');
  await waitForTask(engine, lone!.task.id, ['completed']);
  expect(await eventTypes(lone!.task.id)).toEqual(['task_queued', 'task_started', 'task_completed']);

  await eagerSlotFree(worker);
  let pair: SubmitResult[] = [];
  expect(await submitStatementsDuring(async () => {
    pair = await Promise.all([
      engine.submit({ taskType: gated.type, input: { gate: 'pair-a' } }),
      engine.submit({ taskType: gated.type, input: { gate: 'pair-b' } }),
    ]);
  })).toEqual(['taskloom_submit_leased']);
  const pairIds = pair.map((result) => result.task.id);
  expect(pair.map((result) => result.task.status)).toEqual(['running', 'running']);
  expect(await rowsOf('task_leases', pairIds)).toBe(2);
  for (const gate of ['pair-a', 'pair-b']) await gates.open(gate);
  for (const id of pairIds) {
    await waitForTask(engine, id, ['completed']);
    expect(await eventTypes(id)).toEqual(['task_queued', 'task_started', 'task_completed']);
  }

  // A keyed task always takes the queue, so its statement has the queue and exclusive-key parts.
  await eagerSlotFree(worker);
  let keyed: SubmitResult | undefined;
  expect(await submitStatementsDuring(async () => {
    keyed = await engine.submit({ taskType: exclusive.type, input: { key: 'beside-an-idle-worker' } });
  })).toEqual(['taskloom_submit_one']);
  expect(keyed!.task.status).toBe('queued');
  await waitForTask(engine, keyed!.task.id, ['completed']);
});

it('carries one finish or several in the submit\'s statement, each recorded as the worker records it', async () => {
  await engine.startWorker({ concurrency: 3, pollIntervalMs: 60_000 });
  const single = await startGatedEagerly('single');
  let next: SubmitResult | undefined;
  const carryingOne = await submitStatementsDuring(async () => {
    single.open();
    next = await engine.submit({ taskType: quick.type, input: {} });
  });
  expect(carryingOne).toHaveLength(1);
  expect(carryingOne[0]).toMatch(/^taskloom_submit(_leased)?_one_finishing_one$/);
  const ended = await waitForTask(engine, single.taskId, ['completed']);
  expect(ended.result).toEqual({ gate: expect.stringMatching(/^single-/) });
  expect(await eventWriter(database.pool, single.taskId, 'task_completed')).toBe(await eventWriter(database.pool, next!.task.id, 'task_queued'));
  expect(await eventTypes(single.taskId)).toEqual(['task_queued', 'task_started', 'task_completed']);
  await waitForTask(engine, next!.task.id, ['completed']);

  const first = await startGatedEagerly('first');
  const second = await startGatedEagerly('second');
  let after: SubmitResult | undefined;
  const carryingTwo = await submitStatementsDuring(async () => {
    first.open();
    second.open();
    after = await engine.submit({ taskType: quick.type, input: {} });
  });
  expect(carryingTwo).toHaveLength(1);
  expect(carryingTwo[0]).toMatch(/^taskloom_submit(_leased)?_one_finishing$/);
  for (const { taskId } of [first, second]) {
    expect(await waitForTask(engine, taskId, ['completed'])).toMatchObject({ result: { gate: expect.any(String) } });
    expect(await eventWriter(database.pool, taskId, 'task_completed')).toBe(await eventWriter(database.pool, after!.task.id, 'task_queued'));
    expect(await eventTypes(taskId)).toEqual(['task_queued', 'task_started', 'task_completed']);
  }
  await waitForTask(engine, after!.task.id, ['completed']);
});
