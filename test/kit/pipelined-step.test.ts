/**
 * pipelinedStep: the next step starts from a step's value while its checkpoint is still
 * committing, and yet no checkpoint lands before the one it was built on; a replay gets the
 * stored value without running the step again; a checkpoint that fails to commit takes the
 * steps built on it down before they commit.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, pipelinedStep, type Engine } from '../../src/kit/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, waitForStatus } from '../support/engine.ts';

let database: TestDatabase;
let engine: Engine;
/** What each task saw, by task id. */
const seen = new Map<string, { runs: string[]; firstStoredWhenSecondStarted?: boolean; secondValue?: unknown }>();

const input = z.object({ failAfterBoth: z.boolean().default(false), failFirstSave: z.boolean().default(false) });

const chained = defineTask({
  type: 'test_pipelined_steps',
  description: 'two steps, the second started from the first one\'s early value',
  queue: 'default',
  input,
  maxAttempts: 2,
  retryBaseDelayMs: 0,
  async run(context) {
    const record = seen.get(context.taskId) ?? { runs: [] };
    seen.set(context.taskId, record);
    const first = pipelinedStep(context, 'first', async () => {
      record.runs.push('first');
      return { outline: ['a', 'b'], at: new Date(0) };
    }, {
      save: async (transaction) => {
        if (context.input.failFirstSave) throw new Error('the first checkpoint cannot be stored');
        // A slow commit: the second step must not wait for it to start.
        await transaction.query('SELECT pg_sleep(0.3)');
      },
    });
    const value = await first.value;
    const second = await context.step('second', async () => {
      record.runs.push('second');
      const stored = await database.pool.query('SELECT 1 FROM task_steps WHERE task_id = $1 AND key = $2', [context.taskId, 'first']);
      record.firstStoredWhenSecondStarted = (stored.rowCount ?? 0) > 0;
      await first.committed;
      return { sections: value.outline.length, at: value.at };
    });
    record.secondValue = second;
    if (context.input.failAfterBoth && context.attempt === 1) throw new Error('fail once after both checkpoints');
    return second;
  },
});

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [chained]);
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

async function checkpoints(taskId: string): Promise<Array<{ key: string; completed_at: Date }>> {
  return (await database.pool.query<{ key: string; completed_at: Date }>('SELECT key, completed_at FROM task_steps WHERE task_id = $1 ORDER BY completed_at, key', [taskId])).rows;
}

it('starts the next step from the early value, and stores its checkpoint only after the first one', async () => {
  const { task } = await engine.submit({ taskType: 'test_pipelined_steps', input: {} });
  const done = await waitForStatus(engine, task.id, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  const record = seen.get(task.id)!;
  expect(record.firstStoredWhenSecondStarted).toBe(false);
  // The early value is the JSON round trip, as a replay would read it.
  expect(done.result).toEqual({ sections: 2, at: '1970-01-01T00:00:00.000Z' });
  expect((await checkpoints(task.id)).map((row) => row.key)).toEqual(['first', 'second']);
});

it('gives a replay the stored value without running the step again', async () => {
  const { task } = await engine.submit({ taskType: 'test_pipelined_steps', input: { failAfterBoth: true } });
  const done = await waitForStatus(engine, task.id, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  expect(done.attempts).toBe(2);
  expect(seen.get(task.id)!.runs).toEqual(['first', 'second']);
  expect(done.result).toEqual({ sections: 2, at: '1970-01-01T00:00:00.000Z' });
});

it('fails the steps built on a checkpoint that did not commit, before they commit', async () => {
  const { task } = await engine.submit({ taskType: 'test_pipelined_steps', input: { failFirstSave: true } });
  const done = await waitForStatus(engine, task.id, ['completed', 'failed']);
  expect(done.status).toBe('failed');
  expect((done.error as { message: string }).message).toMatch(/first checkpoint cannot be stored/);
  // Both attempts ran the second step from the early value; neither stored it.
  expect(seen.get(task.id)!.runs).toEqual(['first', 'second', 'first', 'second']);
  expect(await checkpoints(task.id)).toEqual([]);
});
