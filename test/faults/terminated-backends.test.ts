/**
 * Fault: PostgreSQL terminates every backend of a worker process (what an administrator's
 * pg_terminate_backend, a failover or a restart does to it: pooled connections, the LISTEN
 * connection, pg-boss's pool) while a task is between two checkpoints. The process must stay up,
 * LISTEN again, and finish the work; no checkpointed step re-runs.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { createTestDatabase, serverUrl, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, waitForStatus } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

let database: TestDatabase;
let engine: Engine;
let admin: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  engine = await startTestEngine(database, testTaskTypes, { maintenance: true });
  admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
});

afterAll(async () => {
  await killChildren();
  await admin?.end();
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

/** Terminates every backend on the test database except the test's own pool. */
async function terminateBackends(): Promise<Array<{ application_name: string; state: string }>> {
  const result = await admin.query<{ application_name: string; state: string }>(
    `SELECT application_name, state FROM pg_stat_activity, LATERAL pg_terminate_backend(pid)
      WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> 'taskloom-test'`,
    [database.name],
  );
  return result.rows;
}

async function listenerBackends(): Promise<number> {
  const result = await admin.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1 AND application_name = 'taskloom-listener'`,
    [database.name],
  );
  return result.rows[0]!.count;
}

it('keeps the worker up, listening and finishing tasks after its backends are terminated mid-step', async () => {
  const stepped = await engine.submit({ taskType: 'test_steps', input: { steps: 6, stepMs: 1500 } });
  const child = spawnNode('test/fixtures/worker-process.ts', [database.url, '2']);
  await child.waitForLine('ready');
  // The task is between checkpoints: its first step is saved, the next one is running.
  await eventually(async () => (await database.pool.query('SELECT 1 FROM test_side_effects WHERE task_id = $1', [stepped.task.id])).rowCount! >= 1);
  const stepsBefore = (await database.pool.query('SELECT 1 FROM test_side_effects WHERE task_id = $1', [stepped.task.id])).rowCount!;
  const terminated = await terminateBackends();
  expect(terminated.map((row) => row.application_name)).toEqual(expect.arrayContaining(['taskloom', 'taskloom-listener', 'taskloom-boss']));

  // Both listeners (the child's and this process's engine) reconnect and LISTEN again.
  await eventually(async () => (await listenerBackends()) >= 2, 15_000);
  expect(child.process.exitCode).toBeNull();

  // The child hears a cancellation through its new LISTEN, well before its 5 s heartbeat check.
  const waiting = await engine.submit({ taskType: 'test_wait_for_abort', input: { recordAbort: false } });
  await waitForStatus(engine, waiting.task.id, ['running']);
  const cancelledAt = Date.now();
  await engine.cancel(waiting.task.id);
  await waitForStatus(engine, waiting.task.id, ['cancelled'], 10_000);
  expect(Date.now() - cancelledAt).toBeLessThan(2500);

  const finished = await waitForStatus(engine, stepped.task.id, ['completed', 'failed'], 40_000);
  expect(finished.status).toBe('completed');
  expect(child.process.exitCode).toBeNull();
  const effects = await database.pool.query<{ step: string; count: number }>(
    'SELECT step, count(*)::int AS count FROM test_side_effects WHERE task_id = $1 GROUP BY step',
    [stepped.task.id],
  );
  expect(effects.rows).toHaveLength(6);
  expect(effects.rows.every((row) => row.count === 1)).toBe(true);
  expect(stepsBefore).toBeLessThan(6);

  child.process.kill('SIGTERM');
  expect(await child.exited).toBe(0);
}, 90_000);
