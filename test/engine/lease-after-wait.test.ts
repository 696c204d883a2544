/**
 * A claim's leases expire a heartbeat window after its statement starts, and the statement can
 * wait longer than that before it commits: here on the event-order lock, which a caller's
 * transaction holding a `submitWithin` keeps until it commits. The worker renews such leases
 * before it starts anything, and leaves a task whose lease a sweep took meanwhile to the worker
 * that claims it next: never two attempts of one task at once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { recoverLostLeases } from '../../src/engine/ready-queue.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, waitForStatus } from '../support/engine.ts';

let running = 0;
let mostAtOnce = 0;
let runs = 0;
/** Attempts that started without holding a live lease: another worker may run them too. */
const startedUnleased: number[] = [];

const slow = defineTask({
  type: 'test_lease_after_wait',
  description: 'runs for 1.5 s whatever its signal says, counting attempts running at once and those started without a live lease',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    runs += 1;
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    const held = await database.pool.query<{ held: boolean }>(
      `SELECT t.attempts = $2 AND EXISTS (SELECT 1 FROM task_leases l WHERE l.task_id = t.id AND l.lease = t.lease AND l.expires_at > now()) AS held
       FROM tasks t WHERE t.id = $1`,
      [context.taskId, context.attempt],
    );
    if (held.rows[0]?.held !== true) startedUnleased.push(context.attempt);
    await sleep(1_500);
    running -= 1;
    return null;
  },
});

const other = defineTask({ type: 'test_lease_after_wait_other', description: 'submitted in a held transaction', queue: 'quick', input: z.object({}), run: async () => null });

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  // Heartbeat 2 s: leases of 3 s.
  engine = await startTestEngine(database, [slow, other], { heartbeatSeconds: 2 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

it('never runs a task twice at once when its claim committed after its leases lapsed', async () => {
  const { task } = await engine.submit({ taskType: slow.type, input: {} });
  const holder = await database.pool.connect();
  try {
    await holder.query('BEGIN');
    await engine.submitWithin(holder, { taskType: other.type, input: {} });
    // The worker's first claim of `default` waits for the held transaction's event-order lock.
    await engine.startWorker({ concurrency: 2, pollIntervalMs: 60_000, queues: ['default'] });
    await sleep(4_000);
    await holder.query('COMMIT');
  } finally {
    holder.release();
  }
  // Another worker's sweep, at once and again while the claim's answer is acted on.
  const sweepUntil = Date.now() + 1_000;
  while (Date.now() < sweepUntil) {
    await recoverLostLeases(database.pool);
    await sleep(20);
  }
  const ended = await waitForStatus(engine, task.id, ['completed', 'failed'], 15_000);
  expect(ended.status).toBe('completed');
  // Without the renewal the first attempt starts on a lease that lapsed while its claim waited,
  // whether or not a sweep has handed the task on yet.
  expect(startedUnleased).toEqual([]);
  expect(mostAtOnce).toBe(1);
  expect(runs).toBeGreaterThanOrEqual(1);
}, 30_000);
