import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { isTaskloomError } from '../../src/errors.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, waitForStatus } from '../support/engine.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  engine = await startTestEngine(database, [sleepTask, ...testTaskTypes]);
  await engine.startWorker({ concurrency: 4, pollIntervalMs: 500 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

async function eventTypes(taskId: string): Promise<string[]> {
  return (await engine.readEvents({ taskId })).map((event) => event.type);
}

async function countRows(table: string): Promise<number> {
  const result = await database.pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM ${table}`);
  return result.rows[0]!.count;
}

describe('task lifecycle', () => {
  it('runs a sleep task from queued through running to completed, with progress per step', async () => {
    const { task, created } = await engine.submit({ taskType: 'sleep', input: { ms: 200, steps: 4 }, projectId: 'project-1' });
    expect(created).toBe(true);
    // Running already when the worker was idle (eager start); its events show the whole way.
    expect(['queued', 'running']).toContain(task.status);
    expect(task.queue).toBe('default');
    expect(task.priority).toBe(5);
    const done = await waitForStatus(engine, task.id, ['completed']);
    expect(done.progress).toBe(100);
    expect(done.attempts).toBe(1);
    expect(done.result).toMatchObject({ steps: 4 });
    expect(done.started_at).not.toBeNull();
    expect(done.completed_at).not.toBeNull();
    expect(done.project_id).toBe('project-1');
    expect(await eventTypes(task.id)).toEqual(['task_queued', 'task_started', 'task_progress', 'task_progress', 'task_progress', 'task_progress', 'task_completed']);
    const progress = (await engine.readEvents({ taskId: task.id })).filter((event) => event.type === 'task_progress').map((event) => event.payload.progress);
    expect(progress).toEqual([25, 50, 75, 100]);
  });

  it('retries with exponential backoff, then succeeds', async () => {
    const { task } = await engine.submit({ taskType: 'test_flaky', input: { failures: 2 } });
    const done = await waitForStatus(engine, task.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(3);
    expect(done.result).toEqual({ succeededOnAttempt: 3 });
    const events = await engine.readEvents({ taskId: task.id });
    const retries = events.filter((event) => event.type === 'task_retrying');
    expect(retries).toHaveLength(2);
    const delays = retries.map((event) => event.payload.delay_ms as number);
    // attempt 1: [25, 50] ms, attempt 2: [50, 100] ms (base 50 ms, doubling, half jitter).
    expect(delays[0]).toBeGreaterThanOrEqual(25);
    expect(delays[0]).toBeLessThanOrEqual(50);
    expect(delays[1]).toBeGreaterThanOrEqual(50);
    expect(delays[1]).toBeLessThanOrEqual(100);
    expect(events.map((event) => event.type)).toEqual(['task_queued', 'task_started', 'task_retrying', 'task_started', 'task_retrying', 'task_started', 'task_completed']);
  });

  it('passes through the retrying status and fails when attempts run out', async () => {
    const { task } = await engine.submit({ taskType: 'test_flaky', input: { failures: 10 } });
    const seen = new Set<string>();
    const done = await (async () => {
      for (;;) {
        const current = await engine.getTask(task.id);
        seen.add(current.status);
        if (current.status === 'failed') return current;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    expect(seen.has('retrying')).toBe(true);
    expect(done.attempts).toBe(4);
    expect(done.error).toMatchObject({ code: 'internal_error', message: 'planned failure 4', attempt: 4 });
  });

  it('fails at once on a non-retryable error', async () => {
    const { task } = await engine.submit({ taskType: 'test_permanent', input: {} });
    const done = await waitForStatus(engine, task.id, ['failed']);
    expect(done.attempts).toBe(1);
    expect(done.error).toMatchObject({ code: 'permanent_failure', retryable: false });
    expect(await eventTypes(task.id)).toEqual(['task_queued', 'task_started', 'task_failed']);
  });

  it('stops an attempt at its hard timeout and fails when no attempts remain', async () => {
    const { task } = await engine.submit({ taskType: 'test_hard_timeout', input: { hangEveryAttempt: true } });
    const done = await waitForStatus(engine, task.id, ['failed']);
    expect(done.attempts).toBe(2);
    expect(done.error).toMatchObject({ code: 'hard_timeout' });
    expect(await eventTypes(task.id)).toEqual(['task_queued', 'task_started', 'task_retrying', 'task_started', 'task_failed']);
  });

  it('returns the same task for the same idempotency key', async () => {
    const first = await engine.submit({ taskType: 'sleep', input: { ms: 0 }, idempotencyKey: 'order-42' });
    const second = await engine.submit({ taskType: 'sleep', input: { ms: 0 }, idempotencyKey: 'order-42' });
    expect(second.created).toBe(false);
    expect(second.task.id).toBe(first.task.id);
    const other = await engine.submit({ taskType: 'sleep', input: { ms: 0 }, idempotencyKey: 'order-42', tenant: 'another-tenant' });
    expect(other.task.id).not.toBe(first.task.id);
    // A key its index cannot hold (past ~2,700 bytes) is refused saying so, not as the index's error.
    for (const idempotencyKey of ['', 'é'.repeat(600)]) {
      const refused = await engine.submit({ taskType: 'sleep', input: { ms: 0 }, idempotencyKey }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'validation_failed', message: expect.stringContaining('An idempotency key must be 1 to 1000 bytes long') });
    }
  });

  it('commits submits made together in one transaction, as a fan-out makes them', async () => {
    const submitted = await Promise.all(Array.from({ length: 30 }, (_unused, index) => engine.submit({ taskType: 'sleep', input: { ms: 0 }, projectId: `together-${index}` })));
    // now() is the transaction's start: one value for the thirty rows means one commit.
    const created = await database.pool.query<{ commits: number }>('SELECT count(DISTINCT created_at)::int AS commits FROM tasks WHERE id = ANY($1::uuid[])', [submitted.map(({ task }) => task.id)]);
    expect(created.rows[0]!.commits).toBe(1);
  });

  it('rejects invalid input and unknown task types with clear errors, writing nothing', async () => {
    // Let earlier tests' tasks finish so the counts below move only if a rejected submit writes.
    await eventually(async () => (await database.pool.query(`SELECT 1 FROM tasks WHERE status IN ('queued', 'running', 'retrying')`)).rowCount === 0);
    const tasksBefore = await countRows('tasks');
    const queuedBefore = await countRows('task_queue');
    const eventsBefore = await countRows('task_events');
    const invalid = await engine.submit({ taskType: 'sleep', input: { ms: 'soon', steps: 0 } }).catch((error: unknown) => error);
    expect(isTaskloomError(invalid) && invalid.code).toBe('validation_failed');
    expect((invalid as Error).message).toContain('ms');
    expect((invalid as { details: { issues: Array<{ path: string }> } }).details.issues.map((issue) => issue.path).sort()).toEqual(['ms', 'steps']);
    const unknownField = await engine.submit({ taskType: 'sleep', input: { ms: 1, surprise: true } }).catch((error: unknown) => error);
    expect(isTaskloomError(unknownField) && unknownField.code).toBe('validation_failed');
    const unknown = await engine.submit({ taskType: 'no_such_type', input: {} }).catch((error: unknown) => error);
    expect(isTaskloomError(unknown) && unknown.code).toBe('unknown_task_type');
    expect((unknown as Error).message).toContain('sleep');
    expect(await countRows('tasks')).toBe(tasksBefore);
    expect(await countRows('task_queue')).toBe(queuedBefore);
    expect(await countRows('task_events')).toBe(eventsBefore);
  });

  it('starts with a task type whose input schema throws on an empty input, and runs its good input', async () => {
    // The engine parses an empty input with every type's schema as it starts (compiling them
    // ahead of the first submit); a schema whose own code throws on that must not stop it.
    const touchy = defineTask({
      type: 'test_touchy_schema',
      description: 'an input schema whose preprocessing throws on a missing field',
      queue: 'default',
      input: z.preprocess((value) => {
        if (typeof (value as { word?: unknown }).word !== 'string') throw new TypeError('word is missing');
        return value;
      }, z.object({ word: z.string() })),
      run: async (context) => ({ echoed: context.input.word }),
    });
    // A database of its own: this file's worker would claim the task and not know its type.
    const own = await createTestDatabase();
    const other = await startTestEngine(own, [touchy]);
    try {
      await other.startWorker({ concurrency: 1, pollIntervalMs: 100 });
      const { task } = await other.submit({ taskType: 'test_touchy_schema', input: { word: 'hello' } });
      expect((await waitForStatus(other, task.id, ['completed', 'failed'])).result).toEqual({ echoed: 'hello' });
    } finally {
      await other.stop({ graceMs: 500 });
      await own.drop();
    }
  });

  it('says so when asked to cancel a finished task', async () => {
    const { task } = await engine.submit({ taskType: 'sleep', input: { ms: 0 } });
    const finished = await waitForStatus(engine, task.id, ['completed']);
    const again = await engine.cancel(finished.id);
    expect(again).toMatchObject({ previous_state: 'completed', status: 'completed' });
    expect(again.message).toContain('already completed');
  });

  it('takes a task\'s events and steps with it when the task is deleted', async () => {
    const { task } = await engine.submit({ taskType: 'sleep', input: { ms: 0, steps: 2 } });
    await waitForStatus(engine, task.id, ['completed']);
    const other = await engine.submit({ taskType: 'sleep', input: { ms: 0 } });
    await waitForStatus(engine, other.task.id, ['completed']);
    const rows = async (table: string, taskId: string): Promise<number> =>
      (await database.pool.query(`SELECT 1 FROM ${table} WHERE task_id = $1`, [taskId])).rowCount ?? 0;
    expect(await rows('task_events', task.id)).toBeGreaterThan(0);
    expect(await rows('task_steps', task.id)).toBe(2);
    await database.pool.query('DELETE FROM tasks WHERE id = $1', [task.id]);
    expect(await rows('task_events', task.id)).toBe(0);
    expect(await rows('task_steps', task.id)).toBe(0);
    expect(await rows('task_events', other.task.id)).toBeGreaterThan(0);
  });
});
