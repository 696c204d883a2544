import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine } from '../support/engine.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

let database: TestDatabase;
const engines: Engine[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  for (let index = 0; index < 2; index += 1) engines.push(await startTestEngine(database, testTaskTypes));
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.stop({ graceMs: 500 })));
  await database?.drop();
});

it('runs each of 200 tasks exactly once with two workers racing for them', async () => {
  const ids: string[] = [];
  for (let index = 0; index < 200; index += 1) ids.push((await engines[0]!.submit({ taskType: 'test_record_run', input: { n: index } })).task.id);
  // Both start together on a full backlog.
  await Promise.all(engines.map((engine) => engine.startWorker({ concurrency: 8 })));
  await eventually(async () => (await database.pool.query(`SELECT 1 FROM tasks WHERE status = 'completed'`)).rowCount === 200, 60_000);
  const runs = await database.pool.query<{ task_id: string; count: number }>('SELECT task_id, count(*)::int AS count FROM test_side_effects GROUP BY task_id');
  expect(runs.rows).toHaveLength(200);
  expect(runs.rows.every((row) => row.count === 1)).toBe(true);
  expect(new Set(runs.rows.map((row) => row.task_id))).toEqual(new Set(ids));
  const workers = await database.pool.query<{ worker_id: string; count: number }>('SELECT worker_id, count(*)::int AS count FROM tasks GROUP BY worker_id');
  expect(workers.rows).toHaveLength(2);
  const attempts = await database.pool.query<{ attempts: number }>('SELECT DISTINCT attempts FROM tasks');
  expect(attempts.rows).toEqual([{ attempts: 1 }]);
}, 90_000);
