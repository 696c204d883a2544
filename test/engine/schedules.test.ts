import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine } from '../support/engine.ts';
import { scheduledTask, stepsTask } from '../fixtures/task-types.ts';

let database: TestDatabase;
const engines: Engine[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.stop({ graceMs: 500 })));
  await database?.drop();
});

it('fires a cron schedule once per slot with two workers running the scheduler', async () => {
  // Start well inside a minute so the two slots below are far apart in time.
  if (60_000 - (Date.now() % 60_000) < 8_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() % 60_000) + 1_000));
  for (let index = 0; index < 2; index += 1) {
    const engine = await startTestEngine(database, [scheduledTask], { maintenance: true, schedules: true, cronIntervalSeconds: 1 });
    await engine.startWorker({ concurrency: 2, pollIntervalMs: 250 });
    engines.push(engine);
  }
  // pg-boss files cron occurrences in one-minute slots. At start the occurrence of the minute
  // that began is due (slot 1); wait past the next minute boundary for slot 2. Both schedulers
  // see both occurrences, so without per-slot deduplication there would be four tasks.
  const msToNextMinute = 60_000 - (Date.now() % 60_000);
  await new Promise((resolve) => setTimeout(resolve, msToNextMinute + 5_000));
  const tasks = await database.pool.query<{ idempotency_key: string; status: string; input: unknown; created_at: Date }>(
    `SELECT idempotency_key, status, input, created_at FROM tasks WHERE task_type = 'test_scheduled' ORDER BY created_at`,
  );
  expect(tasks.rows).toHaveLength(2);
  for (const task of tasks.rows) {
    expect(task).toMatchObject({ status: 'completed', input: { label: 'tick' } });
    expect(task.idempotency_key).toMatch(/^schedule:/);
  }
  // Two different slots, not one slot sent twice (that would land within a cron pass of a second).
  expect(tasks.rows[1]!.created_at.getTime() - tasks.rows[0]!.created_at.getTime()).toBeGreaterThan(4_000);
  const schedules = await database.pool.query<{ timezone: string }>(`SELECT timezone FROM pgboss.schedule`);
  expect(schedules.rows).toEqual([{ timezone: 'Europe/Prague' }]);
}, 90_000);

it('removes a schedule its task type no longer declares, and keeps the schedules of types it does not register', async () => {
  const scheduled = async (): Promise<string[]> => (await database.pool.query<{ key: string }>('SELECT key FROM pgboss.schedule ORDER BY key')).rows.map((row) => row.key);
  expect(await scheduled()).toEqual(['test_scheduled.default']);
  // A process that registers other types only leaves it alone.
  engines.push(await startTestEngine(database, [stepsTask], { maintenance: true, schedules: true }));
  expect(await scheduled()).toEqual(['test_scheduled.default']);
  // The type registered with its schedule switched off (a pipeline's configuration): removed.
  engines.push(await startTestEngine(database, [{ ...scheduledTask, schedules: [] }], { maintenance: true, schedules: true }));
  expect(await scheduled()).toEqual([]);
}, 30_000);
