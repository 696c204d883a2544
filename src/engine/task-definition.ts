/**
 * A task type: its input schema, queue, limits and handler. Pipelines define task types with
 * `defineTask`; the engine never needs to know what a task does.
 */
import type { z } from 'zod';
import type { PoolClient, Queryable } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import type { QueueName } from './queues.ts';
import type { TaskRecord } from './task-store.ts';

/** What a handler receives. */
export interface TaskContext<Input> {
  readonly taskId: string;
  readonly taskType: string;
  readonly tenant: string;
  readonly projectId: string | null;
  readonly input: Input;
  /** 1 for the first attempt. A resumed task (crash, retry) sees a higher number. */
  readonly attempt: number;
  /**
   * Aborts on cancel (reason `cancelled`), soft timeout (`soft_timeout`), hard timeout
   * (`hard_timeout`) or worker shutdown (`shutdown`). Pass it to every I/O call.
   */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * Runs `run` once per task and checkpoints its JSON result under `key`; every later attempt
   * gets the stored result without running it again.
   *
   * `run` works outside any transaction (model calls, HTTP, reads through the pool): no
   * connection is held while it awaits. What it produced is then committed in ONE short
   * transaction: `options.save(transaction, result)` writes the pipeline's rows, the attempt's
   * lease is checked, the checkpoint is stored and the events `run` recorded with
   * `scope.emit` are appended. So domain rows, events and checkpoint land together or not at
   * all, and a step that ran but did not commit simply runs again on the next attempt.
   */
  step<Result>(key: string, run: (scope: StepScope) => Promise<Result>, options?: StepOptions<Result>): Promise<Result>;
  /**
   * What step `key` stored, if an earlier run of this task completed it; nothing runs. For a
   * handler whose replay must take the path it took once something has ended: a marker step
   * written at that end, looked up before the code that would otherwise act again.
   */
  recorded<Result>(key: string): Promise<{ value: Result } | undefined>;
  /** Records progress (0-100) with a message: updates the task and appends `task_progress`. */
  progress(percent: number, message?: string): Promise<void>;
  /** Appends an event of the task's own (`type`, JSON payload) to the durable event log. */
  emit(type: string, payload?: Record<string, unknown>): Promise<void>;
  /** Submits another task (for example an evaluation after a department completes). */
  submit(taskType: string, input: unknown, options?: { projectId?: string; idempotencyKey?: string }): Promise<{ taskId: string }>;

  /** Attempts allowed in all, the first included. */
  readonly maxAttempts: number;
  /** True when a retryable failure of this attempt would be retried (attempts remain). */
  readonly willRetry: boolean;
  /**
   * The least the engine waits before the next attempt if this one fails retryably (its backoff;
   * jitter draws the wait between this and twice this), or null when none follows. A task with a
   * deadline of its own can tell whether a retry could still start before it.
   */
  readonly shortestRetryDelayMs: number | null;
  /**
   * Hands the task back to run again after `delayMs` without spending an attempt (a rate limit,
   * a resource not ready yet). Never returns: `return context.snooze(60_000)`.
   */
  snooze(delayMs: number): Promise<never>;

  /**
   * Waits durably for input from outside (a person's approval, a system's callback): the task
   * parks without a worker slot (status `waiting`, event `task_waiting`) until the waitpoint is
   * completed through `POST /api/v1/waitpoints/{id}/complete` or `engine.completeWaitpoint`, or
   * times out. The handler then runs again from the top on whichever worker claims it: steps
   * replay, and this call returns the outcome. Everything before it must be a step.
   */
  waitFor<Payload = unknown, Input = Payload>(key: string, options?: WaitForOptions<Payload, Input>): Promise<WaitOutcome<Payload>>;
  /** Sleeps durably: the task parks without a slot and resumes after `delayMs` on any worker. */
  sleep(key: string, delayMs: number): Promise<void>;
  /**
   * Submits a child task (same tenant and project by default), once per parent and key however
   * often the handler replays. Cancelling the parent cancels its unfinished children.
   */
  submitChild(key: string, taskType: string, input: unknown, options?: ChildOptions): Promise<{ taskId: string }>;
  /**
   * Parks until every child has settled, then returns each one's status, result and error in
   * the order given. A failed child is the parent's to judge: nothing is thrown.
   */
  waitForChildren(key: string, taskIds: string[]): Promise<ChildOutcome[]>;
  /** `submitChild` for each request (keys `key:0`, `key:1`, ...), then `waitForChildren`. */
  submitAndWait(key: string, requests: Array<{ taskType: string; input: unknown; options?: ChildOptions }>): Promise<ChildOutcome[]>;
}

export interface WaitForOptions<Payload, Input = Payload> {
  /** After this long the wait resolves `{status: 'timed_out'}` (within a worker polling interval). @default no timeout */
  timeoutMs?: number;
  /** The payload's schema: completions that do not match answer 400; the handler gets the parsed value. @default any JSON */
  schema?: z.ZodType<Payload, Input>;
  /**
   * Register the wait, then check: runs once the waitpoint exists (committed) and before the task
   * parks. Answer `{payload}` when the condition waited for already holds (read from your own
   * tables): the waitpoint completes at once with that payload (`completedBy: 'check'`) and
   * `waitFor` returns without parking. Answer undefined to park. Closes the race of a task that
   * reads a condition and then waits for it: a decision committing between the read and the park
   * finds the waitpoint pending and completes it, so it is never lost. For that, whoever records
   * the condition must look for the pending waitpoint after its own write has committed (or
   * complete it in that write's transaction, `completeWaitpoint(..., beforeCommit)`).
   * The payload is given as a completion would send it (the schema's input), and checked, stored
   * and parsed as one is.
   * @default none: park until completed or timed out
   */
  check?: () => Promise<{ payload: Input } | undefined>;
}

export type WaitOutcome<Payload = unknown> =
  | { status: 'completed'; payload: Payload; completedBy: string | null }
  | { status: 'timed_out' };

export interface ChildOptions {
  /** @default the parent's project */
  projectId?: string;
  /** @default the child task type's */
  priority?: number;
}

export interface ChildOutcome {
  taskId: string;
  status: 'completed' | 'failed' | 'cancelled';
  result: unknown;
  error: unknown;
}

/** What a step's `run` may use besides the task context. */
export interface StepScope {
  /** Records an event that is appended when (and only if) the step commits. */
  emit(type: string, payload?: Record<string, unknown>): void;
}

export interface StepOptions<Result> {
  /**
   * Writes the step's rows in the transaction that stores its checkpoint. Gets the result as
   * later attempts will read it back (the JSON round trip). Keep it to SQL: it runs with the
   * transaction open, so it must not wait on anything else.
   */
  save?: (transaction: PoolClient, result: Result) => Promise<void>;
}

export interface ConcurrencyPolicy<Input> {
  /** The key tasks are serialised on (for example the project id); undefined: no limit. */
  key: (input: Input) => string | undefined;
  /**
   * `reject`: a submit while a task with the same key is active fails with
   * ConcurrencyConflictError carrying the active task's id. `queue`: it waits its turn.
   */
  onConflict: 'reject' | 'queue';
}

export interface ScheduleDefinition<Input> {
  /** Five-field cron expression. */
  cron: string;
  /** IANA time zone the cron is read in. @default 'UTC' */
  timezone?: string;
  input: Input;
  /** Distinguishes several schedules of one task type. @default 'default' */
  key?: string;
}

export interface TaskDefinition<Input = unknown, Result = unknown> {
  type: string;
  /**
   * Other names a submit may use for this type (a seed's name for it, kept for its callers). The
   * task is recorded, listed and run under `type`.
   */
  aliases?: readonly string[];
  description: string;
  queue: QueueName;
  input: z.ZodType<Input>;
  /** @default the queue's priority */
  priority?: number;
  /** Attempts in all. @default the queue's maxAttempts */
  maxAttempts?: number;
  /** At this age the signal aborts with `soft_timeout`; the handler may return a partial result. */
  softTimeoutMs?: number;
  /** At this age the attempt is stopped and fails. @default the queue's hardTimeoutMs */
  hardTimeoutMs?: number;
  /** First retry delay, doubling with jitter. @default the queue's */
  retryBaseDelayMs?: number;
  concurrency?: ConcurrencyPolicy<Input>;
  /** Where the project id is read from. @default `input.project_id` when it is a string */
  projectId?: (input: Input) => string | undefined;
  /**
   * A webhook URL carried in the input (the seeds' `webhook_url`), used as the task's
   * callback_url when the submit names none: every event of the task is then delivered there.
   */
  callbackUrl?: (input: Input) => string | undefined;
  schedules?: ScheduleDefinition<Input>[];
  /**
   * Decides whether a task of this type may be submitted now, before it is recorded, on every
   * path a submit takes (the API, a pipeline's own route, the CLI, a schedule, a child): throw to
   * refuse it (a throttle's 429). What it returns is called to give back what it took when the
   * task was not created after all (the submit failed, or an idempotency key was taken
   * meanwhile). Keep it to one statement: every submit of the type waits for it. Read through
   * `database`, where the submit writes: the pool, or the caller's transaction for
   * `submitWithin`, which must not wait for a second connection while it holds one.
   */
  admit?(request: { tenant: string; input: Input; database: Queryable }): Promise<(() => Promise<void>) | void>;
  /**
   * Why a submit with this input needs an admin's API key (a run that approves its own work
   * needs no supervisor), or undefined when any key that may start work will do. The API asks
   * it on every route that submits the type; the engine itself knows no keys.
   */
  requiresAdminKey?(input: Input): string | undefined;
  run(context: TaskContext<Input>): Promise<Result>;
  /**
   * Puts the task's own records right once it has ended without success: failed for good,
   * cancelled, or failed as `abandoned` (its worker died on its last attempt). It runs once per
   * task, after the ending committed, also when none of the task's code ran at the end (a task
   * cancelled while it waited for a retry, a worker that died): what a `catch` in `run` cannot
   * cover (failure-handlers.ts). Write through `failure.transaction` only, so the writes commit
   * with the record that the handler ran; a handler that throws runs again on a later pass.
   */
  onFailure?(failure: TaskFailure): Promise<void>;
}

/** What a task type's `onFailure` receives. */
export interface TaskFailure {
  /** The task as it ended: `failed` (with its `error`) or `cancelled`. */
  readonly task: TaskRecord;
  /** The transaction that also records this handler as done. */
  readonly transaction: PoolClient;
  /** The stored result of the task's step `key` (`context.step`), or undefined if it never completed. */
  stepResult<Result = unknown>(key: string): Promise<Result | undefined>;
  readonly logger: Logger;
}

/**
 * What names a task type and says where and what it runs, known without building its definition:
 * what `taskloom types` lists. A pipeline declares these and its definitions spread them.
 */
export type TaskTypeSummary = Pick<TaskDefinition, 'type' | 'aliases' | 'queue' | 'description'>;

/** Identity function that keeps the input type flowing from the schema into the handler. */
export function defineTask<Input, Result>(definition: TaskDefinition<Input, Result>): TaskDefinition<Input, Result> {
  return definition;
}

// Handlers are stored type-erased: the engine validates input with the definition's own schema
// before calling run, so the erased types never meet a value of the wrong shape.
export type AnyTaskDefinition = TaskDefinition<any, any>;
