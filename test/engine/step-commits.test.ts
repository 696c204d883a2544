/**
 * An attempt's outcome is recorded only after the step checkpoints it had under way: a handler
 * that throws while a step's transaction is on its way (a pipelined step's commit, a step beside
 * the one that failed) keeps that step, where the settle used to win the race now and then and
 * the checkpoint then found its lease gone.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { PermanentError } from '../../src/errors.ts';
import { createTestDatabase, startTestEngine, waitForTask, type TestDatabase } from '../../src/kit/testing.ts';

let engine: Engine;

/**
 * Resolves once the task's outcome has been recorded, or after `boundMs`: a settle that does not
 * wait for the step comes within milliseconds, so a save held this long with no settle shows the
 * worker waiting for it.
 */
function settledOrBound(taskId: string, boundMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, boundMs);
    function done(): void {
      clearTimeout(timer);
      engine.hooks.settled.delete(hook);
      resolve();
    }
    const hook = (settlements: Array<{ task: { id: string } }>): void => {
      if (settlements.some((settlement) => settlement.task.id === taskId)) done();
    };
    engine.hooks.settled.add(hook);
  });
}

const throwsWhileCommitting = defineTask({
  type: 'throws_while_a_step_commits',
  description: 'starts a step whose save is slow, then fails before that step has committed',
  queue: 'default',
  maxAttempts: 1,
  input: z.object({}),
  async run(context) {
    let saveStarted!: () => void;
    const saving = new Promise<void>((resolve) => {
      saveStarted = resolve;
    });
    const committed = context.step('done', async () => ({ done: true }), {
      // The save finishes only once the outcome is recorded (the race lost) or a while has
      // passed without it (the worker waits for this checkpoint).
      save: async () => {
        saveStarted();
        await settledOrBound(context.taskId, 500);
      },
    });
    committed.catch(() => {});
    await saving;
    throw new PermanentError('failed while its step was committing');
  },
});

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [throwsWhileCommitting]);
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 100 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

it('records a failed attempt after the checkpoint it had under way, which keeps its step', async () => {
  const { task } = await engine.submit({ taskType: throwsWhileCommitting.type, input: {} });
  const failed = await waitForTask(engine, task.id, ['failed', 'completed']);
  expect(failed).toMatchObject({ status: 'failed', error: { code: 'permanent_failure' } });
  const steps = await database.pool.query<{ key: string; result: unknown }>('SELECT key, result FROM task_steps WHERE task_id = $1', [task.id]);
  expect(steps.rows).toEqual([{ key: 'done', result: { done: true } }]);
});
