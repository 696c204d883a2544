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
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

it('runs higher priority first within a queue', async () => {
  // Submitted before any worker runs, lowest priority first.
  const low = await engine.submit({ taskType: 'test_record_run', input: { n: 1 }, priority: 1 });
  const middle = await engine.submit({ taskType: 'test_record_run', input: { n: 2 } });
  const high = await engine.submit({ taskType: 'test_record_run', input: { n: 3 }, priority: 9 });
  expect(middle.task.priority).toBe(5);
  await engine.startWorker({ concurrency: 1 });
  await Promise.all([low, middle, high].map(({ task }) => waitForStatus(engine, task.id, ['completed'])));
  const order = await database.pool.query<{ task_id: string }>('SELECT task_id FROM test_side_effects ORDER BY created_at');
  expect(order.rows.map((row) => row.task_id)).toEqual([high.task.id, middle.task.id, low.task.id]);
});
