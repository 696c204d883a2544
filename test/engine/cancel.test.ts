import { expect, it } from 'vitest';
import { eventually, waitForStatus, useTestEngine } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

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
