import { expect, it } from 'vitest';
import { eventually, waitForStatus, useTestEngine } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { cancelChannel } from '../../src/engine/cancel.ts';
import { appendEvents } from '../../src/engine/event-log.ts';
import type { Worker } from '../../src/engine/worker.ts';
import { resolveChildWaits } from '../../src/engine/waitpoints.ts';

const fixture = useTestEngine({ beforeStop: killChildren });

it('reaches a handler running in another process within a second, keeping its steps and partial result', async () => {
  const child = spawnNode('test/fixtures/worker-process.ts', [fixture.database.url, '2']);
  await child.waitForLine('ready');
  const { task } = await fixture.engine.submit({ taskType: 'test_wait_for_abort', input: { steps: 3 } });
  await eventually(async () => ((await fixture.database.pool.query('SELECT 1 FROM task_steps WHERE task_id = $1', [task.id])).rowCount ?? 0) >= 3);
  await waitForStatus(fixture.engine, task.id, ['running']);

  const requestedAt = new Date();
  const answer = await fixture.engine.cancel(task.id);
  expect(answer).toMatchObject({ task_id: task.id, previous_state: 'running' });
  const done = await waitForStatus(fixture.engine, task.id, ['cancelled']);
  const abort = await fixture.database.pool.query<{ reason: string; aborted_at: Date }>('SELECT reason, aborted_at FROM test_aborts WHERE task_id = $1', [task.id]);
  expect(abort.rows[0]!.reason).toBe('cancelled');
  expect(abort.rows[0]!.aborted_at.getTime() - requestedAt.getTime()).toBeLessThan(1000);
  expect(done.result).toEqual({ partial: true, reason: 'cancelled', stepsDone: 3 });
  expect((await fixture.database.pool.query('SELECT 1 FROM task_steps WHERE task_id = $1', [task.id])).rowCount).toBe(4);
  const types = (await fixture.engine.readEvents({ taskId: task.id })).map((event) => event.type);
  expect(types.at(-1)).toBe('task_cancelled');
});

it('cancels a queued task at once, and the worker never runs it', async () => {
  // No worker may claim it between the submit and the cancel (a claim takes a few ms): the
  // first test's worker process goes, and this process runs none yet.
  await killChildren();
  for (const running of fixture.engine.workers) await running.stop();
  const { task } = await fixture.engine.submit({ taskType: 'test_record_run', input: { n: 1 } });
  const answer = await fixture.engine.cancel(task.id);
  expect(answer).toEqual({ task_id: task.id, previous_state: 'queued', status: 'cancelled', message: 'Task cancelled.' });
  expect((await fixture.database.pool.query('SELECT 1 FROM task_queue WHERE task_id = $1', [task.id])).rowCount).toBe(0);
  // A task queued after it runs, so the worker has been past it.
  const after = await fixture.engine.submit({ taskType: 'test_record_run', input: { n: 2 } });
  const worker = await fixture.engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
  await waitForStatus(fixture.engine, after.task.id, ['completed']);
  await worker.stop();
  expect((await fixture.engine.getTask(task.id)).status).toBe('cancelled');
  expect((await fixture.database.pool.query('SELECT 1 FROM test_side_effects WHERE task_id = $1', [task.id])).rowCount).toBe(0);
});

it('lets a child\'s submit pass a transaction holding its parent\'s row, as a sibling\'s cancel holds it, without a deadlock', async () => {
  const parent = await fixture.engine.submit({ taskType: 'test_record_run', input: { n: 10 } });
  const holder = await fixture.database.pool.connect();
  let submitting: Promise<unknown> | undefined;
  try {
    await holder.query('BEGIN');
    // What cancelling a sibling does first: lock the parent, to resolve its children waits.
    await resolveChildWaits(holder, [parent.task.id]);
    // The child's submit takes the event-order lock, then checks its parent's row (the foreign
    // key). Before, it queued behind the holder's row lock while holding the event lock, and the
    // holder's own event then waited for it: PostgreSQL failed one of them (40P01) after 1 s.
    submitting = fixture.engine.submit({ taskType: 'test_record_run', input: { n: 11 }, parentTaskId: parent.task.id });
    const blocked = eventually(async () => (await fixture.database.pool.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rowCount);
    expect(await Promise.race([submitting.then(() => 'submitted'), blocked.then(() => 'blocked on the parent')])).toBe('submitted');
    await appendEvents(holder, [{ taskId: parent.task.id, tenant: 'default', projectId: null, type: 'test_marker', payload: {} }]);
    await holder.query('COMMIT');
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    holder.release();
    await submitting?.catch(() => {});
  }
  expect((await fixture.database.pool.query('SELECT count(*)::int AS count FROM tasks WHERE parent_task_id = $1', [parent.task.id])).rows[0]!.count).toBe(1);
});

it('stops a task whose cancel was heard while its claim was on its way, before the worker placed it', async () => {
  const { task } = await fixture.engine.submit({ taskType: 'test_wait_for_abort', input: {} });
  const holder = await fixture.database.pool.connect();
  let worker: Worker | undefined;
  try {
    // Held open, the event-order lock keeps the worker's claim (which writes task_started) from
    // committing: the claim has the task's row and waits.
    await holder.query('BEGIN');
    await appendEvents(holder, [{ taskId: task.id, tenant: 'default', projectId: null, type: 'test_marker', payload: {} }]);
    worker = await fixture.engine.startWorker({ concurrency: 1, pollIntervalMs: 200 });
    await eventually(async () => (await fixture.database.pool.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rowCount);
    // The cancel's NOTIFY, heard before the claim's answer is placed. Handlers run in the order
    // they were added: once this one has heard it, the worker has too.
    const heard = new Promise<void>((resolve) => {
      const stop = fixture.engine.listener.on(cancelChannel, (taskId) => {
        if (taskId !== task.id) return;
        stop();
        resolve();
      });
    });
    await fixture.database.pool.query('SELECT pg_notify($1, $2)', [cancelChannel, task.id]);
    await heard;
    await holder.query('COMMIT');
    // Before, the NOTIFY found no such task and was dropped: the handler ran on, its cancel
    // caught by a heartbeat at best.
    const done = await waitForStatus(fixture.engine, task.id, ['cancelled', 'completed', 'failed'], 5000);
    expect(done.status).toBe('cancelled');
    // Ended before its handler started.
    expect(done.result).toBeNull();
    expect((await fixture.database.pool.query('SELECT 1 FROM test_aborts WHERE task_id = $1', [task.id])).rowCount).toBe(0);
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    holder.release();
    await worker?.stop({ graceMs: 500 });
  }
});
