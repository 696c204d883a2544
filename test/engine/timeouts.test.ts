import { expect, it } from 'vitest';
import { afterHang } from '../fixtures/task-types.ts';
import { waitForStatus, useTestEngine } from '../support/engine.ts';

const fixture = useTestEngine({ worker: { concurrency: 4 } });

it('aborts the signal at the soft timeout and keeps the partial result', async () => {
  const { task } = await fixture.engine.submit({ taskType: 'test_soft_timeout', input: {} });
  const done = await waitForStatus(fixture.engine, task.id, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  expect(done.result).toMatchObject({ partial: true, reason: 'soft_timeout' });
  expect((done.result as { chunks: number }).chunks).toBeGreaterThanOrEqual(3);
});

it('fails an attempt at the hard timeout and resumes the retry from its steps', async () => {
  const { task } = await fixture.engine.submit({ taskType: 'test_hard_timeout', input: {} });
  const done = await waitForStatus(fixture.engine, task.id, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  expect(done.attempts).toBe(2);
  expect(done.result).toEqual({ finishedOnAttempt: 2 });
  const effects = await fixture.database.pool.query<{ step: string; attempt: number }>('SELECT step, attempt FROM test_side_effects WHERE task_id = $1 ORDER BY step', [task.id]);
  // Both steps ran once, in the first attempt; the retry read them back.
  expect(effects.rows).toEqual([{ step: 'one', attempt: 1 }, { step: 'two', attempt: 1 }]);
  const retrying = (await fixture.engine.readEvents({ taskId: task.id })).find((event) => event.type === 'task_retrying');
  expect(retrying?.payload.error).toMatchObject({ code: 'hard_timeout' });
});

it('lands nothing a handler starts after its hard timeout, though it ran on', async () => {
  const { task } = await fixture.engine.submit({ taskType: 'test_hard_timeout', input: { submitAfterHang: true } });
  const outcome = new Promise<string>((resolve) => afterHang.set(task.id, resolve));
  // The retry completes while the first attempt, which ignored its signal, still sleeps.
  expect((await waitForStatus(fixture.engine, task.id, ['completed', 'failed'])).status).toBe('completed');
  expect(await outcome).toBe('refused: hard_timeout');
  const followUps = (await fixture.engine.listTasks({ tenant: 'default', taskType: 'test_record_run', limit: 200 })).tasks.filter((each) => (each.input as { n?: number }).n === 4242);
  expect(followUps).toEqual([]);
  afterHang.delete(task.id);
});
