import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import type { Engine } from '../../src/engine/index.ts';
import { isTaskloomError } from '../../src/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, waitForStatus } from '../support/engine.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

let database: TestDatabase;
const engines: Engine[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  for (let index = 0; index < 4; index += 1) engines.push(await startTestEngine(database, testTaskTypes));
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.stop({ graceMs: 500 })));
  await database?.drop();
});

it('never runs two tasks of one key at once across four workers, while other keys proceed', async () => {
  const engine = engines[0]!;
  const submitted = [];
  for (let index = 0; index < 50; index += 1) {
    submitted.push(await engine.submit({ taskType: 'test_keyed', input: { key: `key-${index % 5}`, ms: 40 } }));
  }
  await Promise.all(engines.map((each) => each.startWorker({ concurrency: 4, pollIntervalMs: 200 })));
  await eventually(async () => (await database.pool.query(`SELECT 1 FROM tasks WHERE task_type = 'test_keyed' AND status = 'completed'`)).rowCount === 50, 60_000);
  const runs = await database.pool.query<{ key: string; started_at: Date; ended_at: Date }>('SELECT key, started_at, ended_at FROM test_runs ORDER BY key, started_at');
  expect(runs.rows).toHaveLength(50);
  for (let index = 1; index < runs.rows.length; index += 1) {
    const previous = runs.rows[index - 1]!;
    const current = runs.rows[index]!;
    if (previous.key === current.key) expect(current.started_at.getTime()).toBeGreaterThanOrEqual(previous.ended_at.getTime());
  }
  // Different keys did overlap: the limit is per key, not global.
  const all = [...runs.rows].sort((left, right) => left.started_at.getTime() - right.started_at.getTime());
  const overlaps = all.some((run, index) => index > 0 && run.started_at < all[index - 1]!.ended_at);
  expect(overlaps).toBe(true);
  expect(submitted).toHaveLength(50);
}, 90_000);

it('rejects a second active task for a key when the type says so, naming the active task', async () => {
  const engine = engines[0]!;
  const first = await engine.submit({ taskType: 'test_exclusive', input: { project_id: 'film-7', ms: 1500 } });
  const second = await engine.submit({ taskType: 'test_exclusive', input: { project_id: 'film-7' } }).catch((error: unknown) => error);
  expect(isTaskloomError(second) && second.code).toBe('concurrency_conflict');
  expect(isTaskloomError(second) && second.httpStatus).toBe(409);
  expect((second as { details: { running_task_id: string } }).details.running_task_id).toBe(first.task.id);
  const otherProject = await engine.submit({ taskType: 'test_exclusive', input: { project_id: 'film-8', ms: 10 } });
  expect(otherProject.created).toBe(true);
  await waitForStatus(engine, first.task.id, ['completed']);
  const afterwards = await engine.submit({ taskType: 'test_exclusive', input: { project_id: 'film-7', ms: 10 } });
  expect(afterwards.created).toBe(true);
});

it('lets other processes write while a submit waits for another transaction\'s uncommitted exclusive key', async () => {
  // Another transaction holds the key, uncommitted: a submit for it waits until that one ends.
  const holder = new pg.Client({ connectionString: database.url });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(`INSERT INTO task_exclusive_keys (tenant, task_type, exclusive_key, task_id) VALUES ('default', 'test_exclusive', 'film-held', gen_random_uuid())`);
    const waiting = engines[1]!.submit({ taskType: 'test_exclusive', input: { project_id: 'film-held', ms: 10 } });
    await eventually(async () => (await database.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'transactionid'`)).rowCount === 1);

    // Meanwhile another process's submit, and its events, go through: the waiting one holds no
    // lock they need (it once held the event-order lock through the wait).
    const other = engines[2]!.submit({ taskType: 'test_record_run', input: { n: 1 } });
    const outcome = await Promise.race([other.then(() => 'written'), new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting after 5 s'))]);
    expect(outcome).toBe('written');

    await holder.query('ROLLBACK');
    expect((await waiting).created).toBe(true);
  } finally {
    await holder.end();
  }
});
