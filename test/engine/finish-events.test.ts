/**
 * The event an attempt's end stores (ready-queue.ts `finishing`, which builds its payload from
 * the outcome it records): `task_completed` with the result, the handler's duration and the
 * attempt; `task_failed` with the error and the attempt; `task_cancelled` with the partial result,
 * the state it left and the attempt. The task row and the event hold the same result.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentError } from '../../src/errors.ts';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, waitForTask } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';

const gates = new Gates();

/** A result the size of a generated article, with text that JSON must escape. */
const article = { title: 'Quoted "title"', body: 'A line\nand a \\ backslash. '.repeat(300), words: 1200 };

const completes = defineTask({
  type: 'finish_completes',
  description: 'returns an article',
  queue: 'default',
  input: z.object({}),
  async run() {
    return article;
  },
});

const fails = defineTask({
  type: 'finish_fails',
  description: 'fails for good',
  queue: 'default',
  input: z.object({}),
  async run() {
    throw new PermanentError('this input can never work');
  },
});

const cancellable = defineTask({
  type: 'finish_cancellable',
  description: 'runs until cancelled, then returns what it did',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    await gates.wait('cancellable', context.signal).catch(() => undefined);
    return { partial: true, reason: 'cancelled' };
  },
});

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  // Through the queue: every attempt's end is written by the worker's own delivery statements.
  engine = await startTestEngine(database, [completes, fails, cancellable], { eagerStart: false });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 100 });
  await database?.drop();
});

async function lastEvent(taskId: string): Promise<{ type: string; payload: Record<string, unknown> }> {
  return (await engine.readEvents({ taskId })).at(-1)!;
}

it('stores each ended attempt\'s event with the payload of its outcome', async () => {
  await engine.startWorker({ concurrency: 3 });
  const completed = await engine.submit({ taskType: completes.type, input: {} });
  const failed = await engine.submit({ taskType: fails.type, input: {} });
  const cancelled = await engine.submit({ taskType: cancellable.type, input: {} });

  const completedTask = await waitForTask(engine, completed.task.id, ['completed']);
  expect(completedTask.result).toEqual(article);
  const completedEvent = await lastEvent(completed.task.id);
  expect(completedEvent.type).toBe('task_completed');
  expect(completedEvent.payload).toEqual({ result: article, duration_ms: expect.any(Number), attempt: 1 });
  expect(completedEvent.payload.duration_ms).toBeGreaterThanOrEqual(0);

  const failedTask = await waitForTask(engine, failed.task.id, ['failed']);
  expect(failedTask.error).toMatchObject({ message: 'this input can never work', retryable: false });
  expect(await lastEvent(failed.task.id)).toEqual(expect.objectContaining({ type: 'task_failed', payload: { error: failedTask.error, attempt: 1 } }));

  // Running, waiting at its gate: the cancel reaches it there.
  await gates.reached('cancellable');
  await engine.cancel(cancelled.task.id);
  const cancelledTask = await waitForTask(engine, cancelled.task.id, ['cancelled']);
  expect(cancelledTask.result).toEqual({ partial: true, reason: 'cancelled' });
  expect(await lastEvent(cancelled.task.id)).toEqual(expect.objectContaining({
    type: 'task_cancelled',
    payload: { result: { partial: true, reason: 'cancelled' }, previous_state: 'running', attempt: 1 },
  }));
});
