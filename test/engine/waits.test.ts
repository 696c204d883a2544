/**
 * Durable waits: a waiting task holds no worker slot, resumes exactly once on whichever worker
 * claims it, and a decision is never lost between its record and the resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { advanceTime, startTestEngine, waitForTask } from '../support/engine.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  engine = await startTestEngine(database, testTaskTypes);
  await engine.startWorker({ concurrency: 8, pollIntervalMs: 200 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

const sideEffects = async (taskId: string): Promise<Record<string, number>> => {
  const rows = await database.pool.query<{ step: string; count: number }>('SELECT step, count(*)::int AS count FROM test_side_effects WHERE task_id = $1 GROUP BY step', [taskId]);
  return Object.fromEntries(rows.rows.map((row) => [row.step, row.count]));
};

describe('waitFor', () => {
  it('parks without a slot, resumes once on completion, and replays the outcome', async () => {
    const { task } = await engine.submit({ taskType: 'test_approval', input: {} });
    const waiting = await waitForTask(engine, task.id, ['waiting']);
    expect(waiting.worker_id).toBeNull();
    expect(waiting.lease).toBeNull();
    const [waitpoint] = await engine.listWaitpoints({ tenant: 'default', taskId: task.id });
    expect(waitpoint).toMatchObject({ key: 'approval', kind: 'input', status: 'pending' });
    expect(waitpoint!.schema).toMatchObject({ type: 'object', properties: { approved: { type: 'boolean' } } });

    const completed = await engine.completeWaitpoint({ id: waitpoint!.id, tenant: 'default', payload: { approved: true, note: 'ship it' }, completedBy: 'supervisor@example.com' });
    expect(completed.status).toBe('completed');
    const done = await waitForTask(engine, task.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ status: 'completed', payload: { approved: true, note: 'ship it' }, completedBy: 'supervisor@example.com' });
    // No attempt spent by parking: the resumed run is still the first attempt.
    expect(done.attempts).toBe(1);
    expect(await sideEffects(task.id)).toEqual({ before: 1, after: 1 });
    const types = (await engine.readEvents({ taskId: task.id })).map((event) => event.type);
    expect(types).toEqual(['task_queued', 'task_started', 'task_waiting', 'waitpoint_completed', 'task_queued', 'task_started', 'task_completed']);
  });

  it('refuses a payload that does not match the schema, and changes nothing', async () => {
    const { task } = await engine.submit({ taskType: 'test_approval', input: {} });
    await waitForTask(engine, task.id, ['waiting']);
    const [waitpoint] = await engine.listWaitpoints({ tenant: 'default', taskId: task.id });
    await expect(engine.completeWaitpoint({ id: waitpoint!.id, tenant: 'default', payload: { approved: 'yes', extra: 1 }, completedBy: null }))
      .rejects.toMatchObject({ code: 'validation_failed', details: { issues: expect.arrayContaining([expect.objectContaining({ path: 'approved' })]) } });
    await expect(engine.completeWaitpoint({ id: waitpoint!.id, tenant: 'other', payload: { approved: true }, completedBy: null })).rejects.toMatchObject({ code: 'not_found' });
    expect((await engine.getWaitpoint(waitpoint!.id)).status).toBe('pending');
    expect((await engine.getTask(task.id)).status).toBe('waiting');
    await engine.cancel(task.id);
    expect((await engine.getWaitpoint(waitpoint!.id)).status).toBe('cancelled');
    expect((await engine.getTask(task.id)).status).toBe('cancelled');
  });

  it('lets one of two racing completions win; the other gets the first outcome; the task resumes once', async () => {
    const { task } = await engine.submit({ taskType: 'test_approval', input: {} });
    await waitForTask(engine, task.id, ['waiting']);
    const [waitpoint] = await engine.listWaitpoints({ tenant: 'default', taskId: task.id });
    const results = await Promise.allSettled([
      engine.completeWaitpoint({ id: waitpoint!.id, tenant: 'default', payload: { approved: true }, completedBy: 'first' }),
      engine.completeWaitpoint({ id: waitpoint!.id, tenant: 'default', payload: { approved: false }, completedBy: 'second' }),
    ]);
    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ code: 'waitpoint_resolved', httpStatus: 409 });
    const winner = (won[0] as PromiseFulfilledResult<{ completed_by: string; payload: unknown }>).value;
    expect(lost[0]!.reason.details).toMatchObject({ status: 'completed', completed_by: winner.completed_by, payload: winner.payload });
    const done = await waitForTask(engine, task.id, ['completed', 'failed']);
    expect((done.result as { completedBy: string }).completedBy).toBe(winner.completed_by);
    expect(await sideEffects(task.id)).toEqual({ before: 1, after: 1 });
    expect((await engine.readEvents({ taskId: task.id })).filter((event) => event.type === 'task_started')).toHaveLength(2);
  });

  it('times out: the handler gets timed_out', async () => {
    const { task } = await engine.submit({ taskType: 'test_approval', input: { timeoutMs: 60 * 60_000 } });
    await waitForTask(engine, task.id, ['waiting']);
    await advanceTime(engine, 60 * 60_000);
    const done = await waitForTask(engine, task.id, ['completed', 'failed']);
    expect(done.result).toEqual({ status: 'timed_out' });
    expect((await engine.readEvents({ taskId: task.id })).map((event) => event.type)).toContain('waitpoint_timed_out');
  });
});

describe('sleep and snooze', () => {
  it('sleeps durably without a slot and wakes on time', async () => {
    const { task } = await engine.submit({ taskType: 'test_sleeper', input: { ms: 300 } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed'], 10_000);
    expect(done.status).toBe('completed');
    expect((done.result as { sleptMs: number }).sleptMs).toBeGreaterThanOrEqual(300);
    expect((await engine.readEvents({ taskId: task.id })).map((event) => event.type)).toContain('task_waiting');
  });

  it('snoozes without spending an attempt', async () => {
    const { task } = await engine.submit({ taskType: 'test_snooze', input: { forMs: 300, ms: 100 } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed'], 10_000);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ attempt: 1, maxAttempts: 1, willRetry: false });
    expect((await sideEffects(task.id)).run).toBeGreaterThanOrEqual(2);
  });
});

describe('children', () => {
  it('fans out 50 children and gets their results back in order, failures included', async () => {
    const { task } = await engine.submit({ taskType: 'test_fan_out', input: { count: 50, failing: [7, 31] } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed'], 30_000);
    expect(done.status).toBe('completed');
    const outcomes = (done.result as { outcomes: Array<{ status: string; index: number | null }> }).outcomes;
    expect(outcomes).toHaveLength(50);
    outcomes.forEach((outcome, index) => {
      if (index === 7 || index === 31) expect(outcome).toEqual({ status: 'failed', index: null });
      else expect(outcome).toEqual({ status: 'completed', index });
    });
    const children = await engine.listChildren(task.id);
    expect(children).toHaveLength(50);
    expect(children.every((child) => child.parent_task_id === task.id)).toBe(true);
  });

  it('creates no duplicate child when the parent crashes between submits', async () => {
    const { task } = await engine.submit({ taskType: 'test_fan_out', input: { count: 6, crashAfter: 3 } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed'], 30_000);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(2);
    expect(await engine.listChildren(task.id)).toHaveLength(6);
  });

  it('cancelling a parent cancels its running children', async () => {
    const { task } = await engine.submit({ taskType: 'test_fan_out', input: { count: 3, childMs: 30_000 } });
    await waitForTask(engine, task.id, ['waiting']);
    const children = await engine.listChildren(task.id);
    await Promise.all(children.map((child) => waitForTask(engine, child.id, ['running'])));
    await engine.cancel(task.id);
    expect((await engine.getTask(task.id)).status).toBe('cancelled');
    for (const child of children) expect((await waitForTask(engine, child.id, ['cancelled'], 5_000)).status).toBe('cancelled');
  });
});

it('keeps running other tasks at full speed while 1,000 tasks wait', async () => {
  // Heard from the settled hook: every park is a settlement with outcome `waiting`.
  let parked = 0;
  const allParked = new Promise<void>((resolve) => {
    const hook = (settlements: Array<{ task: { task_type: string }; outcome: { kind: string } }>): void => {
      parked += settlements.filter((settlement) => settlement.task.task_type === 'test_approval' && settlement.outcome.kind === 'waiting').length;
      if (parked >= 1000) {
        engine.hooks.settled.delete(hook);
        resolve();
      }
    };
    engine.hooks.settled.add(hook);
  });
  await Promise.all(Array.from({ length: 1000 }, () => engine.submit({ taskType: 'test_approval', input: {} })));
  await allParked;
  const counts = await database.pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM tasks WHERE task_type = 'test_approval' AND status = 'waiting'`);
  expect(counts.rows[0]!.count).toBeGreaterThanOrEqual(1000);
  // Ordinary tasks still get every slot: 100 of them finish although 1,000 tasks wait.
  const ordinary = await Promise.all(Array.from({ length: 100 }, (_, n) => engine.submit({ taskType: 'test_record_run', input: { n } })));
  for (const { task } of ordinary) expect((await waitForTask(engine, task.id, ['completed'], 30_000)).status).toBe('completed');
  expect([...engine.workers][0]!.activeCount).toBeLessThanOrEqual(8);
}, 120_000);
