/**
 * The real `taskloom worker` command: it takes --queues and --concurrency, and on SIGTERM hands
 * its running task back without spending an attempt, exits 0, and removes its heartbeat row, also
 * when the signal comes while the rest of its start-up is still under way.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, waitForStatus } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [sleepTask]);
});

afterAll(async () => {
  await killChildren();
  await engine?.stop({ graceMs: 200 });
  await database?.drop();
});

it('works the queues it is given, and on SIGTERM hands its task back for another worker to finish', async () => {
  const worker = spawnNode('bin/taskloom.js', ['worker', '--queues', 'default,quick', '--concurrency', '2'], {
    env: { DATABASE_URL: database.url, LOG_LEVEL: 'info', TASKLOOM_SHUTDOWN_GRACE_MS: '300' },
  });
  await worker.waitForLine('worker started');
  const registered = await eventually(async () => {
    const rows = await database.pool.query<{ queues: string[]; concurrency: number }>('SELECT queues, concurrency FROM workers');
    return rows.rows[0];
  });
  expect(registered).toEqual({ queues: ['quick', 'default'], concurrency: 2 });

  const { task } = await engine.submit({ taskType: 'sleep', input: { ms: 6000, steps: 20 } });
  await waitForStatus(engine, task.id, ['running']);
  worker.process.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  const handedBack = await engine.getTask(task.id);
  expect(handedBack).toMatchObject({ status: 'queued', attempts: 0 });
  expect((await database.pool.query('SELECT 1 FROM workers')).rowCount).toBe(0);

  await engine.startWorker({ concurrency: 1 });
  const done = await waitForStatus(engine, task.id, ['completed', 'failed'], 40_000);
  expect(done).toMatchObject({ status: 'completed', attempts: 1 });
}, 90_000);

it('stops gracefully on a SIGTERM that arrives as soon as its worker has started', async () => {
  const worker = spawnNode('bin/taskloom.js', ['worker', '--concurrency', '1'], {
    env: { DATABASE_URL: database.url, LOG_LEVEL: 'info', TASKLOOM_SHUTDOWN_GRACE_MS: '300' },
  });
  // The engine's worker logs this as it starts claiming, before the command has opened its pool.
  await worker.waitForLine('worker started');
  worker.process.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  // Its heartbeat row is gone (the worker the first test started in this process keeps its own).
  expect((await database.pool.query("SELECT 1 FROM workers WHERE id LIKE '%:' || $1 || ':%'", [worker.process.pid])).rowCount).toBe(0);
}, 60_000);
