/**
 * Claiming ahead of free slots (worker.ts): a worker takes one more task per slot only for a
 * queue whose tasks have lately been short (through pipelined claims, as many per slot as fill
 * 24 ms at their average, up to forty-eight, when they end at once), and a task it holds without
 * running is still cancelled at once and handed back at shutdown, never run after either.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { pipelinedRoundsAhead } from '../../src/engine/worker.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, waitForTask } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';

/** Task ids whose handler ran. */
const ran = new Set<string>();
/** How many times each task's handler ran. */
const runCounts = new Map<string, number>();
const gates = new Gates();

const quick = defineTask({
  type: 'ahead_quick',
  description: 'returns at once',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    ran.add(context.taskId);
    runCounts.set(context.taskId, (runCounts.get(context.taskId) ?? 0) + 1);
    return null;
  },
});

const gated = defineTask({
  type: 'ahead_gated',
  description: 'returns when the test opens its gate, or stops when aborted',
  queue: 'default',
  input: z.object({ gate: z.string() }),
  async run(context) {
    ran.add(context.taskId);
    await gates.wait(context.input.gate, context.signal);
    return null;
  },
});

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [quick, gated]);
});

afterAll(async () => {
  for (const worker of engine?.workers ?? []) await worker.stop({ graceMs: 100 });
  await engine?.stop({ graceMs: 100 });
  await database?.drop();
});

async function leaseHolder(taskId: string): Promise<string | undefined> {
  const found = await database.pool.query<{ worker_id: string }>('SELECT worker_id FROM task_leases WHERE task_id = $1', [taskId]);
  return found.rows[0]?.worker_id;
}

it('holds a short task for its busy slot, cancels it there without running it, and hands one back at shutdown', async () => {
  const worker = await engine.startWorker({ concurrency: 1, pollIntervalMs: 200 });
  // Short tasks first, so the queue counts as short for this worker: twenty, so that a first one
  // slowed by a loaded machine (a cold process, a busy test run) no longer weighs on the moving
  // average (a 100 ms first task is 1.4 ms of it after twenty; after five it kept the queue at
  // 41 ms, over the 20 ms that makes a queue short, and nothing was claimed ahead).
  const warmUp = await Promise.all(Array.from({ length: 20 }, () => engine.submit({ taskType: quick.type, input: {} })));
  for (const { task } of warmUp) await waitForTask(engine, task.id, ['completed']);

  const busy = await engine.submit({ taskType: gated.type, input: { gate: 'busy' } });
  await eventually(async () => gates.isReached('busy'));
  const held = await engine.submit({ taskType: quick.type, input: {} });
  // The one slot is busy, yet the worker leases the next short task.
  await eventually(async () => (await leaseHolder(held.task.id)) === worker.id);
  expect(ran.has(held.task.id)).toBe(false);

  expect(await engine.cancel(held.task.id)).toMatchObject({ previous_state: 'running' });
  await waitForTask(engine, held.task.id, ['cancelled']);

  const handedBack = await engine.submit({ taskType: quick.type, input: {} });
  await eventually(async () => (await leaseHolder(handedBack.task.id)) === worker.id);
  await worker.stop({ graceMs: 100 });

  const back = await engine.getTask(handedBack.task.id);
  expect(back).toMatchObject({ status: 'queued', attempts: 0, worker_id: null });
  expect((await database.pool.query('SELECT 1 FROM task_queue WHERE task_id = $1', [handedBack.task.id])).rowCount).toBe(1);
  expect(ran.has(held.task.id)).toBe(false);
  expect(ran.has(handedBack.task.id)).toBe(false);
  expect((await engine.getTask(busy.task.id)).status).toBe('queued');

  // Both handed-back tasks run on the next worker; the cancelled one never does.
  const next = await engine.startWorker({ concurrency: 1, pollIntervalMs: 200 });
  await gates.open('busy');
  await waitForTask(engine, busy.task.id, ['completed']);
  await waitForTask(engine, handedBack.task.id, ['completed']);
  await next.stop({ graceMs: 100 });
  expect(ran.has(held.task.id)).toBe(false);
  expect((await engine.getTask(held.task.id)).status).toBe('cancelled');
});

it('leaves the next task of a slow queue to a worker with a free slot', async () => {
  const first = await engine.startWorker({ concurrency: 1, pollIntervalMs: 200 });
  // One task of 50 ms makes the queue slow for this worker.
  const slow = await engine.submit({ taskType: gated.type, input: { gate: 'slow' } });
  await eventually(async () => gates.isReached('slow'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await gates.open('slow');
  await waitForTask(engine, slow.task.id, ['completed']);

  const busy = await engine.submit({ taskType: gated.type, input: { gate: 'first-busy' } });
  await eventually(async () => gates.isReached('first-busy'));
  const next = await engine.submit({ taskType: gated.type, input: { gate: 'next' } });
  // The busy worker heard of `next` at once; a worker started after it still gets it.
  const second = await engine.startWorker({ concurrency: 1, pollIntervalMs: 200 });
  await eventually(async () => gates.isReached('next'));
  expect((await engine.getTask(next.task.id)).worker_id).toBe(second.id);

  await gates.open('first-busy');
  await gates.open('next');
  await waitForTask(engine, busy.task.id, ['completed']);
  await waitForTask(engine, next.task.id, ['completed']);
  await first.stop({ graceMs: 100 });
  await second.stop({ graceMs: 100 });
});

it('holds as many rounds ahead as fill 24 ms at the queue\'s average, from twelve to forty-eight', () => {
  expect([1.99, 1.5, 1, 0.6, 0.5, 0.1, 0].map(pipelinedRoundsAhead)).toEqual([12, 16, 24, 40, 48, 48, 48]);
});

it('holds forty-eight rounds of slots for tasks that end at once, and hands them all back at shutdown', async () => {
  const worker = await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
  // Quick tasks twenty at a time until the queue's moving average is well under half a
  // millisecond, where the worker holds the most it may. One batch is enough on an idle machine;
  // on a busy one a task preempted mid-handler measures milliseconds and weighs on the next ones.
  await eventually(async () => {
    const warmUp = await Promise.all(Array.from({ length: 20 }, () => engine.submit({ taskType: quick.type, input: {} })));
    for (const { task } of warmUp) await waitForTask(engine, task.id, ['completed']);
    return worker.claimAheadAllowance(quick.queue) === 96;
  });

  const busy = await Promise.all(['pipelined-a', 'pipelined-b'].map((gate) => engine.submit({ taskType: gated.type, input: { gate } })));
  await eventually(async () => gates.isReached('pipelined-a') && gates.isReached('pipelined-b'));
  const waiting = await Promise.all(Array.from({ length: 120 }, () => engine.submit({ taskType: quick.type, input: {} })));
  const waitingIds = waiting.map(({ task }) => task.id);
  const heldHere = async (): Promise<number> => (await database.pool.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM task_leases WHERE worker_id = $1 AND task_id = ANY($2::uuid[])', [worker.id, waitingIds],
  )).rows[0]!.count;
  // Both slots are busy: the claims in flight lease forty-eight rounds of two (the most; these
  // tasks take far less than half a millisecond), and no more.
  await eventually(async () => (await heldHere()) === 96);
  // Still ninety-six after the worker's polling backstop has run at least once more.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await heldHere()).toBe(96);
  expect(waitingIds.filter((id) => ran.has(id))).toEqual([]);

  await worker.stop({ graceMs: 100 });
  const tasks = await Promise.all(waitingIds.map((id) => engine.getTask(id)));
  expect(tasks.map((task) => [task.status, task.attempts])).toEqual(waitingIds.map(() => ['queued', 0]));

  const next = await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
  await gates.open('pipelined-a');
  await gates.open('pipelined-b');
  for (const { task } of [...busy, ...waiting]) await waitForTask(engine, task.id, ['completed']);
  await next.stop({ graceMs: 100 });
  expect(waitingIds.map((id) => runCounts.get(id))).toEqual(waitingIds.map(() => 1));
});

it('records the outcome and stops when stopped just as a pipelined claim starts its task', async () => {
  // Through the queue (no eager start), so the task arrives by a pipelined claim.
  const queued = await startTestEngine(database, [quick, gated], { eagerStart: false });
  try {
    const worker = await queued.startWorker({ concurrency: 2, pollIntervalMs: 200 });
    const warmUp = await Promise.all(Array.from({ length: 20 }, () => queued.submit({ taskType: quick.type, input: {} })));
    for (const { task } of warmUp) await waitForTask(queued, task.id, ['completed']);

    // The next task to start is the one submitted below (the warm-up has completed).
    let stopped: Promise<void> | undefined;
    queued.hooks.started.add(() => {
      stopped ??= worker.stop({ graceMs: 1000 });
    });
    const { task } = await queued.submit({ taskType: quick.type, input: {} });
    await eventually(async () => stopped !== undefined);
    // The loop had left the task's outcome for a next claim; stopping writes it instead.
    await stopped;
    expect(await queued.getTask(task.id)).toMatchObject({ status: 'completed', attempts: 1 });
  } finally {
    await queued.stop({ graceMs: 100 });
  }
});
