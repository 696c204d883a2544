import { expect, it } from 'vitest';
import { claimAndVanish, eventually, waitForStatus, useTestEngine } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

const fixture = useTestEngine({ beforeStop: killChildren });

it('resumes a task from its last completed step after its worker is SIGKILLed', async () => {
  const reference = await fixture.engine.submit({ taskType: 'test_steps', input: { steps: 10, stepMs: 0 } });
  const crashing = await fixture.engine.submit({ taskType: 'test_steps', input: { steps: 10, stepMs: 300 } });

  const child = spawnNode('test/fixtures/worker-process.ts', [fixture.database.url, '2']);
  await child.waitForLine('ready');
  await waitForStatus(fixture.engine, reference.task.id, ['completed']);
  await eventually(async () => {
    const done = await fixture.database.pool.query('SELECT 1 FROM task_steps WHERE task_id = $1', [crashing.task.id]);
    return (done.rowCount ?? 0) >= 4;
  });
  child.process.kill('SIGKILL');
  await child.exited;
  const stepsAtCrash = (await fixture.database.pool.query('SELECT 1 FROM task_steps WHERE task_id = $1', [crashing.task.id])).rowCount!;
  expect(stepsAtCrash).toBeGreaterThanOrEqual(4);
  expect(stepsAtCrash).toBeLessThan(10);
  expect((await fixture.engine.getTask(crashing.task.id)).status).toBe('running');

  // A second worker (this process) takes over once the dead one's leases lapse (1.5 x 10 s) at its next poll.
  await fixture.engine.startWorker({ concurrency: 2, pollIntervalMs: 250 });
  const resumed = await waitForStatus(fixture.engine, crashing.task.id, ['completed', 'failed'], 40_000);
  expect(resumed.status).toBe('completed');
  expect(resumed.attempts).toBe(2);
  expect(resumed.result).toEqual((await fixture.engine.getTask(reference.task.id)).result);

  // Every step's side effect happened exactly once, each in the attempt that checkpointed it.
  const effects = await fixture.database.pool.query<{ step: string; count: number; attempts: number[] }>(
    'SELECT step, count(*)::int AS count, array_agg(attempt) AS attempts FROM test_side_effects WHERE task_id = $1 GROUP BY step ORDER BY step',
    [crashing.task.id],
  );
  expect(effects.rows).toHaveLength(10);
  expect(effects.rows.every((row) => row.count === 1)).toBe(true);
  expect(effects.rows.filter((row) => row.attempts[0] === 1)).toHaveLength(stepsAtCrash);
  const started = (await fixture.engine.readEvents({ taskId: crashing.task.id })).filter((event) => event.type === 'task_started');
  expect(started.map((event) => event.payload.resumed)).toEqual([false, true]);
}, 90_000);

it('resumes a task whose claim committed but whose worker never heard so (the answer lost with its connection)', async () => {
  for (const running of fixture.engine.workers) await running.stop();
  const task = await fixture.engine.submit({ taskType: 'test_record_run', input: { n: 7 } });
  const lost = await claimAndVanish(fixture.database.pool, { queue: 'default', limit: 10, workerId: 'worker-that-lost-the-answer', leaseSeconds: 1 });
  expect(lost.claimed.map((claimed) => claimed.task.id)).toContain(task.task.id);
  expect((await fixture.engine.getTask(task.task.id)).status).toBe('running');

  const worker = await fixture.engine.startWorker({ concurrency: 2, pollIntervalMs: 250 });
  try {
    const finished = await waitForStatus(fixture.engine, task.task.id, ['completed', 'failed'], 20_000);
    expect(finished).toMatchObject({ status: 'completed', attempts: 2, result: { n: 7 } });
    const started = (await fixture.engine.readEvents({ taskId: task.task.id })).filter((event) => event.type === 'task_started');
    expect(started.map((event) => [event.payload.worker_id, event.payload.resumed])).toEqual([['worker-that-lost-the-answer', false], [worker.id, true]]);
    expect((await fixture.database.pool.query('SELECT 1 FROM task_leases WHERE task_id = $1', [task.task.id])).rowCount).toBe(0);
  } finally {
    await worker.stop();
  }
}, 40_000);
