/**
 * The worker loop: claim tasks from pg-boss into free slots, run them, record how they ended.
 *
 * Why its own loop instead of pg-boss `work()`: `work()` with batchSize 1 idles a whole polling
 * interval between jobs once its NOTIFY wake-up is spent (measured: 8 jobs, then ~30 s idle),
 * and batches of N hold N jobs while they run one after another. Here every free slot is filled
 * as soon as it frees: a finished task wakes the loop, which claims exactly as many tasks as
 * there are free slots, highest-priority queue first.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.ts';
import { HardTimeoutError, isTaskloomError, LeaseLostError, PermanentError, serializeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isDatabaseConnectionError } from '../db/connection-errors.ts';
import { abortReason, TaskAbortedError } from './abort.ts';
import { SnoozeRequested, TaskSuspended } from './control-flow.ts';
import { resolveChildWaits, sweepWaitpoints } from './waitpoints.ts';
import { bossDatabase, bossNotifyChannel, type Boss } from './boss.ts';
import { cancelChannel } from './cancel.ts';
import { appendEvents, type NewEvent } from './event-log.ts';
import type { NotificationListener } from './listener.ts';
import { queueNames, queuePolicy, queuesByPriority, type QueueName } from './queues.ts';
import { retryDelayMs } from './retry-policy.ts';
import { Settler, type Outcome, type Settlement } from './settle.ts';
import { registerWorker, touchWorker, unregisterWorker, type WorkerRegistration } from './worker-registry.ts';
import { submitInTransaction, validateInput, type SubmitRequest, type SubmitResult } from './submit.ts';
import { createTaskContext, loadCompletedSteps } from './task-context.ts';
import type { TaskRegistry } from './task-registry.ts';
import { taskColumns, type TaskRecord } from './task-store.ts';

export interface WorkerOptions {
  /** Queues to work. @default every queue */
  queues?: readonly QueueName[];
  /** Tasks run at once. @default 8 */
  concurrency?: number;
  /** @default `${hostname}:${pid}:${random}` */
  workerId?: string;
  /** Idle polling backstop; NOTIFY wakes the worker at once. @default 2000 */
  pollIntervalMs?: number;
  /** pg-boss heartbeat period; the worker refreshes at half of it. @default 10 */
  heartbeatSeconds?: number;
  /** On stop, how long running tasks get after their signal aborts. @default 10000 */
  shutdownGraceMs?: number;
}

export interface WorkerDependencies {
  pool: Pool;
  boss: Boss;
  registry: TaskRegistry;
  listener: NotificationListener;
  logger: Logger;
  submit: (request: SubmitRequest) => Promise<SubmitResult>;
  /** Called after outcomes are recorded (metrics). Must not throw. */
  onSettled?: (settlements: Settlement[]) => void;
  onStarted?: (tasks: TaskRecord[]) => void;
}

interface Claim {
  task: TaskRecord;
  job: { id: string; retryCount: number };
}

interface Running extends Claim {
  controller: AbortController;
  done: Promise<void>;
  /** Set when shutdown handed the task back without waiting for its handler. */
  released: boolean;
}

interface FetchedJob {
  id: string;
  retryCount: number;
  data: { taskId?: string; schedule?: { taskType: string; input: unknown; tenant?: string } };
}

function advisoryKey(text: string): number {
  let hash = 0;
  for (const character of text) hash = (hash * 31 + character.charCodeAt(0)) | 0;
  return hash;
}

export class Worker {
  readonly id: string;
  readonly #dependencies: WorkerDependencies;
  readonly #queues: QueueName[];
  readonly #concurrency: number;
  readonly #pollIntervalMs: number;
  readonly #heartbeatSeconds: number;
  readonly #shutdownGraceMs: number;
  readonly #settler: Settler;
  readonly #active = new Map<string, Running>();
  readonly #logger: Logger;
  #stopping = false;
  #wakePending = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #unlisten: Array<() => void> = [];
  /**
   * Queues whose last claim came back short, so they are skipped until pg-boss NOTIFYs a new job
   * on them or the polling backstop runs. Without this every free slot would cost one claim
   * transaction per queue served, most of them on empty queues.
   */
  readonly #drained = new Set<QueueName>();
  #lastPoll = 0;
  #sweeping: Promise<void> | undefined;
  /** Current wait between failed claims (0: the last claim worked). */
  #claimBackoffMs = 0;
  /** Outcomes being recorded; shutdown waits for them. */
  readonly #settling = new Set<Promise<void>>();

  constructor(dependencies: WorkerDependencies, options: WorkerOptions = {}) {
    this.#dependencies = dependencies;
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#queues = queuesByPriority(options.queues ?? [...new Set([...queueNames(), ...dependencies.registry.list().map((definition) => definition.queue)])]);
    this.#concurrency = options.concurrency ?? 8;
    this.#pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.#heartbeatSeconds = options.heartbeatSeconds ?? 10;
    this.#shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
    this.#logger = dependencies.logger.child({ workerId: this.id });
    this.#settler = new Settler(dependencies.pool, dependencies.boss, this.#logger, (settlements) => dependencies.onSettled?.(settlements));
  }

  #registration(): WorkerRegistration {
    return { id: this.id, queues: this.#queues, concurrency: this.#concurrency, heartbeatSeconds: this.#heartbeatSeconds };
  }

  get activeCount(): number {
    return this.#active.size;
  }

  get queueNames(): readonly QueueName[] {
    return this.#queues;
  }

  async start(): Promise<void> {
    const { listener, pool } = this.#dependencies;
    const channel = await bossNotifyChannel(pool);
    this.#unlisten.push(listener.on(channel, (queue) => {
      if (!(this.#queues as string[]).includes(queue)) return;
      this.#drained.delete(queue as QueueName);
      this.#wakeUp();
    }));
    this.#unlisten.push(listener.on(cancelChannel, (taskId) => this.#abort(taskId, 'cancelled')));
    this.#unlisten.push(listener.onReconnect(() => {
      this.#drained.clear();
      this.#wakeUp();
    }));
    await registerWorker(pool, this.#registration());
    this.#heartbeat = setInterval(() => void this.#beat(), (this.#heartbeatSeconds * 1000) / 2);
    this.#heartbeat.unref();
    this.#loop = this.#run();
    this.#logger.info({ queues: this.#queues, concurrency: this.#concurrency }, 'worker started');
  }

  /**
   * Stops claiming, aborts running tasks with reason `shutdown`, waits up to the grace period,
   * then hands back whatever still runs so another worker resumes it without spending an attempt.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeUp();
    await this.#loop;
    await this.#sweeping;
    for (const unlisten of this.#unlisten) unlisten();
    for (const running of this.#active.values()) running.controller.abort(new TaskAbortedError('shutdown'));
    const graceMs = options.graceMs ?? this.#shutdownGraceMs;
    const allDone = Promise.all([...this.#active.values()].map((running) => running.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allDone, new Promise((resolve) => { timer = setTimeout(resolve, graceMs); })]);
    clearTimeout(timer);
    const stragglers = [...this.#active.values()];
    for (const running of stragglers) running.released = true;
    await Promise.all(stragglers.map((running) =>
      this.#settler.settle({ task: running.task, job: running.job, outcome: { kind: 'released' }, durationMs: 0 }).catch((error: unknown) => {
        this.#logger.error({ err: error, taskId: running.task.id }, 'handing back a task at shutdown failed; it resumes after its heartbeat lapses');
      })));
    clearInterval(this.#heartbeat);
    await Promise.all([...this.#settling]);
    await this.#settler.idle();
    await unregisterWorker(this.#dependencies.pool, this.id).catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'could not remove this worker\'s heartbeat row; it ages out');
    });
    this.#logger.info({ released: stragglers.length }, 'worker stopped');
  }

  #wakeUp(): void {
    this.#wakePending = true;
    this.#wake?.();
  }

  async #waitForWake(timeoutMs: number): Promise<void> {
    if (this.#wakePending) {
      this.#wakePending = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.#wake = undefined;
    this.#wakePending = false;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      let claimedAny = false;
      // The backstop: look at every queue again (retries that came due, a missed NOTIFY).
      if (Date.now() - this.#lastPoll >= this.#pollIntervalMs) {
        this.#drained.clear();
        this.#lastPoll = Date.now();
        this.#sweep();
      }
      for (const queue of this.#queues) {
        const free = this.#concurrency - this.#active.size;
        if (free <= 0 || this.#stopping) break;
        if (this.#drained.has(queue)) continue;
        try {
          const claims = await this.#claim(queue, free);
          if (claims.length < free) this.#drained.add(queue);
          if (claims.length > 0) claimedAny = true;
          for (const claim of claims) this.#start(claim);
          if (claims.length > 0) this.#dependencies.onStarted?.(claims.map((claim) => claim.task));
          this.#claimBackoffMs = 0;
        } catch (error) {
          // During an outage: one warning, then quiet retries backing off from 0.5 s to 10 s.
          if (this.#claimBackoffMs === 0) this.#logger.warn({ err: error, queue }, 'claiming tasks failed; retrying with backoff until the database answers');
          this.#claimBackoffMs = Math.min(10_000, Math.max(500, this.#claimBackoffMs * 2));
          await sleep(this.#claimBackoffMs);
          break;
        }
      }
      if (this.#stopping) break;
      if (!claimedAny || this.#active.size >= this.#concurrency) {
        await this.#waitForWake(Math.max(1, this.#pollIntervalMs - (Date.now() - this.#lastPoll)));
      }
    }
  }

  /**
   * Fires due waitpoint timeouts and timers, at most one sweep at a time per worker, in the
   * background: a wait's timeout therefore fires within one polling interval of its time.
   */
  #sweep(): void {
    if (this.#sweeping) return;
    const { pool, boss } = this.#dependencies;
    this.#sweeping = sweepWaitpoints({ pool, boss })
      .then((fired) => { if (fired > 0) this.#logger.debug({ fired }, 'waitpoints resolved by the sweep'); })
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'waitpoint sweep failed; it runs again at the next poll'))
      .finally(() => { this.#sweeping = undefined; });
  }

  /** Fetches up to `limit` jobs and marks their tasks running, in one transaction. */
  async #claim(queue: QueueName, limit: number): Promise<Claim[]> {
    const { registry, boss, pool } = this.#dependencies;
    // pg-boss's group limit checks for an active job of the group without a lock, so two workers
    // fetching at once could both start a job of one group. For queues carrying keyed task types
    // the fetch is serialised per queue by an advisory lock held until the claim commits.
    const keyed = registry.list().some((definition) => definition.queue === queue && definition.concurrency !== undefined);
    return withTransaction(pool, async (transaction) => {
      if (keyed) await transaction.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey(`taskloom:claim:${queue}`)]);
      const jobs = (await boss.fetch(queue, {
        batchSize: limit,
        db: bossDatabase(transaction),
        ...(keyed ? { groupConcurrency: 1 } : {}),
      })) as unknown as FetchedJob[];
      if (jobs.length === 0) return [];
      const finished: Array<{ id: string; retryCount: number }> = [];
      const events: NewEvent[] = [];
      for (const job of jobs.filter((candidate) => candidate.data.schedule)) {
        await this.#materialiseSchedule(transaction, job);
        finished.push({ id: job.id, retryCount: job.retryCount });
      }
      const taskJobs = jobs.filter((job) => typeof job.data.taskId === 'string');
      const claimed = await transaction.query<TaskRecord & { previous_status: string }>(
        `WITH target AS (
           SELECT t.id AS target_id, t.status AS previous_status
           FROM tasks t JOIN unnest($1::uuid[], $2::uuid[]) AS j (task_id, job_id) ON t.id = j.task_id
           WHERE t.status IN ('queued', 'retrying', 'running') AND t.cancel_requested_at IS NULL AND t.job_id = j.job_id
           FOR UPDATE OF t
         )
         UPDATE tasks SET status = 'running', attempts = tasks.attempts + 1, started_at = coalesce(tasks.started_at, now()),
           lease = gen_random_uuid(), worker_id = $3, next_attempt_at = NULL, updated_at = now()
         FROM target WHERE tasks.id = target.target_id
         RETURNING ${taskColumns}, target.previous_status`,
        [taskJobs.map((job) => job.data.taskId), taskJobs.map((job) => job.id), this.id],
      );
      const claimedIds = new Set(claimed.rows.map((row) => row.id));
      // Jobs whose task was cancelled, finished, or superseded by a newer delivery.
      const unclaimed = taskJobs.filter((job) => !claimedIds.has(job.data.taskId!));
      let cancelled: { rows: TaskRecord[] } = { rows: [] };
      if (unclaimed.length > 0) {
        cancelled = await transaction.query<TaskRecord>(
          `UPDATE tasks SET status = 'cancelled', completed_at = now(), updated_at = now(), lease = NULL
           WHERE id = ANY($1::uuid[]) AND status IN ('queued', 'retrying', 'running') AND cancel_requested_at IS NOT NULL
           RETURNING ${taskColumns}`,
          [unclaimed.map((job) => job.data.taskId)],
        );
        for (const task of cancelled.rows) events.push({ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type: 'task_cancelled', payload: { previous_state: 'queued', reason: 'requested' } });
        for (const job of unclaimed) finished.push({ id: job.id, retryCount: job.retryCount });
      }
      const claims: Claim[] = [];
      const abandoned: TaskRecord[] = [];
      for (const row of claimed.rows) {
        const job = taskJobs.find((candidate) => candidate.data.taskId === row.id)!;
        const { previous_status: previousStatus, ...task } = row;
        if (task.attempts > task.max_attempts) {
          abandoned.push(task);
          finished.push({ id: job.id, retryCount: job.retryCount });
          continue;
        }
        claims.push({ task, job: { id: job.id, retryCount: job.retryCount } });
        events.push({
          taskId: task.id, tenant: task.tenant, projectId: task.project_id, type: 'task_started',
          payload: { attempt: task.attempts, max_attempts: task.max_attempts, worker_id: this.id, resumed: previousStatus === 'running' },
        });
      }
      if (abandoned.length > 0) {
        // Workers died while running these; the last allowed attempt is used up.
        const error = { code: 'abandoned', message: 'The task\'s worker stopped responding on its last allowed attempt.', retryable: false };
        await transaction.query(
          `UPDATE tasks SET status = 'failed', error = $2, completed_at = now(), updated_at = now(), lease = NULL WHERE id = ANY($1::uuid[])`,
          [abandoned.map((task) => task.id), JSON.stringify(error)],
        );
        for (const task of abandoned) events.push({ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type: 'task_failed', payload: { error, attempt: task.attempts } });
      }
      if (finished.length > 0) await boss.complete(queue, finished, null, { db: bossDatabase(transaction) });
      // Children that ended here (cancelled while queued, abandoned) may be what a parent waits for.
      const parents = [...cancelled.rows, ...abandoned].flatMap((task) => (task.parent_task_id === null ? [] : [task.parent_task_id]));
      if (parents.length > 0) await resolveChildWaits(transaction, boss, parents);
      await appendEvents(transaction, events);
      return claims;
    });
  }

  /** A cron slot fired: create its task (once per slot, by the job's id) in the claim transaction. */
  async #materialiseSchedule(transaction: PoolClient, job: FetchedJob): Promise<void> {
    const schedule = job.data.schedule!;
    try {
      await submitInTransaction(transaction, this.#dependencies, {
        taskType: schedule.taskType,
        input: schedule.input,
        tenant: schedule.tenant ?? 'default',
        idempotencyKey: `schedule:${job.id}`,
      });
    } catch (error) {
      this.#logger.error({ err: error, schedule }, 'a scheduled task could not be submitted; the slot is skipped');
    }
  }

  #start(claim: Claim): void {
    const controller = new AbortController();
    const running: Running = { ...claim, controller, released: false, done: Promise.resolve() };
    this.#active.set(claim.task.id, running);
    running.done = this.#execute(running);
  }

  /**
   * The handler is done: its slot frees now, while the outcome is recorded in the background,
   * so the next claim overlaps this settle instead of waiting for its commit. The task's job
   * stays active in pg-boss until the settle commits, so same-key tasks still wait for it.
   */
  #release(running: Running): void {
    if (this.#active.get(running.task.id) !== running) return;
    this.#active.delete(running.task.id);
    this.#wakeUp();
  }

  async #execute(running: Running): Promise<void> {
    const { task, controller } = running;
    const { registry, pool, logger } = this.#dependencies;
    const started = performance.now();
    const timers: NodeJS.Timeout[] = [];
    let outcome: Outcome;
    try {
      const definition = registry.get(task.task_type);
      const hardTimeoutMs = definition.hardTimeoutMs ?? queuePolicy(definition.queue).hardTimeoutMs;
      const hardTimeout = new Promise<never>((_, reject) => {
        timers.push(setTimeout(() => {
          controller.abort(new TaskAbortedError('hard_timeout'));
          reject(new HardTimeoutError(task.id, hardTimeoutMs));
        }, hardTimeoutMs));
      });
      if (definition.softTimeoutMs !== undefined) {
        timers.push(setTimeout(() => controller.abort(new TaskAbortedError('soft_timeout')), definition.softTimeoutMs));
      }
      const input = validateInput(definition, task.input);
      const context = createTaskContext(
        { pool, logger, submit: (request) => this.#dependencies.submit(request) },
        task, input, controller.signal, () => loadCompletedSteps(pool, task.id),
      );
      const result = await Promise.race([definition.run(context), hardTimeout]);
      outcome = abortReason(controller.signal) === 'cancelled' ? { kind: 'cancelled', result } : { kind: 'completed', result };
    } catch (error) {
      outcome = this.#failureOutcome(running, error);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
    if (running.released || (outcome.kind === 'failed' && outcome.error.code === 'lease_lost')) {
      this.#release(running);
      return;
    }
    const settling = this.#settler.settle({ task, job: running.job, outcome, durationMs: Math.round(performance.now() - started) }).then(
      (applied) => {
        if (!applied) this.#logger.warn({ taskId: task.id }, 'attempt finished after losing its task; its outcome was not recorded');
      },
      (error: unknown) => {
        this.#logger.error({ err: error, taskId: task.id }, 'recording the outcome failed; the task resumes after its heartbeat lapses');
      },
    );
    this.#settling.add(settling);
    void settling.finally(() => this.#settling.delete(settling));
    this.#release(running);
  }

  #failureOutcome(running: Running, error: unknown): Outcome {
    const { task, controller } = running;
    // The database went away under this attempt (a restart, a failover, a cut): its work up to the
    // last committed step is safe, so it is handed back rather than charged as a failed attempt.
    // Only a raw driver error counts: a provider's refused connection arrives wrapped in a
    // TaskloomError (LlmError, DependencyError) and is an ordinary, attempt-spending failure.
    if (!isTaskloomError(error) && isDatabaseConnectionError(error)) return { kind: 'released' };
    const reason = abortReason(controller.signal);
    if (reason === 'cancelled') return { kind: 'cancelled', result: null };
    if (reason === 'shutdown') return { kind: 'released' };
    if (reason === 'lease_lost' || error instanceof LeaseLostError) return { kind: 'failed', error: { code: 'lease_lost' } };
    if (error instanceof TaskSuspended) return { kind: 'waiting', waitpointId: error.waitpointId };
    if (error instanceof SnoozeRequested) return { kind: 'snoozed', delayMs: error.delayMs };
    const cause = reason === 'hard_timeout' && !(error instanceof HardTimeoutError)
      ? new HardTimeoutError(task.id, 0)
      : reason === 'soft_timeout' && error instanceof TaskAbortedError
        ? new PermanentError(`Task ${task.id} stopped at its soft timeout without returning a partial result.`, { code: 'soft_timeout' })
        : error;
    const serialized = serializeError(cause);
    const retryable = isTaskloomError(cause) ? cause.retryable : true;
    const errorRecord = { ...serialized, attempt: task.attempts };
    if (retryable && task.attempts < task.max_attempts) {
      const definition = this.#dependencies.registry.has(task.task_type) ? this.#dependencies.registry.get(task.task_type) : undefined;
      const policy = queuePolicy(definition?.queue ?? 'default');
      const delayMs = retryDelayMs(task.attempts, definition?.retryBaseDelayMs ?? policy.retryBaseDelayMs, policy.retryMaxDelayMs);
      this.#logger.warn({ taskId: task.id, attempt: task.attempts, delayMs, error: serialized.message }, 'task attempt failed; retrying');
      return { kind: 'retry', error: errorRecord, delayMs };
    }
    this.#logger.warn({ taskId: task.id, attempt: task.attempts, error: serialized.message }, 'task failed');
    return { kind: 'failed', error: errorRecord };
  }

  #abort(taskId: string, reason: 'cancelled' | 'lease_lost'): void {
    const running = this.#active.get(taskId);
    if (running && !running.controller.signal.aborted) running.controller.abort(new TaskAbortedError(reason));
  }

  /** Refreshes pg-boss heartbeats and catches cancel requests or lost leases a NOTIFY missed. */
  async #beat(): Promise<void> {
    const { boss, pool } = this.#dependencies;
    await touchWorker(pool, this.#registration()).catch((error: unknown) => this.#logger.warn({ err: error }, 'worker heartbeat failed'));
    if (this.#active.size === 0) return;
    try {
      const byQueue = new Map<string, Array<{ id: string; retryCount: number }>>();
      for (const running of this.#active.values()) {
        const jobs = byQueue.get(running.task.queue) ?? [];
        jobs.push(running.job);
        byQueue.set(running.task.queue, jobs);
      }
      for (const [queue, jobs] of byQueue) await boss.touch(queue, jobs);
      const states = await pool.query<{ id: string; lease: string | null; cancel_requested_at: Date | null }>(
        'SELECT id, lease, cancel_requested_at FROM tasks WHERE id = ANY($1::uuid[])',
        [[...this.#active.keys()]],
      );
      for (const state of states.rows) {
        const running = this.#active.get(state.id);
        if (!running) continue;
        if (state.lease !== running.task.lease) this.#abort(state.id, 'lease_lost');
        else if (state.cancel_requested_at) this.#abort(state.id, 'cancelled');
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'heartbeat failed');
    }
  }
}
