/**
 * Events appended inside a step are stored with the step, after its lease fence: a progress
 * update racing the step for the task row can then never deadlock against it, and another
 * task's events are not held up while the step's code runs.
 */
import { expect, it } from 'vitest';
import { waitForStatus, useTestEngine } from '../support/engine.ts';

const fixture = useTestEngine({ worker: { concurrency: 4 } });

it('stores events appended in a step with the step, without deadlocking a racing progress update', async () => {
  const submitted = await Promise.all(Array.from({ length: 4 }, () => fixture.engine.submit({ taskType: 'test_step_events', input: { steps: 10 } })));
  for (const { task } of submitted) {
    const done = await waitForStatus(fixture.engine, task.id, ['completed', 'failed']);
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(1);
    const events = await fixture.engine.readEvents({ taskId: task.id });
    const stepEvents = events.filter((event) => event.type === 'step_event').map((event) => event.payload.index);
    expect(stepEvents).toEqual(Array.from({ length: 10 }, (_, index) => index + 1));
    const savedEvents = events.filter((event) => event.type === 'step_saved').map((event) => event.payload.index);
    expect(savedEvents).toEqual(stepEvents);
  }
});

it('drops the events of a step that fails, and keeps those of the steps before it', async () => {
  const { task } = await fixture.engine.submit({ taskType: 'test_step_events', input: { steps: 3, failAt: 2 } });
  const done = await waitForStatus(fixture.engine, task.id, ['completed', 'failed']);
  expect(done.status).toBe('failed');
  const events = await fixture.engine.readEvents({ taskId: task.id });
  expect(events.filter((event) => event.type === 'step_event').map((event) => event.payload.index)).toEqual([1]);
  expect(events.filter((event) => event.type === 'step_saved').map((event) => event.payload.index)).toEqual([1]);
  // The connections those steps used went back to the pool appending normally again.
  const again = await fixture.engine.submit({ taskType: 'test_step_events', input: { steps: 2 } });
  await waitForStatus(fixture.engine, again.task.id, ['completed']);
  expect((await fixture.engine.readEvents({ taskId: again.task.id })).map((event) => event.type)).toContain('task_completed');
});

it('holds no transaction open while a step\'s work runs', async () => {
  const { task } = await fixture.engine.submit({ taskType: 'test_steps', input: { steps: 1, stepMs: 1500 } });
  await waitForStatus(fixture.engine, task.id, ['running']);
  // The step's work sleeps 1.5 s: look while it does.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const open = await fixture.database.pool.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
  );
  expect(open.rows[0]!.count).toBe(0);
  expect((await waitForStatus(fixture.engine, task.id, ['completed'])).status).toBe('completed');
});
