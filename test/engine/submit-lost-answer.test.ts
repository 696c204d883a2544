/**
 * Submits whose statement committed but whose answer was lost with the connection: each is
 * answered with the task stored under the id this process gave it, a lone submit too, and a task
 * written leased to a local worker's slot starts there. The connection loss is injected after the
 * real statement ran on the real database.
 */
import { randomUUID } from 'node:crypto';
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

/** A pool that loses the answer of the first submit statement it runs, after the statement ran. */
function losingFirstSubmit(): { pool: Pool; lost: () => boolean } {
  let lostOnce = false;
  const pool = {
    query: async (...args: Parameters<Pool['query']>) => {
      const result = await (database.pool.query as (...query: unknown[]) => Promise<unknown>)(...args);
      const statement = args[0] as { name?: string };
      if (!lostOnce && statement.name?.startsWith('taskloom_submit')) {
        lostOnce = true;
        throw new Error('Connection terminated unexpectedly');
      }
      return result;
    },
  } as unknown as Pool;
  return { pool, lost: () => lostOnce };
}

it('answers a lone submit whose commit\'s answer was lost with the task it stored, not an error', async () => {
  const losing = losingFirstSubmit();
  const batcher = new SubmitBatcher({ pool: losing.pool, registry: new TaskRegistry().register(sleepTask) });
  const result = await batcher.submit({ taskType: sleepTask.type, input: { ms: 3 }, tenant: 'lost-alone' });
  expect(losing.lost()).toBe(true);
  expect(result.created).toBe(true);
  const stored = await database.pool.query<{ id: string }>("SELECT id FROM tasks WHERE tenant = 'lost-alone'");
  expect(stored.rows.map((row) => row.id)).toEqual([result.task.id]);
});

it('starts a task written leased to a local worker\'s slot when only the answer was lost, rather than leaving it leased to nobody', async () => {
  const losing = losingFirstSubmit();
  const started: string[] = [];
  let released = 0;
  const lease = randomUUID();
  const batcher = new SubmitBatcher({
    pool: losing.pool,
    registry: new TaskRegistry().register(sleepTask),
    eagerSlot: () => ({ workerId: 'worker-lost-answer', lease, leaseSeconds: 15, start: (task) => started.push(task.id), release: () => { released += 1; } }),
  });
  const result = await batcher.submit({ taskType: sleepTask.type, input: { ms: 4 }, tenant: 'lost-eager' });
  expect(losing.lost()).toBe(true);
  expect(started).toEqual([result.task.id]);
  expect(released).toBe(0);
  expect(result.task).toMatchObject({ status: 'running', lease });
});
