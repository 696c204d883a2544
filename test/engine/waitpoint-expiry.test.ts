/**
 * A completion that comes after a wait's deadline, before the sweep that times the wait out has
 * run (the sweep runs at the workers' polling interval, or not at all while no worker runs): the
 * deadline decided. By id and by token alike the completion is refused as expired, and the task
 * goes on as timed out.
 */
import { expect, it } from 'vitest';
import { sweepWaitpoints } from '../../src/engine/waitpoints.ts';
import { useTestEngine, waitForTask } from '../support/engine.ts';

const fixture = useTestEngine({ worker: { concurrency: 2, pollIntervalMs: 60_000 } });

it('refuses a completion after the deadline as waitpoint_expired, by id and by token, and the task times out', async () => {
  const { engine, database } = fixture;
  const { task } = await engine.submit({ taskType: 'test_approval', input: { timeoutMs: 60 * 60_000 } });
  await waitForTask(engine, task.id, ['waiting']);
  const [waitpoint] = await engine.listWaitpoints({ tenant: 'default', taskId: task.id });
  const { token } = await engine.createWaitpointToken(waitpoint!.id, 'default');
  // The deadline passes; no sweep has run since.
  await database.pool.query("UPDATE waitpoints SET timeout_at = now() - interval '1 second' WHERE id = $1", [waitpoint!.id]);

  const byId = engine.completeWaitpoint({ id: waitpoint!.id, tenant: 'default', payload: { approved: true }, completedBy: 'late@example.com' });
  await expect(byId).rejects.toMatchObject({ code: 'waitpoint_expired', httpStatus: 409, details: { waitpoint_id: waitpoint!.id, status: 'pending' } });
  await expect(byId).rejects.toThrow(/expired at .*; it times out and its task goes on without this completion/);
  await expect(engine.completeWaitpoint({ token, payload: { approved: true }, completedBy: 'late link' })).rejects.toMatchObject({ code: 'waitpoint_expired' });
  expect((await engine.getWaitpoint(waitpoint!.id)).status).toBe('pending');

  await sweepWaitpoints(engine);
  const done = await waitForTask(engine, task.id, ['completed', 'failed']);
  expect(done.result).toEqual({ status: 'timed_out' });
});
