/**
 * The engine's one entry point: submit, read, cancel, subscribe, and run workers, on one
 * PostgreSQL. Every process (API, worker, CLI) opens an Engine on the same database.
 */
import { withSavepoint, type Pool, type Queryable } from '../db/pool.ts';
import { isUuid } from '../db/sql.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { startBoss, type Boss } from './boss.ts';
import { cancelTask, type CancelResult } from './cancel.ts';
import { EventHub, type SubscribeOptions } from './event-hub.ts';
import { latestEventId, readEvents, type EventQuery, type TaskEvent } from './event-log.ts';
import { NotificationListener } from './listener.ts';
import { registerSchedules, schedulesQueue, workSchedules } from './schedules.ts';
import { compileInputSchemas, SubmitBatcher, submitInTransaction, validateInput, type SubmitRequest, type SubmitResult } from './submit.ts';
import type { AnyTaskDefinition } from './task-definition.ts';
import { TaskRegistry } from './task-registry.ts';
import { findByIdempotencyKey, getTask, InvalidCursorError, listTasks, taskColumns, type TaskFilter, type TaskRecord } from './task-store.ts';
import { Worker, type WorkerOptions } from './worker.ts';
import {
  completeWaitpoint,
  createCompletionToken,
  getWaitpoint,
  listWaitpoints,
  type CompleteWaitpointRequest,
  type WaitpointFilter,
  type WaitpointRecord,
} from './waitpoints.ts';
import type { PoolClient } from '../db/pool.ts';
import type { CarriedFinishes, Settlement } from './settle.ts';

export interface EngineOptions {
  /** Connection string of the database `pool` points at (the listener and pg-boss connect too). */
  url: string;
  pool: Pool;
  logger: Logger;
  taskTypes: AnyTaskDefinition[];
  /** @default 10 */
  heartbeatSeconds?: number;
  /** Fire cron schedules here (pg-boss's timekeeper). @default true */
  maintenance?: boolean;
  /** Register the task types' cron schedules at start. @default true */
  schedules?: boolean;
  /** Scheduler check interval, seconds (tests shorten it). @default 30 */
  cronIntervalSeconds?: number;
  /**
   * A task submitted here while a worker of this engine has a free slot and nothing waiting on
   * its queue is written already leased to that worker and starts when the submit commits,
   * without a claim (see `EagerSlot`). @default true
   */
  eagerStart?: boolean;
}

export interface EngineHooks {
  started: Set<(tasks: TaskRecord[]) => void>;
  settled: Set<(settlements: Settlement[]) => void>;
  submitted: Set<(task: TaskRecord) => void>;
  /** A task's type's `onFailure` ran for it and committed (failure-handlers.ts). */
  failureHandled: Set<(task: TaskRecord) => void>;
}

export class Engine {
  readonly registry: TaskRegistry;
  readonly pool: Pool;
  /** pg-boss, for cron schedules; absent in a process that neither registers nor fires them. */
  readonly boss: Boss | undefined;
  readonly listener: NotificationListener;
  readonly events: EventHub;
  readonly logger: Logger;
  readonly hooks: EngineHooks = { started: new Set(), settled: new Set(), submitted: new Set(), failureHandled: new Set() };
  readonly #workers = new Set<Worker>();
  readonly #options: EngineOptions;
  readonly #submits: SubmitBatcher;

  private constructor(options: EngineOptions, boss: Boss | undefined, listener: NotificationListener) {
    this.#options = options;
    this.pool = options.pool;
    this.logger = options.logger;
    this.boss = boss;
    this.listener = listener;
    this.registry = new TaskRegistry().register(...options.taskTypes);
    this.events = new EventHub(options.pool, listener, options.logger);
    this.#submits = new SubmitBatcher({
      pool: options.pool,
      registry: this.registry,
      eagerSlot: options.eagerStart === false ? undefined : (queue) => {
        for (const worker of this.#workers) {
          const slot = worker.eagerSlot(queue);
          if (slot) return slot;
        }
        return undefined;
      },
      finishes: {
        expect: () => {
          for (const worker of this.#workers) worker.expectSubmit();
        },
        carry: () => {
          // One worker's. The others' wait for their claim or flush, or the next submit.
          let carried: CarriedFinishes | undefined;
          for (const worker of this.#workers) {
            if (carried) worker.releaseExpectedSubmit();
            else carried = worker.carryFinishes();
          }
          return carried;
        },
      },
    });
  }

  static async start(options: EngineOptions): Promise<Engine> {
    const maintenance = options.maintenance ?? true;
    // pg-boss only keeps cron schedules now: a process that neither registers nor fires them
    // (a CLI submit, a worker with maintenance off) does without it.
    const boss = maintenance || (options.schedules ?? true)
      ? await startBoss({ url: options.url, logger: options.logger, schedule: maintenance, cronIntervalSeconds: options.cronIntervalSeconds, queues: [schedulesQueue] })
      : undefined;
    const listener = new NotificationListener(options.url, options.logger);
    try {
      await listener.start();
    } catch (error) {
      await boss?.stop({ graceful: false });
      throw error;
    }
    const engine = new Engine(options, boss, listener);
    compileInputSchemas(engine.registry.list());
    if (boss) {
      if (options.schedules ?? true) await registerSchedules(boss, engine.registry.list());
      if (maintenance) await workSchedules(boss, (request) => engine.submit(request), options.logger, Math.min(2, options.cronIntervalSeconds ?? 2));
    }
    return engine;
  }

  async submit(request: SubmitRequest): Promise<SubmitResult> {
    return this.#admitted(request, this.pool, () => this.#submits.submit(request));
  }

  /**
   * Submits a task in the caller's transaction: the task exists, and its queue's workers hear of
   * it, when that transaction commits, and not at all if it rolls back. For a write that must not
   * be kept without its task (an edit and the work it owes), on the write's own connection: a
   * submit through `submit` from inside an open transaction waits for a second connection, and a
   * few of those at once can hold every connection of the pool while each waits for another.
   *
   * A refusal (an exclusive key an active task holds, bad input, the type's `admit`, a failed
   * statement of either) throws and leaves the transaction usable: all of it runs in a savepoint.
   * Calls on one transaction go one after another. There is no eager start and no group commit;
   * the `submitted` hooks run when the statement returns, before the commit; what `admit` took is
   * not given back if the caller rolls back. From here to the commit the transaction holds the
   * event log's order lock (event-log.ts), which every other event writer waits for: submit last,
   * commit soon, and not from a step's `save`, whose events wait for its lease fence.
   */
  async submitWithin(transaction: Queryable, request: SubmitRequest): Promise<SubmitResult> {
    return withSavepoint(transaction, () => this.#admitted(request, transaction, () => submitInTransaction(transaction, this.registry, request)));
  }

  /**
   * `write` (a submit), after the task type's `admit` if it has one: what that took is given back
   * when the task was not created after all. `database` is where the submit writes, through which
   * an idempotency key is looked up and `admit` reads.
   */
  async #admitted(request: SubmitRequest, database: Queryable, write: () => Promise<SubmitResult>): Promise<SubmitResult> {
    const definition = this.registry.has(request.taskType) ? this.registry.get(request.taskType) : undefined;
    let giveBack: (() => Promise<void>) | void = undefined;
    if (definition?.admit) {
      // Only types that ask for it pay for a second validation (the batch validates again).
      const input = validateInput(definition, request.input);
      const tenant = request.tenant ?? 'default';
      // A repeat of a submit (a client retrying after a lost answer) gets the task it made, as
      // with any type, not a refusal from the admission its first submit already passed (a
      // throttle it now counts against). A repeat racing its first submit is admitted, and what
      // it took is given back below when the key turns out taken.
      if (request.idempotencyKey !== undefined) {
        const earlier = await findByIdempotencyKey(database, tenant, request.idempotencyKey);
        if (earlier) return { task: earlier, created: false };
      }
      giveBack = await definition.admit({ tenant, input, database });
    }
    // In a caller's transaction, in a savepoint of its own: a failed statement of it must not
    // abort that transaction.
    const giveBackQuietly = async (): Promise<void> => {
      if (!giveBack) return;
      const undo = giveBack;
      await (database === this.pool ? undo() : withSavepoint(database, undo)).catch((error: unknown) => this.logger.warn({ err: error, taskType: request.taskType }, 'could not give back what admitting the task took'));
    };
    let submitted: SubmitResult;
    try {
      submitted = await write();
    } catch (error) {
      await giveBackQuietly();
      throw error;
    }
    if (submitted.created) for (const hook of this.hooks.submitted) hook(submitted.task);
    else await giveBackQuietly();
    return submitted;
  }

  /** `database`: a transaction the caller holds, to read through it rather than take a second connection. */
  async getTask(taskId: string, options: { tenant?: string; database?: Queryable } = {}): Promise<TaskRecord> {
    if (!isUuid(taskId)) throw new NotFoundError('Task', taskId);
    const task = await getTask(options.database ?? this.pool, taskId, options.tenant);
    if (!task) throw new NotFoundError('Task', taskId);
    return task;
  }

  async listTasks(filter: TaskFilter): Promise<{ tasks: TaskRecord[]; nextCursor: string | null }> {
    try {
      // Tasks are stored under their type's name: one submitted under an alias lists under it too.
      return await listTasks(this.pool, filter.taskType === undefined ? filter : { ...filter, taskType: this.registry.typeNamed(filter.taskType) });
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new ValidationError(error.message, { issues: [{ path: 'cursor', message: error.message }] });
      throw error;
    }
  }

  async cancel(taskId: string, options: { tenant?: string } = {}): Promise<CancelResult> {
    if (!isUuid(taskId)) throw new NotFoundError('Task', taskId);
    return cancelTask(this, taskId, options);
  }

  /** The most children `children` lists. */
  static readonly childrenListed = 1000;

  /**
   * A task's children, oldest first (the first `Engine.childrenListed`), with how many it has and
   * how many of them have ended (completed, failed or cancelled), counted over all of them.
   */
  async children(taskId: string, options: { tenant?: string } = {}): Promise<{ children: TaskRecord[]; total: number; settled: number }> {
    const parent = await this.getTask(taskId, options);
    // The window counts run before the LIMIT: over every child, in the same read.
    const result = await this.pool.query<TaskRecord & { children_total: number; children_settled: number }>(
      `SELECT ${taskColumns}, count(*) OVER ()::int AS children_total,
         count(*) FILTER (WHERE status IN ('completed', 'failed', 'cancelled')) OVER ()::int AS children_settled
       FROM tasks WHERE parent_task_id = $1 ORDER BY created_at, id LIMIT ${Engine.childrenListed}`,
      [parent.id],
    );
    const children = result.rows.map(({ children_total: _total, children_settled: _settled, ...task }) => task as TaskRecord);
    return { children, total: result.rows[0]?.children_total ?? 0, settled: result.rows[0]?.children_settled ?? 0 };
  }

  /** A task's children, oldest first: the first `Engine.childrenListed`. */
  async listChildren(taskId: string, options: { tenant?: string } = {}): Promise<TaskRecord[]> {
    return (await this.children(taskId, options)).children;
  }

  async getWaitpoint(id: string, options: { tenant?: string } = {}): Promise<WaitpointRecord> {
    const waitpoint = isUuid(id) ? await getWaitpoint(this.pool, id, options.tenant) : undefined;
    if (!waitpoint) throw new NotFoundError('Waitpoint', id);
    return waitpoint;
  }

  async listWaitpoints(filter: WaitpointFilter): Promise<WaitpointRecord[]> {
    if (filter.taskId !== undefined && !isUuid(filter.taskId)) return [];
    return listWaitpoints(this.pool, filter);
  }

  /**
   * Completes an `input` waitpoint and requeues its task, in one transaction; `beforeCommit`
   * joins that transaction (record the decision in the pipeline's own tables there). A second
   * completion throws `waitpoint_resolved` (409) carrying the first outcome.
   */
  async completeWaitpoint(request: CompleteWaitpointRequest, beforeCommit?: (transaction: PoolClient, waitpoint: WaitpointRecord) => Promise<void>): Promise<WaitpointRecord> {
    if (request.id !== undefined && !isUuid(request.id)) throw new NotFoundError('Waitpoint', request.id);
    return completeWaitpoint(this, request, beforeCommit);
  }

  /** A new single-use completion token for an `input` waitpoint (only its hash is stored). */
  async createWaitpointToken(id: string, tenant: string): Promise<{ token: string; waitpoint: WaitpointRecord }> {
    if (!isUuid(id)) throw new NotFoundError('Waitpoint', id);
    return createCompletionToken(this.pool, id, tenant);
  }

  /** Stored events (no live follow). */
  async readEvents(query: EventQuery): Promise<TaskEvent[]> {
    return readEvents(this.pool, query);
  }

  /** The id of a task's newest stored event (0 when it has none): where a stream of it stands. */
  async latestEventId(taskId: string): Promise<number> {
    return latestEventId(this.pool, taskId);
  }

  /** Replays stored events after `afterId`, then follows new ones until `signal` aborts. */
  subscribe(options: SubscribeOptions): AsyncGenerator<TaskEvent, void, undefined> {
    return this.events.subscribe(options);
  }

  async startWorker(options: WorkerOptions = {}): Promise<Worker> {
    const worker = new Worker(
      {
        pool: this.pool,
        registry: this.registry,
        listener: this.listener,
        events: this.events,
        logger: this.logger,
        submit: (request) => this.submit(request),
        onStarted: (tasks) => { for (const hook of this.hooks.started) hook(tasks); },
        onSettled: (settlements) => { for (const hook of this.hooks.settled) hook(settlements); },
        onFailureHandled: (task) => { for (const hook of this.hooks.failureHandled) hook(task); },
        // A worker stopped on its own (not by `Engine.stop`) leaves the list: readiness counts
        // the workers listed as running, and every submit asks each of them for a slot.
        onStopped: () => this.#workers.delete(worker),
      },
      { heartbeatSeconds: this.#options.heartbeatSeconds, ...options },
    );
    await worker.start();
    this.#workers.add(worker);
    return worker;
  }

  get workers(): ReadonlySet<Worker> {
    return this.#workers;
  }

  /** Stops workers (gracefully), the listener and pg-boss. The pool is the caller's to close. */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    await Promise.all([...this.#workers].map((worker) => worker.stop(options)));
    this.#workers.clear();
    this.events.close();
    await this.listener.stop();
    await this.boss?.stop({ graceful: false, close: true });
  }
}

