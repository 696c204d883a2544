/**
 * Finishes carried by a submit (settle.ts `carry`, submit.ts): a submit made while a worker of the
 * same engine has outcomes waiting to be written records them in its own statement, one commit
 * for both. A submit that fails hands them back, and the worker writes them itself; keyed tasks'
 * outcomes never travel with a submit, nor does one whose result cannot be serialized. A submit
 * is never refused for what it carried, nor for a settled hook that throws.
 *
 * "The same statement" is read from the events themselves, which are never updated: two rows
 * written by one transaction carry the same `xmin`.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { ConcurrencyConflictError } from '../../src/errors.ts';
import { defineTask, type Engine, type SubmitResult } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventWriter, startEagerly, startTestEngine, waitForTask } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';

const gates = new Gates();

/**
 * Starts a gated task eagerly (support/engine.ts). An eager start needs the worker idle with
 * nothing claimed in flight and its queue drained, so nothing claims until the test submits
 * again, and no claim can take the task's finish first: what the test sees is the submit's doing.
 */
function startGatedEagerly(gate: string, returns: keyof typeof results = 'gate'): Promise<{ taskId: string; open: () => void }> {
  return startEagerly(engine, gates, gate, (name) => engine.submit({ taskType: gated.type, input: { gate: name, returns } }));
}

/** A gated task started eagerly ends, and a submit goes out before its outcome is written. */
async function endWhileSubmitting(gate: string, returns: keyof typeof results = 'gate'): Promise<{ ended: string; next: SubmitResult }> {
  const { taskId, open } = await startGatedEagerly(gate, returns);
  open();
  return { ended: taskId, next: await engine.submit({ taskType: quick.type, input: {} }) };
}

const quick = defineTask({
  type: 'carried_quick',
  description: 'returns at once',
  queue: 'default',
  input: z.object({}),
  async run() {
    return null;
  },
});

/** What a gated task returns: its gate; a result JSON cannot hold; one PostgreSQL refuses to store. */
const results = {
  gate: (gate: string): unknown => ({ gate }),
  unserializable: (): unknown => ({ count: 1n }),
  refused: (): unknown => ({ text: 'a\u0000b' }),
};

const gated = defineTask({
  type: 'carried_gated',
  description: 'returns when the test opens its gate: its gate, or a result that cannot be stored',
  queue: 'default',
  input: z.object({ gate: z.string(), returns: z.enum(['gate', 'unserializable', 'refused']).default('gate') }),
  async run(context) {
    await gates.wait(context.input.gate);
    return results[context.input.returns](context.input.gate);
  },
});

const exclusive = defineTask({
  type: 'carried_exclusive',
  description: 'one active task per key; returns when its gate opens',
  queue: 'default',
  input: z.object({ key: z.string(), gate: z.string() }),
  concurrency: { key: (input) => input.key, onConflict: 'reject' },
  async run(context) {
    await gates.wait(context.input.gate);
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

it('records the finish of a task that ended in the same turn in the submit\'s own statement', async () => {
  // No polling backstop during the test: the worker claims nothing on its own meanwhile.
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
  const { ended, next } = await endWhileSubmitting('first');

  const finished = await waitForTask(engine, ended, ['completed']);
  expect(finished.result).toMatchObject({ gate: expect.stringMatching(/^first-/) });
  expect(await eventWriter(database.pool, ended, 'task_completed')).toBe(await eventWriter(database.pool, next.task.id, 'task_queued'));
  // Its events are stored as a statement of its own would store them.
  const events = await engine.readEvents({ taskId: ended });
  expect(events.map((event) => event.type)).toEqual(['task_queued', 'task_started', 'task_completed']);
  expect(events.at(-1)!.payload).toMatchObject({ result: finished.result, attempt: 1 });
  await waitForTask(engine, next.task.id, ['completed']);
});

it('hands the finishes back when the submit fails, and the worker writes them itself', async () => {
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
  const holder = await engine.submit({ taskType: exclusive.type, input: { key: 'k', gate: 'holder' } });
  const openHolder = await gates.reached('holder');
  const first = await engine.submit({ taskType: gated.type, input: { gate: 'second' } });
  const open = await gates.reached('second');

  // The submit carrying the finish clashes on the exclusive key: its statement writes nothing.
  open();
  await expect(engine.submit({ taskType: exclusive.type, input: { key: 'k', gate: 'refused' } })).rejects.toBeInstanceOf(ConcurrencyConflictError);

  const finished = await waitForTask(engine, first.task.id, ['completed']);
  expect(finished.result).toEqual({ gate: 'second' });
  const events = await engine.readEvents({ taskId: first.task.id });
  expect(events.map((event) => event.type)).toEqual(['task_queued', 'task_started', 'task_completed']);
  openHolder();
  await waitForTask(engine, holder.task.id, ['completed']);
});

it('leaves a keyed task\'s finish to the worker', async () => {
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
  const keyed = await engine.submit({ taskType: exclusive.type, input: { key: 'alone', gate: 'keyed' } });
  const open = await gates.reached('keyed');

  open();
  const next = await engine.submit({ taskType: quick.type, input: {} });

  await waitForTask(engine, keyed.task.id, ['completed']);
  await waitForTask(engine, next.task.id, ['completed']);
  expect(await eventWriter(database.pool, keyed.task.id, 'task_completed')).not.toBe(await eventWriter(database.pool, next.task.id, 'task_queued'));
});

it('leaves an outcome whose result cannot be stored to the worker, which fails the task, and the submit goes through', async () => {
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
  const { ended, next } = await endWhileSubmitting('unserializable', 'unserializable');

  const failed = await waitForTask(engine, ended, ['failed']);
  expect(failed.error).toMatchObject({ code: 'outcome_not_stored', retryable: false });
  await waitForTask(engine, next.task.id, ['completed']);
});

it('writes the submit when the finish it carried is what the database refused', async () => {
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
  const { ended, next } = await endWhileSubmitting('refused', 'refused');

  expect(next.created).toBe(true);
  const failed = await waitForTask(engine, ended, ['failed']);
  expect(failed.error).toMatchObject({ code: 'outcome_not_stored', retryable: false });
  await waitForTask(engine, next.task.id, ['completed']);
});

it('keeps a settled hook that throws out of the submit that carried the finish', async () => {
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000 });
  const throwing = (): void => {
    throw new Error('a settled hook failed');
  };
  engine.hooks.settled.add(throwing);
  try {
    const { ended, next } = await endWhileSubmitting('hooked');

    expect(await eventWriter(database.pool, ended, 'task_completed')).toBe(await eventWriter(database.pool, next.task.id, 'task_queued'));
    expect((await waitForTask(engine, ended, ['completed'])).result).toMatchObject({ gate: expect.stringMatching(/^hooked-/) });
    await waitForTask(engine, next.task.id, ['completed']);
  } finally {
    engine.hooks.settled.delete(throwing);
  }
});
