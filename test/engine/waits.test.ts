/**
 * Durable waits: a waiting task holds no worker slot, resumes exactly once on whichever worker
 * claims it, and a decision is never lost between its record and the resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine, type Settlement } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { advanceTime, startTestEngine, waitForTask } from '../support/engine.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

let database: TestDatabase;
let engine: Engine;

/** Called once, right after a test_flag_wait handler read its flag and found it unset. */
const afterUnsetRead = new Map<string, (taskId: string) => Promise<void>>();

/**
 * Waits until its flag (a row of the test's own table, as a pipeline's decision would be) is set.
 * `registerFirst`: register the wait, then check (`waitFor`'s `check`); otherwise read the flag,
 * then wait: the pattern the option replaces.
 */
const flagWaitTask = defineTask({
  type: 'test_flag_wait',
  description: 'waits for a flag in a table of its own',
  queue: 'default',
  maxAttempts: 1,
  input: z.object({ flag: z.string(), registerFirst: z.boolean() }),
  async run(context) {
    const { flag, registerFirst } = context.input;
    const isSet = async (): Promise<boolean> => {
      const row = await database.pool.query<{ set: boolean }>('SELECT set FROM test_flags WHERE name = $1', [flag]);
      if (row.rows[0]!.set) return true;
      const hook = afterUnsetRead.get(flag);
      afterUnsetRead.delete(flag);
      await hook?.(context.taskId);
      return false;
    };
    if (registerFirst) return context.waitFor('flag', { check: async () => ((await isSet()) ? { payload: { seen: 'by check' } } : undefined) });
    if (await isSet()) return { status: 'set before waiting' };
    return context.waitFor('flag');
  },
});

/** Races two waits, which the engine refuses: parked on one, it would never resume when the other resolved. */
const racingWaitsTask = defineTask({
  type: 'test_racing_waits',
  description: 'races an input wait against a durable sleep',
  queue: 'default',
  maxAttempts: 1,
  input: z.object({ key: z.string().default('reply') }),
  async run(context) {
    await Promise.race([context.waitFor(context.input.key), context.sleep('deadline', 200)]);
    return { raced: true };
  },
});

/** Waits with a schema that transforms (tags as text become a list) and refines (amount > 0). */
const shapedWaitTask = defineTask({
  type: 'test_shaped_wait',
  description: 'waits with a transforming, refining schema, found by its check or completed from outside',
  queue: 'default',
  maxAttempts: 2,
  retryBaseDelayMs: 10,
  input: z.object({ byCheck: z.boolean() }),
  async run(context) {
    const outcome = await context.waitFor('order', {
      schema: z.object({ tags: z.string().transform((text) => text.split(',')), amount: z.number().refine((amount) => amount > 0, 'must be positive') }),
      ...(context.input.byCheck ? { check: async () => ({ payload: { tags: 'a,b', amount: 3 } }) } : {}),
    });
    return outcome.status === 'completed' ? outcome.payload : null;
  },
});

/** Sets a flag the way a pipeline records a decision: commit the write, then wake the waiting task. */
async function setFlag(flag: string, taskId: string): Promise<void> {
  await database.pool.query('UPDATE test_flags SET set = true WHERE name = $1', [flag]);
  for (const waitpoint of await engine.listWaitpoints({ tenant: 'default', taskId, status: 'pending' })) {
    await engine.completeWaitpoint({ id: waitpoint.id, tenant: 'default', payload: { seen: 'by the setter' }, completedBy: 'setter' });
  }
}

/** Resolves with the settlement that parks the task (outcome `waiting`), heard from the engine's hook. */
function parked(taskId: () => string): Promise<Settlement> {
  return new Promise((resolve) => {
    const hook = (settlements: Settlement[]): void => {
      const found = settlements.find((settlement) => settlement.task.id === taskId() && settlement.outcome.kind === 'waiting');
      if (!found) return;
      engine.hooks.settled.delete(hook);
      resolve(found);
    };
    engine.hooks.settled.add(hook);
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  await database.pool.query('CREATE TABLE test_flags (name text PRIMARY KEY, set boolean NOT NULL DEFAULT false)');
  // A waitpoint whose record is slow to write (a busy database): its insert commits well after
  // the handler has failed.
  await database.pool.query(`CREATE FUNCTION test_slow_waitpoint() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.key = 'slow_reply' THEN PERFORM pg_sleep(0.3); END IF; RETURN NEW; END $$`);
  await database.pool.query('CREATE TRIGGER test_slow_waitpoint BEFORE INSERT ON waitpoints FOR EACH ROW EXECUTE FUNCTION test_slow_waitpoint()');
  engine = await startTestEngine(database, [...testTaskTypes, flagWaitTask, racingWaitsTask, shapedWaitTask]);
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
  it('gives the handler its schema\'s output once, for a payload its check found as for one completed from outside', async () => {
    const { task } = await engine.submit({ taskType: 'test_shaped_wait', input: { byCheck: true } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed']);
    expect(done.error).toBeNull();
    expect(done.result).toEqual({ tags: ['a', 'b'], amount: 3 });
    // Stored as given, as a completion from outside is.
    expect((await engine.listWaitpoints({ tenant: 'default', taskId: task.id }))[0]!.payload).toEqual({ tags: 'a,b', amount: 3 });
  });

  it('fails the task, saying why, when a completion passes the JSON Schema but not the handler\'s refinement', async () => {
    const { task } = await engine.submit({ taskType: 'test_shaped_wait', input: { byCheck: false } });
    await waitForTask(engine, task.id, ['waiting']);
    const [waitpoint] = await engine.listWaitpoints({ tenant: 'default', taskId: task.id });
    await engine.completeWaitpoint({ id: waitpoint!.id, tenant: 'default', payload: { tags: 'a', amount: -5 }, completedBy: 'someone' });
    const failed = await waitForTask(engine, task.id, ['completed', 'failed']);
    expect(failed.status).toBe('failed');
    // At once, not retried to its last attempt as an internal error.
    expect(failed.attempts).toBe(1);
    expect(failed.error).toMatchObject({ code: 'validation_failed', details: { key: 'order', issues: [{ path: 'amount', message: 'must be positive' }] } });
  });

  it('refuses a second wait while one is awaited, failing the task with what to do instead of leaving it waiting for good', async () => {
    const { task } = await engine.submit({ taskType: 'test_racing_waits', input: {} });
    const failed = await waitForTask(engine, task.id, ['failed', 'completed']);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'validation_failed', details: { key: 'deadline', awaiting: 'reply' } });
    expect((failed.error as { message: string }).message).toContain('a task waits for one thing at a time');
    // Nothing is left pending for a wait no one will resume.
    expect(await engine.listWaitpoints({ tenant: 'default', taskId: task.id, status: 'pending' })).toEqual([]);
  });

  it('records the failure of a refused second wait only after the first wait\'s record is written, so none is left pending', async () => {
    const { task } = await engine.submit({ taskType: 'test_racing_waits', input: { key: 'slow_reply' } });
    const failed = await waitForTask(engine, task.id, ['failed', 'completed']);
    expect(failed.error).toMatchObject({ code: 'validation_failed', details: { key: 'deadline', awaiting: 'slow_reply' } });
    const waitpoints = await engine.listWaitpoints({ tenant: 'default', taskId: task.id });
    expect(waitpoints.map((waitpoint) => [waitpoint.key, waitpoint.status])).toEqual([['slow_reply', 'cancelled']]);
  });

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

describe('waitFor with check (register the wait, then check)', () => {
  it('is woken by a decision that lands between its check and its park', async () => {
    await database.pool.query("INSERT INTO test_flags (name) VALUES ('between')");
    // The flag is set right after the check read it unset, before the task parks.
    afterUnsetRead.set('between', (taskId) => setFlag('between', taskId));
    const { task } = await engine.submit({ taskType: 'test_flag_wait', input: { flag: 'between', registerFirst: true } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 10_000);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ status: 'completed', payload: { seen: 'by the setter' }, completedBy: 'setter' });
    // The park saw the waitpoint resolved and requeued the task at once: it never waited.
    const types = (await engine.readEvents({ taskId: task.id })).map((event) => event.type);
    expect(types).toEqual(['task_queued', 'task_started', 'waitpoint_completed', 'task_queued', 'task_started', 'task_completed']);
  });

  it('without check, the same decision is lost: the task parks after the flag was set', async () => {
    await database.pool.query("INSERT INTO test_flags (name) VALUES ('lost')");
    afterUnsetRead.set('lost', (taskId) => setFlag('lost', taskId));
    let taskId = '';
    const parking = parked(() => taskId);
    const { task } = await engine.submit({ taskType: 'test_flag_wait', input: { flag: 'lost', registerFirst: false } });
    taskId = task.id;
    await parking;
    // The race the option closes: the flag is set, yet the task waits on a pending waitpoint.
    expect((await database.pool.query('SELECT set FROM test_flags WHERE name = $1', ['lost'])).rows[0].set).toBe(true);
    expect((await engine.getTask(task.id)).status).toBe('waiting');
    expect((await engine.listWaitpoints({ tenant: 'default', taskId: task.id }))[0]).toMatchObject({ key: 'flag', status: 'pending' });
    await engine.cancel(task.id);
  });

  it('does not park when the condition already holds: the check completes the waitpoint', async () => {
    await database.pool.query("INSERT INTO test_flags (name, set) VALUES ('already', true)");
    const { task } = await engine.submit({ taskType: 'test_flag_wait', input: { flag: 'already', registerFirst: true } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 10_000);
    expect(done.result).toEqual({ status: 'completed', payload: { seen: 'by check' }, completedBy: 'check' });
    expect((await engine.readEvents({ taskId: task.id })).map((event) => event.type)).toEqual(['task_queued', 'task_started', 'waitpoint_completed', 'task_completed']);
    expect((await engine.listWaitpoints({ tenant: 'default', taskId: task.id }))[0]).toMatchObject({ key: 'flag', status: 'completed', completed_by: 'check', payload: { seen: 'by check' } });
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
