/**
 * A waiting task survives its worker: the worker that parked it is SIGKILLed, the waitpoint is
 * completed while no worker runs at all, and a worker started later finishes the task once.
 */
import { expect, it } from 'vitest';
import { waitForTask, useTestEngine } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

const fixture = useTestEngine({ beforeStop: killChildren });

it('resumes a waiting task exactly once after its worker died and the decision came while no worker ran', async () => {
  const { task } = await fixture.engine.submit({ taskType: 'test_approval', input: {} });
  const first = spawnNode('test/fixtures/worker-process.ts', [fixture.database.url, '2']);
  await first.waitForLine('ready');
  await waitForTask(fixture.engine, task.id, ['waiting']);
  first.process.kill('SIGKILL');
  await first.exited;

  const [waitpoint] = await fixture.engine.listWaitpoints({ tenant: 'default', taskId: task.id });
  await fixture.engine.completeWaitpoint({ id: waitpoint!.id, tenant: 'default', payload: { approved: false, note: 'needs a rewrite' }, completedBy: 'supervisor' });
  // Nothing runs it yet: the decision is stored and the task is queued, not lost.
  expect((await fixture.engine.getTask(task.id)).status).toBe('queued');

  const second = spawnNode('test/fixtures/worker-process.ts', [fixture.database.url, '2']);
  await second.waitForLine('ready');
  const done = await waitForTask(fixture.engine, task.id, ['completed', 'failed'], 30_000);
  expect(done.status).toBe('completed');
  expect(done.result).toEqual({ status: 'completed', payload: { approved: false, note: 'needs a rewrite' }, completedBy: 'supervisor' });
  const effects = await fixture.database.pool.query<{ step: string; count: number }>('SELECT step, count(*)::int AS count FROM test_side_effects WHERE task_id = $1 GROUP BY step ORDER BY step', [task.id]);
  expect(effects.rows).toEqual([{ step: 'after', count: 1 }, { step: 'before', count: 1 }]);
}, 60_000);
