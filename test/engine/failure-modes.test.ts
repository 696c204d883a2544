/**
 * Attempts that end in the engine's awkward corners, each against the real database: a handler
 * throwing a value `String()` cannot convert, a handler whose own HTTP call is refused, an error
 * whose message jsonb refuses, a cancel arriving after the soft timeout, while the task parks or
 * just before it retries, a cancelled parent submitting a child, a child submitted while its
 * parent's cancel lists the children, and a result jsonb refuses.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import pino from 'pino';
import { defineTask, Engine } from '../../src/engine/index.ts';
import { createTestDatabase, startTestEngine, type TestDatabase } from '../../src/kit/testing.ts';
import { eventually, waitForStatus } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';

let database: TestDatabase;
let engine: Engine;
let refusedUrl: string;
const handlerRuns = new Map<string, number>();
const countRun = (taskId: string): number => {
  const runs = (handlerRuns.get(taskId) ?? 0) + 1;
  handlerRuns.set(taskId, runs);
  return runs;
};

const throwsOddValue = defineTask({
  type: 'test_throws_null_prototype',
  description: 'throws an object with no prototype',
  queue: 'default',
  maxAttempts: 2,
  retryBaseDelayMs: 10,
  input: z.object({}),
  async run() {
    const thrown = Object.create(null) as Record<string, unknown>;
    thrown.reason = 'no prototype';
    throw thrown;
  },
});

const requestsRefused = defineTask({
  type: 'test_http_refused',
  description: 'calls an address nothing listens on with node:http, whose error is a bare ECONNREFUSED',
  queue: 'default',
  maxAttempts: 2,
  retryBaseDelayMs: 10,
  input: z.object({}),
  async run(context) {
    countRun(context.taskId);
    await new Promise((resolve, reject) => http.get(refusedUrl, resolve).on('error', reject));
    return null;
  },
});

const fetchesRefused = defineTask({
  type: 'test_fetch_refused',
  description: 'calls an HTTP address nothing listens on',
  queue: 'default',
  maxAttempts: 2,
  retryBaseDelayMs: 10,
  input: z.object({}),
  async run(context) {
    countRun(context.taskId);
    await fetch(refusedUrl);
    return null;
  },
});

const nulMessage = defineTask({
  type: 'test_nul_message',
  description: 'fails once with a NUL character in its message, then succeeds',
  queue: 'default',
  maxAttempts: 2,
  retryBaseDelayMs: 10,
  input: z.object({}),
  async run(context) {
    if (countRun(context.taskId) === 1) throw new Error('model said "a\u0000b" and \ud800 alone');
    return { ok: true };
  },
});

const stepReturnsNul = defineTask({
  type: 'test_step_returns_nul',
  description: 'a step returns model text holding a NUL character',
  queue: 'default',
  maxAttempts: 3,
  retryBaseDelayMs: 10,
  input: z.object({}),
  async run(context) {
    return context.step('answer', async () => {
      countRun(context.taskId);
      return { items: [{ content: 'before\u0000after' }] };
    });
  },
});

const stepReturnsCleanJson = defineTask({
  type: 'test_step_returns_clean_json',
  description: 'a step returns a value whose JSON (toJSON applied) holds no NUL, though the value does',
  queue: 'default',
  maxAttempts: 1,
  input: z.object({}),
  async run(context) {
    return context.step('answer', async () => ({ kept: 'text', raw: { text: 'before\u0000after', toJSON: () => 'cleaned' } }));
  },
});

const badDuration = defineTask({
  type: 'test_bad_duration',
  description: 'asks the context for a duration or a percentage that is no number',
  queue: 'default',
  maxAttempts: 3,
  retryBaseDelayMs: 10,
  input: z.object({ call: z.enum(['sleep', 'waitFor', 'progress', 'long sleep', 'long waitFor', 'long snooze']) }),
  async run(context) {
    countRun(context.taskId);
    // Past any timestamp PostgreSQL stores: it failed the statement that parked the task.
    const tooLong = 1e16;
    if (context.input.call === 'sleep') await context.sleep('nap', Number.POSITIVE_INFINITY);
    else if (context.input.call === 'waitFor') await context.waitFor('answer', { timeoutMs: Number.NaN });
    else if (context.input.call === 'long sleep') await context.sleep('nap', tooLong);
    else if (context.input.call === 'long waitFor') await context.waitFor('answer', { timeoutMs: tooLong });
    else if (context.input.call === 'long snooze') await context.snooze(tooLong);
    else await context.progress(Number.NaN);
    return null;
  },
});

const ignoresSoftTimeout = defineTask({
  type: 'test_ignores_soft_timeout',
  description: 'keeps going past its soft timeout, then returns',
  queue: 'default',
  softTimeoutMs: 100,
  input: z.object({}),
  async run() {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return { finished: true };
  },
});

const cancelsItselfThenParks = defineTask({
  type: 'test_cancel_then_park',
  description: 'asks for its own cancel from a wait check, then parks',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    await context.waitFor('never', {
      check: async () => {
        // Not awaited: the cancel commits while the attempt goes on to park.
        void engine.cancel(context.taskId);
        return undefined;
      },
    });
    return null;
  },
});

const cancelsItselfThenFails = defineTask({
  type: 'test_cancel_then_fail',
  description: 'asks for its own cancel, then throws with a long backoff ahead',
  queue: 'default',
  maxAttempts: 3,
  retryBaseDelayMs: 60_000,
  input: z.object({}),
  async run(context) {
    // Not awaited: the cancel commits while the attempt's failure is recorded.
    void engine.cancel(context.taskId);
    throw new Error('failing after the cancel');
  },
});

const childOfCancelled = defineTask({
  type: 'test_child_of_cancelled',
  description: 'a child',
  queue: 'default',
  input: z.object({}),
  async run() {
    return null;
  },
});

/** A handler cancelling its own task and going on once its signal has heard the cancel. */
async function cancelItselfAndHear(taskId: string, signal: AbortSignal): Promise<void> {
  await engine.cancel(taskId);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

const submitsAfterCancel = defineTask({
  type: 'test_submits_after_cancel',
  description: 'ignores its cancel and submits a child',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    await cancelItselfAndHear(context.taskId, context.signal);
    await context.submitChild('late', childOfCancelled.type, {});
    return null;
  },
});

const submitsTaskAfterCancel = defineTask({
  type: 'test_submits_task_after_cancel',
  description: 'ignores its cancel and submits a task of its own (no parent)',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    await cancelItselfAndHear(context.taskId, context.signal);
    await context.submit(childOfCancelled.type, {}, { idempotencyKey: `after-cancel:${context.taskId}` });
    return null;
  },
});

const gates = new Gates();

const runsUntilCancelled = defineTask({
  type: 'test_runs_until_cancelled',
  description: 'a child that runs until it is cancelled or its gate opens',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    await gates.wait(`child:${context.taskId}`, context.signal);
    return null;
  },
});

const rejectedEarly = new Set<string>();

/** A child whose admission waits for its gate: its submit is on its way until the test lets it go. */
const admittedLate = defineTask({
  type: 'test_admitted_late',
  description: 'a child whose submit is held in its admission, and that runs until it is cancelled',
  queue: 'default',
  input: z.object({}),
  async admit({ tenant }) {
    await gates.wait(`admit:${tenant}`);
  },
  // Runs until cancelled: a child nobody cancels would hold its slot until the test ends.
  async run(context) {
    await gates.wait(`child:${context.taskId}`, context.signal);
    return null;
  },
});

const rejectsWhileChildOnItsWay = defineTask({
  type: 'test_rejects_while_child_on_its_way',
  description: 'submits a child and, in the same Promise.all, rejects as soon as its cancel is heard',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    const heard = new Promise<never>((_, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true }));
    await Promise.all([context.submitChild('late', admittedLate.type, {}), heard]).catch((error: unknown) => {
      rejectedEarly.add(context.taskId);
      throw error;
    });
    return null;
  },
});

const submitsChildWhenLetGo = defineTask({
  type: 'test_submits_child_when_let_go',
  description: 'submits a child once its gate opens, and returns once the child is submitted',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    await gates.wait(`parent:${context.taskId}`);
    await context.submitChild('held', runsUntilCancelled.type, {});
    return null;
  },
});

let refusing: http.Server;

beforeAll(async () => {
  database = await createTestDatabase();
  // A port that was just free: nothing listens on it once this server is closed.
  refusing = http.createServer();
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', () => resolve()));
  refusedUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/`;
  await new Promise<void>((resolve) => refusing.close(() => resolve()));
  engine = await startTestEngine(database, [throwsOddValue, fetchesRefused, requestsRefused, stepReturnsNul, stepReturnsCleanJson, badDuration, nulMessage, ignoresSoftTimeout, cancelsItselfThenParks, cancelsItselfThenFails, childOfCancelled, submitsAfterCancel, submitsTaskAfterCancel, runsUntilCancelled, submitsChildWhenLetGo, admittedLate, rejectsWhileChildOnItsWay]);
  await engine.startWorker({ concurrency: 8, pollIntervalMs: 100 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

it('fails a task whose handler throws an object String() cannot convert, and the worker lives on', async () => {
  const { task } = await engine.submit({ taskType: throwsOddValue.type, input: {} });
  const failed = await waitForStatus(engine, task.id, ['failed']);
  expect(failed.attempts).toBe(2);
  expect(failed.error).toMatchObject({ code: 'internal_error', retryable: true });
  expect(String((failed.error as { message: string }).message)).toContain('no prototype');
});

it('spends an attempt when a handler\'s own HTTP call is refused, instead of taking it for the database going away', async () => {
  const { task } = await engine.submit({ taskType: fetchesRefused.type, input: {} });
  const failed = await waitForStatus(engine, task.id, ['failed']);
  expect(failed.attempts).toBe(2);
  expect(handlerRuns.get(task.id)).toBe(2);
  expect(failed.error).toMatchObject({ message: 'fetch failed' });
});

it('spends an attempt when a handler\'s node:http call is refused (a bare ECONNREFUSED) while the database answers', async () => {
  const { task } = await engine.submit({ taskType: requestsRefused.type, input: {} });
  const failed = await waitForStatus(engine, task.id, ['failed']);
  expect(failed.attempts).toBe(2);
  expect(handlerRuns.get(task.id)).toBe(2);
  expect((failed.error as { message: string }).message).toContain('ECONNREFUSED');
  const requeued = (await engine.readEvents({ taskId: task.id })).filter((event) => event.type === 'task_queued');
  expect(requeued).toHaveLength(1);
});

it('fails a task whose step returns a value jsonb refuses, at once and saying where, instead of redoing the step each attempt', async () => {
  const { task } = await engine.submit({ taskType: stepReturnsNul.type, input: {} });
  const failed = await waitForStatus(engine, task.id, ['failed']);
  expect(handlerRuns.get(task.id)).toBe(1);
  expect(failed.attempts).toBe(1);
  expect(failed.error).toMatchObject({ code: 'step_not_stored', retryable: false, details: { step: 'answer', path: 'items.0.content' } });
  expect((failed.error as { message: string }).message).toContain('NUL characters');
});

it('stores a step value whose JSON is storable, whatever the value held before its toJSON', async () => {
  const { task } = await engine.submit({ taskType: stepReturnsCleanJson.type, input: {} });
  const completed = await waitForStatus(engine, task.id, ['completed', 'failed']);
  expect(completed.result).toEqual({ kept: 'text', raw: 'cleaned' });
});

it('fails at once, naming the call, a sleep, wait deadline, snooze or progress that is no finite number or is past ten years', async () => {
  for (const [call, text] of [
    ['sleep', 'sleep needs a finite delay'], ['waitFor', 'waitFor needs a timeoutMs from 0'], ['progress', 'progress needs a finite percentage'],
    ['long sleep', '(ten years), got 10000000000000000'], ['long waitFor', '(ten years; leave it out to wait without one), got 10000000000000000'], ['long snooze', 'snooze needs a delay from 0 ms to'],
  ] as const) {
    const { task } = await engine.submit({ taskType: badDuration.type, input: { call } });
    const failed = await waitForStatus(engine, task.id, ['failed']);
    expect(failed.attempts).toBe(1);
    expect(failed.error).toMatchObject({ code: 'validation_failed', retryable: false });
    expect((failed.error as { message: string }).message).toContain(text);
  }
});

it('cancels a child whose submit was on its way when its parent heard the cancel and rejected', async () => {
  const { task } = await engine.submit({ taskType: rejectsWhileChildOnItsWay.type, input: {}, tenant: 'late-child' });
  const letAdmissionGo = await gates.reached('admit:late-child');
  await engine.cancel(task.id, { tenant: 'late-child' });
  await eventually(async () => rejectedEarly.has(task.id));
  // The handler has rejected; its child's submit is still held in the child's admission. An
  // attempt recorded without waiting for it ends its parent now, before the child exists: give it
  // the time to (a second), then let the child's submit go.
  await Promise.race([waitForStatus(engine, task.id, ['cancelled', 'completed', 'failed']), sleep(1_000)]);
  letAdmissionGo();
  expect((await waitForStatus(engine, task.id, ['cancelled', 'completed', 'failed'])).status).toBe('cancelled');
  const child = await eventually(async () => (await database.pool.query<{ id: string }>('SELECT id FROM tasks WHERE parent_task_id = $1', [task.id])).rows[0]);
  expect((await waitForStatus(engine, child.id, ['cancelled', 'completed', 'failed'])).status).toBe('cancelled');
});

it('stores a retry whose error message jsonb would refuse, and the task goes on', async () => {
  const { task } = await engine.submit({ taskType: nulMessage.type, input: {} });
  const completed = await waitForStatus(engine, task.id, ['completed']);
  expect(completed.attempts).toBe(2);
  const retrying = (await engine.readEvents({ taskId: task.id })).filter((event) => event.type === 'task_retrying');
  expect(retrying).toHaveLength(1);
  expect((retrying[0]!.payload as { error: { message: string } }).error.message).toBe('model said "ab" and \ufffd alone');
});

it('ends a task cancelled after its soft timeout cancelled, not completed', async () => {
  const { task } = await engine.submit({ taskType: ignoresSoftTimeout.type, input: {} });
  await waitForStatus(engine, task.id, ['running']);
  await new Promise((resolve) => setTimeout(resolve, 400));
  await engine.cancel(task.id);
  const ended = await waitForStatus(engine, task.id, ['cancelled', 'completed']);
  expect(ended.status).toBe('cancelled');
  expect(ended.result).toEqual({ finished: true });
});

it('ends cancelled every task whose cancel lands as it parks, and leaves no wait pending', async () => {
  const submitted = await Promise.all(Array.from({ length: 20 }, () => engine.submit({ taskType: cancelsItselfThenParks.type, input: {} })));
  for (const { task } of submitted) {
    const ended = await waitForStatus(engine, task.id, ['cancelled'], 10_000);
    expect(ended.status).toBe('cancelled');
  }
  const pending = await database.pool.query('SELECT 1 FROM waitpoints WHERE task_id = ANY($1::uuid[]) AND status = $2', [submitted.map(({ task }) => task.id), 'pending']);
  expect(pending.rowCount).toBe(0);
});

it('ends cancelled at once a task whose cancel lands as it fails, instead of after its backoff', async () => {
  const submitted = await Promise.all(Array.from({ length: 20 }, () => engine.submit({ taskType: cancelsItselfThenFails.type, input: {} })));
  for (const { task } of submitted) expect((await waitForStatus(engine, task.id, ['cancelled'], 10_000)).status).toBe('cancelled');
});

it('refuses a child submitted by a task already cancelled', async () => {
  const { task } = await engine.submit({ taskType: submitsAfterCancel.type, input: {} });
  await waitForStatus(engine, task.id, ['cancelled']);
  const children = await database.pool.query('SELECT 1 FROM tasks WHERE parent_task_id = $1', [task.id]);
  expect(children.rowCount).toBe(0);
});

it('refuses a task a cancelled task submits of its own, which no cancel would reach', async () => {
  const { task } = await engine.submit({ taskType: submitsTaskAfterCancel.type, input: {} });
  await waitForStatus(engine, task.id, ['cancelled']);
  const submitted = await database.pool.query('SELECT 1 FROM tasks WHERE idempotency_key = $1', [`after-cancel:${task.id}`]);
  expect(submitted.rowCount).toBe(0);
});

it('cancels a child whose submit committed after its parent\'s cancel had listed the children', async () => {
  const { task: parent } = await engine.submit({ taskType: submitsChildWhenLetGo.type, input: {} });
  // Another transaction inserting the child's idempotency key holds the child's insert, so that
  // it commits after the cancel below has listed the parent's children and found none.
  const blocker = await database.pool.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query(
      `INSERT INTO tasks (id, tenant, task_type, queue, priority, status, input, max_attempts, idempotency_key)
       VALUES (gen_random_uuid(), 'default', $1, 'default', 5, 'queued', '{}', 1, $2)`,
      [runsUntilCancelled.type, `child:${parent.id}:held`],
    );
    await gates.open(`parent:${parent.id}`);
    await eventually(async () => (await database.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO tasks%'`)).rowCount === 1);
    expect(await engine.cancel(parent.id)).toMatchObject({ status: 'running' });
    expect((await database.pool.query('SELECT 1 FROM tasks WHERE parent_task_id = $1', [parent.id])).rowCount).toBe(0);
    await blocker.query('ROLLBACK');
  } finally {
    await blocker.query('ROLLBACK').catch(() => {});
    blocker.release();
  }
  expect((await waitForStatus(engine, parent.id, ['cancelled', 'completed'])).status).toBe('cancelled');
  const child = await eventually(async () => (await database.pool.query<{ id: string }>('SELECT id FROM tasks WHERE parent_task_id = $1', [parent.id])).rows[0]);
  try {
    const ended = await waitForStatus(engine, child.id, ['cancelled', 'completed'], 10_000);
    expect(ended.status).toBe('cancelled');
  } finally {
    if (gates.isReached(`child:${child.id}`)) await gates.open(`child:${child.id}`);
  }
});

it('records a result the database refuses as outcome_not_stored without holding up the worker\'s claims', async () => {
  const own = await createTestDatabase();
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const refusedResult = defineTask({
    type: 'test_refused_result',
    description: 'every third returns a string jsonb refuses',
    queue: 'default',
    input: z.object({ n: z.number().int() }),
    async run(context) {
      return context.input.n % 3 === 0 ? { text: 'a\u0000b' } : { n: context.input.n };
    },
  });
  const other = await Engine.start({ url: own.url, pool: own.pool, logger, taskTypes: [refusedResult], maintenance: false, schedules: false });
  try {
    await other.startWorker({ concurrency: 4, pollIntervalMs: 100 });
    const submitted = await Promise.all(Array.from({ length: 30 }, (_, n) => other.submit({ taskType: refusedResult.type, input: { n } })));
    for (const [n, { task }] of submitted.entries()) {
      const ended = await waitForStatus(other, task.id, ['completed', 'failed']);
      if (n % 3 === 0) expect(ended).toMatchObject({ status: 'failed', error: { code: 'outcome_not_stored' } });
      else expect(ended).toMatchObject({ status: 'completed', result: { n } });
    }
    expect(warnings.filter((line) => line.includes('claiming tasks failed'))).toEqual([]);
  } finally {
    await other.stop({ graceMs: 500 });
    await own.drop();
  }
});

it('starts a claim\'s tasks though its clean-up of a cancelled row fails, and ends that task once the clean-up can be written', async () => {
  const own = await createTestDatabase();
  const noop = defineTask({ type: 'test_discard_noop', description: 'returns at once', queue: 'default', input: z.object({}), async run() { return { done: true }; } });
  const other = await startTestEngine(own, [noop], { heartbeatSeconds: 1 });
  try {
    // A task between workers with its cancel requested (what a dead worker's task looks like
    // once its lease lapsed and someone asked to cancel it), queued ahead of a plain task.
    const { task: doomed } = await other.submit({ taskType: noop.type, input: {} });
    await own.pool.query(`DELETE FROM task_queue WHERE task_id = $1`, [doomed.id]);
    await own.pool.query(`UPDATE tasks SET status = 'running', attempts = 1, cancel_requested_at = now() WHERE id = $1`, [doomed.id]);
    await own.pool.query(`INSERT INTO task_queue (task_id, queue, priority, run_at) VALUES ($1, 'default', 100, now())`, [doomed.id]);
    // The claim's clean-up writes the cancel: refused, as a database in trouble would.
    await own.pool.query(`CREATE FUNCTION refuse_cancel() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$`);
    await own.pool.query(`CREATE TRIGGER refuse_cancel BEFORE UPDATE ON tasks FOR EACH ROW WHEN (NEW.status = 'cancelled') EXECUTE FUNCTION refuse_cancel()`);
    const { task: plain } = await other.submit({ taskType: noop.type, input: {} });
    await other.startWorker({ concurrency: 4, pollIntervalMs: 100 });
    const completed = await waitForStatus(other, plain.id, ['completed']);
    // Started by the claim that took it, not again after its lease lapsed.
    expect(completed.attempts).toBe(1);
    await own.pool.query('DROP TRIGGER refuse_cancel ON tasks');
    expect((await waitForStatus(other, doomed.id, ['cancelled'], 15_000)).status).toBe('cancelled');
  } finally {
    await other.stop({ graceMs: 500 });
    await own.drop();
  }
});

it('cancels at once a running task that no attempt holds', async () => {
  const { task } = await engine.submit({ taskType: childOfCancelled.type, input: {} });
  await waitForStatus(engine, task.id, ['completed']);
  // What a task whose worker died looks like once its lease lapsed: running, no lease, queued.
  await database.pool.query(`UPDATE tasks SET status = 'running', lease = NULL, completed_at = NULL WHERE id = $1`, [task.id]);
  const answer = await engine.cancel(task.id);
  expect(answer).toMatchObject({ previous_state: 'running', status: 'cancelled' });
  expect((await engine.getTask(task.id)).status).toBe('cancelled');
});
