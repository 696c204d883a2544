/**
 * An engine on a test database, with the logger silenced unless TASKLOOM_TEST_LOG is set.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Pool, Queryable } from '../../src/db/pool.ts';
import { DeliveryConnections } from '../../src/engine/delivery-connections.ts';
import { deliver, type ClaimRequest, type DeliveryResult } from '../../src/engine/ready-queue.ts';
import type { Engine, SubmitResult, Worker, WorkerOptions } from '../../src/engine/index.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import type { Gates } from './gates.ts';
import { startTestEngine, waitForTask } from '../../src/kit/testing.ts';
export { startTestEngine, testLogger, waitForTask, advanceTime } from '../../src/kit/testing.ts';

/** What `useTestEngine` fills in before the calling file's tests run. */
export interface TestEngineFixture {
  database: TestDatabase;
  engine: Engine;
}

/**
 * A fresh test database with the side-effect tables, and an engine running the test task types
 * (and a worker with `worker`, when given), for the tests of the calling file: started in a
 * `beforeAll`, stopped and dropped in an `afterAll`, after `beforeStop` (child processes a test
 * spawned, stopped while the engine still runs). Read its fields inside tests and hooks, once
 * they are set.
 */
export function useTestEngine(options: { worker?: WorkerOptions; beforeStop?: () => Promise<void> } = {}): TestEngineFixture {
  const fixture = {} as TestEngineFixture;
  beforeAll(async () => {
    fixture.database = await createTestDatabase();
    await createSideEffectTables(fixture.database.pool);
    fixture.engine = await startTestEngine(fixture.database, testTaskTypes);
    if (options.worker) await fixture.engine.startWorker(options.worker);
  });
  afterAll(async () => {
    await options.beforeStop?.();
    await fixture.engine?.stop({ graceMs: 500 });
    await fixture.database?.drop();
  });
  return fixture;
}

/** Polls `check` until it returns a truthy value or the timeout passes. */
/**
 * The claim statement exactly as a worker sends it, from a worker that then never runs what it
 * took nor extends its leases: what a worker that died right after its claim, or lost the answer
 * with its connection, leaves behind.
 */
export async function claimAndVanish(pool: Pool, claim: ClaimRequest): Promise<DeliveryResult> {
  const delivery = new DeliveryConnections(pool, 1);
  try {
    return await deliver(delivery, [], claim);
  } finally {
    await delivery.close();
  }
}

export async function eventually<T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 20_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until the task reaches one of `statuses`. */
export async function waitForStatus(engine: Engine, taskId: string, statuses: string[], timeoutMs = 20_000): Promise<Awaited<ReturnType<Engine['getTask']>>> {
  return eventually(async () => {
    const task = await engine.getTask(taskId);
    return statuses.includes(task.status) ? task : undefined;
  }, timeoutMs);
}

/**
 * Until `worker` would start a task submitted now on `queue` eagerly (its last claim there found
 * the queue empty and it has a free slot): the slot it offers is given back at once.
 */
export async function eagerSlotFree(worker: Worker, queue = 'default'): Promise<void> {
  await eventually(async () => {
    const slot = worker.eagerSlot(queue);
    slot?.release();
    return slot !== undefined;
  });
}

/**
 * The transaction that stored a task's event of this type (its `xmin`): two events written by one
 * statement or transaction share it, and events are never updated.
 */
export async function eventWriter(database: Queryable, taskId: string, type: string): Promise<string> {
  const rows = await database.query<{ writer: string }>('SELECT xmin::text AS writer FROM task_events WHERE task_id = $1 AND type = $2', [taskId, type]);
  if (rows.rows.length !== 1) throw new Error(`expected one ${type} event of task ${taskId}, found ${rows.rows.length}`);
  return rows.rows[0]!.writer;
}

/**
 * Submits tasks that wait at a gate (`submit(gate)` submits one waiting at gate `gate`) until one
 * starts eagerly (written running by its submit), waits for its handler, and hands back the
 * gate's opener. An eager start needs the worker idle with its queue drained; a task that took the
 * queue instead (the worker was still claiming, under load) is let finish, and the next one tried.
 */
export async function startEagerly(engine: Engine, gates: Gates, gate: string, submit: (gate: string) => Promise<SubmitResult>): Promise<{ taskId: string; open: () => void }> {
  for (let attempt = 1; attempt <= 20; attempt += 1) {
    const submitted = await submit(`${gate}-${attempt}`);
    const open = await gates.reached(`${gate}-${attempt}`);
    if (submitted.task.status === 'running') return { taskId: submitted.task.id, open };
    open();
    await waitForTask(engine, submitted.task.id, ['completed', 'failed']);
  }
  throw new Error('no gated task started eagerly in 20 attempts');
}
