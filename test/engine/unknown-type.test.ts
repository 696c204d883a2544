/**
 * Workers claim by queue. In a rolling deploy a worker of the previous release can claim a task
 * of a type only the new release registers; it hands it back, unspent, instead of failing it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/engine/index.ts';
import type { Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine } from '../support/engine.ts';
import { waitFor } from '../support/http.ts';

const known = defineTask({ type: 'test_known_everywhere', description: 'known to both releases', queue: 'default', input: z.object({}), run: async () => 'done' });
const added = defineTask({ type: 'test_added_in_new_release', description: 'known to the new release only', queue: 'default', input: z.object({}), run: async () => 'done' });

let database: TestDatabase;
let newRelease: Engine;
let previousRelease: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  newRelease = await startTestEngine(database, [known, added]);
  previousRelease = await startTestEngine(database, [known]);
  await previousRelease.startWorker({ concurrency: 2, pollIntervalMs: 100 });
});

afterAll(async () => {
  await previousRelease?.stop({ graceMs: 500 });
  await newRelease?.stop({ graceMs: 500 });
  await database?.drop();
});

it('fails a task whose type no worker has registered for over an hour, rather than handing it back for ever', async () => {
  const holder = await database.pool.connect();
  let taskId: string;
  try {
    await holder.query('BEGIN');
    taskId = (await newRelease.submitWithin(holder, { taskType: added.type, input: {} })).task.id;
    await holder.query("UPDATE tasks SET created_at = now() - interval '2 hours' WHERE id = $1", [taskId]);
    await holder.query('COMMIT');
  } finally {
    holder.release();
  }
  const failed = await waitFor(() => newRelease.getTask(taskId), (read) => read?.status === 'failed');
  expect(failed.error).toMatchObject({ code: 'unknown_task_type', retryable: false });
  expect((failed.error as { message: string }).message).toContain('No worker has registered task type "test_added_in_new_release" since the task was submitted, over an hour ago');
});

it('hands a task of a type it does not know back, unspent and delayed, for a worker that has it', async () => {
  const { task } = await newRelease.submit({ taskType: added.type, input: {} });
  const events = await waitFor(() => newRelease.readEvents({ taskId: task.id }), (read) => read.some((event) => event.type === 'task_queued' && (event.payload as { reason?: string }).reason === 'unknown_task_type'));
  const handedBack = events.find((event) => (event.payload as { reason?: string }).reason === 'unknown_task_type')!;
  expect(handedBack.payload).toMatchObject({ delay_ms: 30_000 });
  const stored = await newRelease.getTask(task.id);
  expect(stored).toMatchObject({ status: 'queued', attempts: 0, error: null });
  // The previous release still runs what it knows.
  const { task: other } = await newRelease.submit({ taskType: known.type, input: {} });
  await waitFor(() => newRelease.getTask(other.id), (read) => read?.status === 'completed');
  // Once due, a worker of the new release runs it.
  await database.pool.query("UPDATE task_queue SET run_at = now() WHERE task_id = $1", [task.id]);
  await database.pool.query("UPDATE tasks SET next_attempt_at = NULL WHERE id = $1", [task.id]);
  await previousRelease.stop({ graceMs: 500 });
  await newRelease.startWorker({ concurrency: 2, pollIntervalMs: 100 });
  const ran = await waitFor(() => newRelease.getTask(task.id), (read) => read?.status === 'completed');
  expect(ran).toMatchObject({ status: 'completed', attempts: 1, result: 'done' });
});
