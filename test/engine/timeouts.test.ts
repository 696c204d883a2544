import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, waitForStatus } from '../support/engine.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  engine = await startTestEngine(database, testTaskTypes);
  await engine.startWorker({ concurrency: 4 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

it('aborts the signal at the soft timeout and keeps the partial result', async () => {
  const { task } = await engine.submit({ taskType: 'test_soft_timeout', input: {} });
  const done = await waitForStatus(engine, task.id, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  expect(done.result).toMatchObject({ partial: true, reason: 'soft_timeout' });
  expect((done.result as { chunks: number }).chunks).toBeGreaterThanOrEqual(3);
});

it('fails an attempt at the hard timeout and resumes the retry from its steps', async () => {
  const { task } = await engine.submit({ taskType: 'test_hard_timeout', input: {} });
  const done = await waitForStatus(engine, task.id, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  expect(done.attempts).toBe(2);
  expect(done.result).toEqual({ finishedOnAttempt: 2 });
  const effects = await database.pool.query<{ step: string; attempt: number }>('SELECT step, attempt FROM test_side_effects WHERE task_id = $1 ORDER BY step', [task.id]);
  // Both steps ran once, in the first attempt; the retry read them back.
  expect(effects.rows).toEqual([{ step: 'one', attempt: 1 }, { step: 'two', attempt: 1 }]);
  const retrying = (await engine.readEvents({ taskId: task.id })).find((event) => event.type === 'task_retrying');
  expect(retrying?.payload.error).toMatchObject({ code: 'hard_timeout' });
});
