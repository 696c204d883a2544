/**
 * `submitWithin`: a task submitted in the caller's transaction exists, and runs, only once that
 * transaction commits; a rollback takes it away; a refusal (an exclusive key an active task
 * holds, a failed statement of the type's admission) leaves the transaction usable for the rest
 * of its work; a repeat of an idempotency key within it answers the task it made.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { withTransaction } from '../../src/db/pool.ts';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, waitForStatus } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';

const gates = new Gates();

const held = defineTask({
  type: 'test_within_held',
  description: 'runs until its gate opens; one active task per key',
  queue: 'default',
  input: z.object({ key: z.string() }),
  concurrency: { key: (input) => input.key, onConflict: 'reject' },
  // A statement of the admission that fails: the submit's savepoint takes it back too.
  async admit({ input, database }) {
    if (input.key === 'admission fails') await database.query('SELECT 1 / 0');
  },
  async run(context) {
    await gates.wait(context.taskId, context.signal);
    return { ran: context.input.key };
  },
});

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [held]);
  await engine.startWorker({ concurrency: 4, pollIntervalMs: 60_000 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

const exists = async (taskId: string): Promise<boolean> => ((await database.pool.query('SELECT 1 FROM tasks WHERE id = $1', [taskId])).rowCount ?? 0) > 0;

it('writes the task with the transaction: unseen before the commit, run after it', async () => {
  const client = await database.pool.connect();
  let taskId: string;
  try {
    await client.query('BEGIN');
    const submitted = await engine.submitWithin(client, { taskType: held.type, input: { key: 'committed' } });
    taskId = submitted.task.id;
    expect(submitted).toMatchObject({ created: true, task: { status: 'queued' } });
    expect(await exists(taskId)).toBe(false);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  // The commit's NOTIFY wakes the worker (its poll is a minute away).
  await gates.open(taskId);
  expect(await waitForStatus(engine, taskId, ['completed'])).toMatchObject({ result: { ran: 'committed' } });
});

it('leaves nothing of a task whose transaction rolls back', async () => {
  const client = await database.pool.connect();
  let taskId: string;
  try {
    await client.query('BEGIN');
    taskId = (await engine.submitWithin(client, { taskType: held.type, input: { key: 'rolled back' } })).task.id;
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }
  expect(await exists(taskId)).toBe(false);
  expect((await database.pool.query('SELECT 1 FROM task_events WHERE task_id = $1', [taskId])).rowCount).toBe(0);
});

it('refuses a task whose exclusive key an active task holds, and the transaction goes on', async () => {
  const { task: active } = await engine.submit({ taskType: held.type, input: { key: 'taken' } });
  const openActive = await gates.reached(active.id);
  const written = await withTransaction(database.pool, async (transaction) => {
    await expect(engine.submitWithin(transaction, { taskType: held.type, input: { key: 'taken' } })).rejects.toMatchObject({ code: 'concurrency_conflict', details: { running_task_id: active.id } });
    // Still usable: the refusal was rolled back to its savepoint.
    return (await engine.submitWithin(transaction, { taskType: held.type, input: { key: 'free' } })).task.id;
  });
  openActive();
  await gates.open(written);
  expect((await waitForStatus(engine, written, ['completed'])).status).toBe('completed');
  expect((await waitForStatus(engine, active.id, ['completed'])).status).toBe('completed');
});

it('takes back an admission whose statement failed, answers a repeated key with its task, and the transaction goes on', async () => {
  const [first, again] = await withTransaction(database.pool, async (transaction) => {
    await expect(engine.submitWithin(transaction, { taskType: held.type, input: { key: 'admission fails' } })).rejects.toMatchObject({ code: '22012' });
    const made = await engine.submitWithin(transaction, { taskType: held.type, input: { key: 'keyed' }, idempotencyKey: 'within-once' });
    const repeated = await engine.submitWithin(transaction, { taskType: held.type, input: { key: 'keyed' }, idempotencyKey: 'within-once' });
    return [made, repeated];
  });
  expect(first.created).toBe(true);
  expect(again).toMatchObject({ created: false, task: { id: first.task.id } });
  await gates.open(first.task.id);
  expect((await waitForStatus(engine, first.task.id, ['completed'])).status).toBe('completed');
});
