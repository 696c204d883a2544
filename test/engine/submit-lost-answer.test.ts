/**
 * A batch of submits whose statement committed but whose answer was lost with the connection:
 * the batch is tried again one submit at a time, and each finds its task already stored under the
 * id this process gave it, instead of failing on that id's primary key. The connection loss is
 * injected after the real statement ran on the real database.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { SubmitBatcher } from '../../src/engine/submit.ts';
import { TaskRegistry } from '../../src/engine/task-registry.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../../src/kit/testing.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

it('answers each submit of a batch whose commit\'s answer was lost with the task it stored', async () => {
  let lostOnce = false;
  const losingPool = {
    query: async (...args: Parameters<Pool['query']>) => {
      const result = await (database.pool.query as (...query: unknown[]) => Promise<unknown>)(...args);
      const statement = args[0] as { name?: string };
      // The batch's statement (a batch of two binds arrays): stored, then the connection drops.
      if (!lostOnce && statement.name?.startsWith('taskloom_submit') && !statement.name.includes('_one')) {
        lostOnce = true;
        throw new Error('Connection terminated unexpectedly');
      }
      return result;
    },
  } as unknown as Pool;
  const batcher = new SubmitBatcher({ pool: losingPool, registry: new TaskRegistry().register(sleepTask) });
  const results = await Promise.all([
    batcher.submit({ taskType: sleepTask.type, input: { ms: 1 }, tenant: 'lost' }),
    batcher.submit({ taskType: sleepTask.type, input: { ms: 2 }, tenant: 'lost' }),
  ]);
  expect(lostOnce).toBe(true);
  expect(results.map((result) => result.created)).toEqual([true, true]);
  const stored = await database.pool.query<{ id: string }>("SELECT id FROM tasks WHERE tenant = 'lost' ORDER BY id");
  expect(stored.rows.map((row) => row.id).sort()).toEqual(results.map((result) => result.task.id).sort());
  expect(results.map((result) => (result.task.input as { ms: number }).ms).sort()).toEqual([1, 2]);
});
