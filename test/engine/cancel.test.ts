import { expect, it } from 'vitest';
import { eventually, waitForStatus, useTestEngine } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { appendEvents } from '../../src/engine/event-log.ts';
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
