/**
 * The context handed to a running task: its input, signal, checkpointed steps, progress and
 * events. Every write is fenced by the attempt's lease, so an attempt that lost the task (its
 * heartbeat lapsed and another worker resumed it) fails with LeaseLostError instead of writing.
 */
import { withTransaction, type Pool, type PoolClient, type Queryable } from '../db/pool.ts';
import { LeaseLostError, TaskloomError, ValidationError } from '../errors.ts';
import { unstorablePart } from '../db/storable.ts';
import type { Logger } from '../logger.ts';
import { jsonSchema } from '../json-schema.ts';
import type { ZodType } from 'zod';
import { abortReason, TaskAbortedError } from './abort.ts';
import { SnoozeRequested, TaskSuspended } from './control-flow.ts';
import { describeIssues } from './submit.ts';
import { appendEvents, deferEvents, discardDeferredEvents, eventArrays, eventsInsert, eventsNotified, takeDeferredEvents, type NewEvent } from './event-log.ts';
import type { ChildOptions, ChildOutcome, StepOptions, StepScope, TaskContext, WaitForOptions, WaitOutcome } from './task-definition.ts';
import { terminalStatuses, type TaskRecord } from './task-store.ts';
import { completeWaitpointByCheck, createWaitpoint, findWaitpoint, type WaitpointKind, type WaitpointRecord } from './waitpoints.ts';

export interface ContextDependencies {
  pool: Pool;
  logger: Logger;
  submit: (request: { taskType: string; input: unknown; tenant: string; projectId?: string; idempotencyKey?: string; parentTaskId?: string; priority?: number }) => Promise<{ task: TaskRecord }>;
  /**
   * Holds a pending `children` wait in the attempt for a while (wait-hold.ts): true when it
   * resolved meanwhile, so the handler goes on instead of parking. Absent: it parks at once.
   */
  holdChildrenWait?: (waitpoint: WaitpointRecord, signal: AbortSignal) => Promise<boolean>;
  /**
   * The least the engine would wait before retrying this attempt (its backoff without jitter).
   * Asked for only by a handler that reads it: not worked out at every task's start.
   */
  shortestRetryDelayMs: () => number;
}

/** Takes a share lock on the task row if this attempt still holds it; throws otherwise. */
async function assertLease(transaction: PoolClient, task: TaskRecord): Promise<void> {
  const held = await transaction.query('SELECT 1 FROM tasks WHERE id = $1 AND lease = $2 FOR SHARE', [task.id, task.lease]);
  if (held.rowCount === 0) throw new LeaseLostError(task.id, task.attempts);
}

export async function loadCompletedSteps(pool: Pool, taskId: string): Promise<Map<string, unknown>> {
  const result = await pool.query<{ key: string; result: unknown }>('SELECT key, result FROM task_steps WHERE task_id = $1', [taskId]);
  return new Map(result.rows.map((row) => [row.key, row.result]));
}

/**
 * A wait's payload through the handler's schema. A completion from outside was checked against
 * the schema's JSON Schema, which holds no refinement or transform: one the schema itself refuses
 * fails the task with what is wrong, not with an opaque error retried to the last attempt.
 */
function parsePayload<Payload, Input>(key: string, schema: ZodType<Payload, Input>, payload: unknown): Payload {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issues = describeIssues(parsed.error);
  throw new ValidationError(`The payload that completed wait "${key}" does not match the handler's schema (${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}); a completion is checked against its JSON Schema, which cannot hold refinements or transforms.`, { key, issues });
}

/**
 * The longest a task may snooze, sleep or wait with a timeout: ten years. Its due time is stored
 * as a timestamp, and a delay past PostgreSQL's range (1e16 ms) failed the statement that parked
 * the task, and every outcome written with it.
 */
const maxWaitMs = 10 * 365 * 24 * 3_600_000;

/**
 * A progress report: the task's progress, fenced by the lease, and its `task_progress` event in
 * one statement (one round trip and one short hold of the event-order lock, where a transaction
 * took four round trips holding it), planned once per connection.
 */
const progressStatement = `WITH updated AS (
       UPDATE tasks SET progress = $3, progress_message = $4, updated_at = now() WHERE id = $1 AND lease = $2
       RETURNING id, tenant, project_id
     ), announced AS (
       ${eventsInsert(`SELECT id AS task_id, tenant, project_id, 'task_progress' AS type, $5::jsonb AS payload FROM updated`)}
     )
     SELECT count(*)::int AS updated, ${eventsNotified('announced')} AS notified FROM updated`;

/**
 * A step's checkpoint in one statement, planned once per connection: the lease fence (a share
 * lock on the task row, taken before the event-order lock as every writer does), the stored
 * result, and the step's events (with any a pipeline's `save` appended). Without a `save` it runs
 * on its own: one round trip, and the event-order lock held from the insert to the commit only,
 * where a transaction took five round trips and held it for the last two. `stored` is 0 when the
 * attempt no longer holds its task.
 */
const stepStatement = `WITH fenced AS (
       SELECT id FROM tasks WHERE id = $1 AND lease = $2 FOR SHARE
     ), stored AS (
       INSERT INTO task_steps (task_id, key, result, attempt, duration_ms)
       SELECT id, $3, $4::jsonb, $5, $6 FROM fenced
       RETURNING task_id
     ), announced AS (
       ${eventsInsert(`SELECT event.task_id, event.tenant, event.project_id, event.type, event.payload
         FROM stored CROSS JOIN unnest($7::uuid[], $8::text[], $9::text[], $10::text[], $11::jsonb[]) AS event (task_id, tenant, project_id, type, payload)`)}
     )
     SELECT count(*)::int AS stored, ${eventsNotified('announced')} AS notified FROM stored`;

/** A task's context, and what its worker waits for before recording the attempt's outcome. */
export interface AttemptContext<Input> {
  context: TaskContext<Input>;
  /**
   * Resolves once the step checkpoints the context had under way have committed or failed. The
   * worker records an attempt's outcome only after them: a step whose work was done and whose
   * transaction was on its way when the handler threw (a section failing while the outline it was
   * built on commits, `pipelinedStep`) would otherwise race the settle, lose its lease fence now
   * and then, and leave nothing of a step that did its work. Undefined when none is under way, so
   * the common case costs no await.
   */
  stepCommitsSettled: () => Promise<unknown> | undefined;
}

export function createTaskContext<Input>(
  dependencies: ContextDependencies,
  task: TaskRecord,
  input: Input,
  signal: AbortSignal,
  loadSteps: () => Promise<Map<string, unknown>>,
): AttemptContext<Input> {
  // Loaded on the first step: tasks that never checkpoint pay nothing for it.
  let loading: Promise<Map<string, unknown>> | undefined;
  // Made on first use: a child logger is a few microseconds and an object to collect, at every
  // task's start, for handlers that mostly never log.
  let logger: Logger | undefined;
  const event = (type: string, payload: Record<string, unknown>): NewEvent => ({ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type, payload });
  const runningSteps = new Set<string>();
  /**
   * Writes under way for the handler (checkpoints, children being submitted, waitpoints being
   * recorded): awaited before the attempt's outcome is recorded (stepCommitsSettled). A handler
   * that rejects while one is on its way (a Promise.all another part of which failed, a race
   * over two waits, a cancel heard) must not settle before the write lands: a child the cancel's
   * listing missed would run to its end, a waitpoint inserted after the settle stays pending.
   */
  const committing = new Set<Promise<void>>();
  const settledBeforeOutcome = async <Result>(work: Promise<Result>): Promise<Result> => {
    const settled = work.then(() => undefined, () => undefined);
    committing.add(settled);
    try {
      return await work;
    } finally {
      committing.delete(settled);
    }
  };

  /** The waitpoint for `key`, created (fenced by the lease) when this is the first time through. */
  const waitpointFor = (key: string, create: { kind: WaitpointKind; schema?: Record<string, unknown> | null; timeoutAt?: Date | null; children?: string[] }): Promise<WaitpointRecord> => settledBeforeOutcome((async () => {
    const existing = await findWaitpoint(dependencies.pool, task.id, key);
    if (existing) return existing;
    return withTransaction(dependencies.pool, async (transaction) => {
      // The share lock on the task row first: a child settling meanwhile (which locks this row
      // to resolve a children wait) then either committed before the check below or resolves
      // the waitpoint inserted here after this commits.
      await assertLease(transaction, task);
      let status: 'pending' | 'completed' = 'pending';
      if (create.kind === 'children') {
        const unsettled = await transaction.query('SELECT 1 FROM tasks WHERE id = ANY($1::uuid[]) AND status <> ALL($2::text[]) LIMIT 1', [create.children, terminalStatuses]);
        if ((unsettled.rowCount ?? 0) === 0) status = 'completed';
      }
      if (create.kind === 'timer' && create.timeoutAt && create.timeoutAt.getTime() <= Date.now()) status = 'completed';
      return createWaitpoint(transaction, task, { key, ...create, status });
    });
  })());

  /** Returns when resolved; parks the task (throws TaskSuspended) while pending. */
  const settledOrPark = (waitpoint: WaitpointRecord): WaitpointRecord => {
    if (waitpoint.status === 'pending') throw new TaskSuspended(waitpoint.id, waitpoint.key);
    // Cancelled with its task: the task is being cancelled, so stop like any cancelled handler.
    if (waitpoint.status === 'cancelled') throw new TaskAbortedError('cancelled');
    return waitpoint;
  };

  const childOutcomes = async (taskIds: string[]): Promise<ChildOutcome[]> => {
    const rows = await dependencies.pool.query<{ id: string; status: ChildOutcome['status']; result: unknown; error: unknown }>(
      'SELECT id, status, result, error FROM tasks WHERE id = ANY($1::uuid[])',
      [taskIds],
    );
    const byId = new Map(rows.rows.map((row) => [row.id, row]));
    return taskIds.map((taskId) => {
      const row = byId.get(taskId);
      if (!row) throw new ValidationError(`child task ${taskId} of task ${task.id} does not exist`);
      return { taskId, status: row.status, result: row.result, error: row.error };
    });
  };

  /**
   * A task starts no more work once it was cancelled (its children listed at the cancel are
   * cancelled with it, and one submitted after that would run to its end), nor once its attempt
   * is over: a handler that ignored its hard timeout, or lost its lease, runs on in this process
   * (nothing can stop JavaScript), but what it starts must not land for an attempt that ended.
   */
  const refuseNewWork = (): void => {
    const reason = abortReason(signal);
    if (reason === 'cancelled' || reason === 'hard_timeout' || reason === 'lease_lost') throw signal.reason;
  };

  const submitChild = async (key: string, taskType: string, childInput: unknown, options: ChildOptions = {}): Promise<{ taskId: string }> => {
    refuseNewWork();
    const submitting = dependencies.submit({
      taskType,
      input: childInput,
      tenant: task.tenant,
      projectId: options.projectId ?? task.project_id ?? undefined,
      // Once per parent and key: a replayed or crashed parent finds its child instead of making another.
      idempotencyKey: `child:${task.id}:${key}`,
      parentTaskId: task.id,
      ...(options.priority === undefined ? {} : { priority: options.priority }),
    });
    return { taskId: (await settledBeforeOutcome(submitting)).task.id };
  };

  /** A children wait as it stands after the hold the worker allows, if it allows one. */
  const heldChildrenWait = async (waitpoint: WaitpointRecord): Promise<WaitpointRecord> => {
    if (waitpoint.status !== 'pending' || !dependencies.holdChildrenWait) return waitpoint;
    if (!(await dependencies.holdChildrenWait(waitpoint, signal))) return waitpoint;
    return (await findWaitpoint(dependencies.pool, task.id, waitpoint.key)) ?? waitpoint;
  };

  const waitForChildren = async (key: string, taskIds: string[]): Promise<ChildOutcome[]> => {
    if (taskIds.length === 0) return [];
    settledOrPark(await heldChildrenWait(await waitpointFor(key, { kind: 'children', children: taskIds })));
    return childOutcomes(taskIds);
  };

  const waitForInput = async <Payload, Input>(key: string, options: WaitForOptions<Payload, Input>): Promise<WaitOutcome<Payload>> => {
    if (options.timeoutMs !== undefined && (!Number.isFinite(options.timeoutMs) || options.timeoutMs < 0 || options.timeoutMs > maxWaitMs)) {
      throw new ValidationError(`waitFor needs a timeoutMs from 0 to ${maxWaitMs} ms (ten years; leave it out to wait without one), got ${options.timeoutMs}`);
    }
    const timeoutAt = options.timeoutMs === undefined ? null : new Date(Date.now() + options.timeoutMs);
    let registered = await waitpointFor(key, { kind: 'input', schema: options.schema ? jsonSchema(options.schema, 'input') : null, timeoutAt });
    // Register the wait, then check: the waitpoint is committed before the check reads, so a
    // completion committing after that read finds it pending and wakes the task the normal way
    // (the park then sees it resolved and requeues at once). Also run when a crashed attempt
    // left the waitpoint pending: the condition may have come true while no one was parked.
    if (registered.status === 'pending' && options.check) {
      const held = await options.check();
      if (held) {
        // Checked, and stored as given, as a completion from outside is: the schema's output
        // (after a transform) is what the handler gets, parsed once, below.
        if (options.schema) parsePayload(key, options.schema, held.payload);
        const payload = held.payload;
        const pending = registered;
        registered = await withTransaction(dependencies.pool, async (transaction) => {
          await assertLease(transaction, task);
          return (await completeWaitpointByCheck(transaction, pending.id, payload)) ?? (await findWaitpoint(transaction, task.id, key))!;
        });
      }
    }
    const waitpoint = settledOrPark(registered);
    if (waitpoint.status === 'timed_out') return { status: 'timed_out' };
    const payload = options.schema ? parsePayload(key, options.schema, waitpoint.payload) : (waitpoint.payload as Payload);
    return { status: 'completed', payload, completedBy: waitpoint.completed_by };
  };

  const submitAndWait = async (key: string, requests: Array<{ taskType: string; input: unknown; options?: ChildOptions }>): Promise<ChildOutcome[]> => {
    if (requests.length === 0) return [];
    // A replay (the task resumed when its children settled) finds the wait it registered with
    // their ids, rather than submitting every child again only to get each one back.
    const registered = await findWaitpoint(dependencies.pool, task.id, key);
    if (registered?.kind === 'children' && registered.children) {
      settledOrPark(await heldChildrenWait(registered));
      return childOutcomes(registered.children);
    }
    // Submitted together: the engine's group commit writes them in one transaction.
    const children = await Promise.all(requests.map((request, index) => submitChild(`${key}:${index}`, request.taskType, request.input, request.options)));
    return waitForChildren(key, children.map((child) => child.taskId));
  };

  /**
   * The wait this attempt is awaiting, if any. A task waits for one thing at a time: it parks on
   * the first wait that is pending and resumes once none is, so of two waits raced, the one that
   * resolves first woke nothing while the other stayed pending (the task sat `waiting` for good).
   * A second wait started meanwhile is refused instead, saying what to do.
   */
  let awaiting: string | undefined;
  const oneWaitAtATime = async <Result>(method: string, key: string, wait: () => Promise<Result>): Promise<Result> => {
    if (awaiting !== undefined) {
      throw new ValidationError(`context.${method}("${key}") was called while "${awaiting}" is still awaited: a task waits for one thing at a time (Promise.race or Promise.all over waits is not supported). Give waitFor a timeoutMs for a deadline, or wait for one input whose payload says which way it went.`, { key, awaiting });
    }
    awaiting = key;
    try {
      return await wait();
    } finally {
      awaiting = undefined;
    }
  };

  const context: TaskContext<Input> = {
    taskId: task.id,
    taskType: task.task_type,
    tenant: task.tenant,
    projectId: task.project_id,
    input,
    attempt: task.attempts,
    maxAttempts: task.max_attempts,
    willRetry: task.attempts < task.max_attempts,
    get shortestRetryDelayMs() {
      return task.attempts < task.max_attempts ? dependencies.shortestRetryDelayMs() : null;
    },
    signal,
    get logger() {
      logger ??= dependencies.logger.child({ taskId: task.id, taskType: task.task_type, attempt: task.attempts });
      return logger;
    },

    async snooze(delayMs: number): Promise<never> {
      if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > maxWaitMs) throw new ValidationError(`snooze needs a delay from 0 ms to ${maxWaitMs} ms (ten years), got ${delayMs}`);
      throw new SnoozeRequested(Math.round(delayMs));
    },

    waitFor<Payload, Input = Payload>(key: string, options: WaitForOptions<Payload, Input> = {}): Promise<WaitOutcome<Payload>> {
      return oneWaitAtATime('waitFor', key, () => waitForInput(key, options));
    },

    async sleep(key: string, delayMs: number): Promise<void> {
      if (!Number.isFinite(delayMs) || delayMs > maxWaitMs) throw new ValidationError(`sleep needs a finite delay of at most ${maxWaitMs} ms (ten years), got ${delayMs}`);
      await oneWaitAtATime('sleep', key, async () => {
        settledOrPark(await waitpointFor(key, { kind: 'timer', timeoutAt: new Date(Date.now() + Math.max(0, delayMs)) }));
      });
    },

    submitChild,
    waitForChildren: (key: string, taskIds: string[]) => oneWaitAtATime('waitForChildren', key, () => waitForChildren(key, taskIds)),

    submitAndWait: (key: string, requests: Array<{ taskType: string; input: unknown; options?: ChildOptions }>) => oneWaitAtATime('submitAndWait', key, () => submitAndWait(key, requests)),

    async recorded<Result>(key: string): Promise<{ value: Result } | undefined> {
      loading ??= loadSteps();
      const completedSteps = await loading;
      return completedSteps.has(key) ? { value: completedSteps.get(key) as Result } : undefined;
    },

    async step<Result>(key: string, run: (scope: StepScope) => Promise<Result>, options: StepOptions<Result> = {}): Promise<Result> {
      loading ??= loadSteps();
      const completedSteps = await loading;
      if (completedSteps.has(key)) return completedSteps.get(key) as Result;
      if (runningSteps.has(key)) throw new ValidationError(`step "${key}" of task ${task.id} is already running; step keys must be unique`);
      runningSteps.add(key);
      try {
        const started = performance.now();
        const recorded: NewEvent[] = [];
        // The work runs with no connection held: a step's model call may take minutes, and a
        // transaction open across it would pin a pooled connection, hold back vacuum, and die
        // with the connection if PostgreSQL restarts.
        const value = await run({ emit: (type, payload = {}) => { recorded.push(event(type, payload)); } });
        const stored = value === undefined ? null : JSON.stringify(value);
        // What later attempts will read back: the JSON round trip, so both see the same value.
        const result = (stored === null ? null : JSON.parse(stored)) as Result;
        // jsonb refuses these (in what is stored: toJSON applied, undefined fields dropped), and
        // its error would be retried, running the step's work again each attempt for the same
        // refusal: fail the task saying where the value is.
        const unstorable = unstorablePart(result);
        if (unstorable) {
          throw new TaskloomError('step_not_stored', `Step "${key}" of task ${task.id} returned a value PostgreSQL cannot store (${unstorable.path}: ${unstorable.message}); remove them from what the step returns.`, { retryable: false, details: { step: key, path: unstorable.path } });
        }
        const checkpoint = async (database: Queryable, events: NewEvent[]): Promise<void> => {
          const written = await database.query<{ stored: number }>({
            name: 'taskloom_step',
            text: stepStatement,
            values: [task.id, task.lease, key, stored, task.attempts, Math.round(performance.now() - started), ...eventArrays(events)],
          });
          if (written.rows[0]?.stored !== 1) throw new LeaseLostError(task.id, task.attempts);
        };
        const save = options.save;
        const commit = !save ? checkpoint(dependencies.pool, recorded) : withTransaction(dependencies.pool, async (transaction) => {
          // Events the pipeline's writes append wait for the checkpoint's statement.
          deferEvents(transaction);
          try {
            await save(transaction, result);
            // Fenced after the pipeline's writes: the share lock is then held only for the commit.
            await checkpoint(transaction, [...takeDeferredEvents(transaction), ...recorded]);
          } finally {
            // The connection goes back to the pool: never let a buffer outlive this transaction.
            discardDeferredEvents(transaction);
          }
        });
        await settledBeforeOutcome(commit);
        completedSteps.set(key, result);
        return result;
      } finally {
        runningSteps.delete(key);
      }
    },

    async progress(percent: number, message?: string): Promise<void> {
      if (!Number.isFinite(percent)) throw new ValidationError(`progress needs a finite percentage, got ${percent}`);
      const bounded = Math.max(0, Math.min(100, Math.round(percent)));
      const result = await dependencies.pool.query<{ updated: number }>({
        name: 'taskloom_progress',
        text: progressStatement,
        values: [task.id, task.lease, bounded, message ?? null, JSON.stringify({ progress: bounded, message: message ?? null })],
      });
      if (result.rows[0]?.updated !== 1) throw new LeaseLostError(task.id, task.attempts);
    },

    async emit(type: string, payload: Record<string, unknown> = {}): Promise<void> {
      await withTransaction(dependencies.pool, async (transaction) => {
        await assertLease(transaction, task);
        await appendEvents(transaction, [event(type, payload)]);
      });
    },

    async submit(taskType: string, childInput: unknown, options: { projectId?: string; idempotencyKey?: string } = {}): Promise<{ taskId: string }> {
      // As for a child (a task submitted here has no parent, so no cancel would reach it).
      refuseNewWork();
      const submitted = await dependencies.submit({
        taskType,
        input: childInput,
        tenant: task.tenant,
        projectId: options.projectId ?? task.project_id ?? undefined,
        idempotencyKey: options.idempotencyKey,
      });
      return { taskId: submitted.task.id };
    },
  };
  return {
    context,
    stepCommitsSettled: () => (committing.size === 0 ? undefined : Promise.allSettled([...committing])),
  };
}
