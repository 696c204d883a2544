/**
 * Submitting a task: validate, record, enqueue, announce, all in one statement. Either the
 * task exists with its queue row and its `task_queued` event, or nothing was written.
 * Invalid input is rejected before any transaction starts.
 */
import type { DatabaseError } from 'pg';
import { isDatabaseConnectionError } from '../db/connection-errors.ts';
import { timeOrderedUuid } from '../db/time-ordered-uuid.ts';
import { rowSourceFor, type RowSource } from '../db/sql.ts';
import { ConcurrencyConflictError, ValidationError } from '../errors.ts';
import { withSavepoint, type Pool, type Queryable } from '../db/pool.ts';
import { eventsInsert, eventsNotified } from './event-log.ts';
import { queuePolicy } from './queues.ts';
import { finishedOf, finishedOutcome, finishing, finishingValues, leaseKey, readyNotified, type Finish, type Finished } from './ready-queue.ts';
import type { CarriedFinishes } from './settle.ts';
import type { AnyTaskDefinition } from './task-definition.ts';
import type { TaskRegistry } from './task-registry.ts';
import { findActiveExclusive, findByIdempotencyKey, getTask, getTasks, taskColumns, type NewTask, type TaskRecord } from './task-store.ts';
import { z } from 'zod';

export interface SubmitRequest {
  taskType: string;
  input: unknown;
  /** @default 'default' */
  tenant?: string;
  /** @default the task type's projectId(input), else input.project_id */
  projectId?: string;
  /** A second submit with the same key (per tenant) returns the first task. */
  idempotencyKey?: string;
  callbackUrl?: string;
  /** @default the task type's priority, else its queue's */
  priority?: number;
  /** The task submitting this one as its child (set by `context.submitChild`). */
  parentTaskId?: string;
}

export interface SubmitResult {
  task: TaskRecord;
  /** false when an idempotency key matched an existing task. */
  created: boolean;
}

/** zod issues as `{path, message}` pairs, the shape every validation error carries. */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.flatMap((issue) => issuesOf(issue, []));
}

/**
 * One issue as paths and messages. A value matching none of a union's shapes gets zod's bare
 * "Invalid input"; it is described by the shape it came closest to, which names the fields to fix
 * (`company_id: expected string`).
 */
function issuesOf(issue: z.core.$ZodIssue, prefix: PropertyKey[]): Array<{ path: string; message: string }> {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const closest = issue.errors.reduce((best, variant) => (distance(variant) < distance(best) ? variant : best));
    if (closest.length > 0) return closest.flatMap((inner) => issuesOf(inner, path));
  }
  return [{ path: path.map(String).join('.') || '(root)', message: issue.message }];
}

/**
 * How far a value is from a union's shape, by the issues it raised there: each key the shape does
 * not know counts, and a value of another type altogether (an object where a string goes) is as
 * far as can be, so an object with one wrong field is closer to its object shape than to a string.
 */
function distance(issues: z.core.$ZodIssue[]): number {
  let total = 0;
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') total += issue.keys.length;
    else if (issue.code === 'invalid_type' && issue.path.length === 0) total += 1000;
    else total += 1;
  }
  return total;
}

export function validateInput(definition: AnyTaskDefinition, input: unknown): unknown {
  const parsed = definition.input.safeParse(input ?? {});
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new ValidationError(
      `Invalid input for task type "${definition.type}": ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      { task_type: definition.type, issues },
    );
  }
  return parsed.data;
}

/**
 * Parses an empty input with every type's schema, once, when the engine starts. zod compiles an
 * object schema's parser on its first parse: 8.5 ms of a fresh process's first content_pipeline
 * submit, in a profile of bench:content, where a compiled one takes microseconds. The answers
 * are thrown away; an empty input is refused by most schemas, and compiling is all this is for.
 */
export function compileInputSchemas(definitions: readonly AnyTaskDefinition[]): void {
  for (const definition of definitions) {
    try {
      definition.input.safeParse({});
    } catch {
      // A schema whose own code throws on an empty input is compiled by its first submit instead.
    }
  }
}

export function projectIdOf(definition: AnyTaskDefinition, input: unknown): string | null {
  if (definition.projectId) return definition.projectId(input) ?? null;
  const candidate = (input as { project_id?: unknown } | null)?.project_id;
  return typeof candidate === 'string' || typeof candidate === 'number' ? String(candidate) : null;
}

/**
 * A free slot of a worker in this process, held for a task being submitted (eager start, as
 * Temporal calls it): the submit statement writes the task already leased to that worker, and the
 * worker starts it once the statement has committed. A task then starts one durable commit after
 * its submit instead of two (the submit's, then a claim's), and no NOTIFY or claim is needed.
 */
export interface EagerSlot {
  workerId: string;
  /** The lease the task is written with. */
  lease: string;
  leaseSeconds: number;
  /** The submit committed with the task leased under this slot: run it. */
  start: (task: TaskRecord) => void;
  /** The task was not leased here (the submit failed, or an idempotency key matched an older task). */
  release: () => void;
}

export interface SubmitDependencies {
  pool: Pool;
  registry: TaskRegistry;
  /** A free slot of a local worker for a task of this queue, or undefined (then it is queued). */
  eagerSlot?: (queue: string) => EagerSlot | undefined;
  /**
   * The ended attempts of this process's workers, for a submit statement to record as well:
   * `expect` when a statement is about to go out (outcomes then wait for it), `carry` to take a
   * worker's, or undefined when none is waiting.
   */
  finishes?: { expect: () => void; carry: () => CarriedFinishes | undefined };
}

/** A validated submit, ready to insert. */
interface PreparedSubmit {
  task: NewTask;
  definition: AnyTaskDefinition;
  /** The exclusive key, for reporting a conflict. */
  exclusiveKey: string | null;
}

/**
 * Longest idempotency key, in bytes: its index refuses entries past ~2,700 bytes, with an error
 * that says nothing of the key. Room for a child's key (`child:<parent id>:<key>`) and a caller's
 * own scheme; the HTTP API and the CLI allow 200 characters.
 */
const maxIdempotencyKeyBytes = 1000;

function prepare(registry: TaskRegistry, request: SubmitRequest): PreparedSubmit {
  const { idempotencyKey } = request;
  if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || Buffer.byteLength(idempotencyKey) > maxIdempotencyKeyBytes)) {
    throw new ValidationError(`An idempotency key must be 1 to ${maxIdempotencyKeyBytes} bytes long, got ${Buffer.byteLength(idempotencyKey)}.`, { issues: [{ path: 'idempotency_key', message: `must be 1 to ${maxIdempotencyKeyBytes} bytes` }] });
  }
  const definition = registry.get(request.taskType);
  const input = validateInput(definition, request.input);
  const queue = queuePolicy(definition.queue);
  const key = definition.concurrency?.key(input);
  const exclusiveKey = key !== undefined && definition.concurrency?.onConflict === 'reject' ? key : null;
  return {
    definition,
    exclusiveKey,
    task: {
      id: timeOrderedUuid(),
      tenant: request.tenant ?? 'default',
      projectId: request.projectId ?? projectIdOf(definition, input),
      taskType: definition.type,
      queue: definition.queue,
      priority: request.priority ?? definition.priority ?? queue.priority,
      input,
      maxAttempts: definition.maxAttempts ?? queue.maxAttempts,
      idempotencyKey: request.idempotencyKey ?? null,
      concurrencyKey: key ?? null,
      exclusiveKey,
      callbackUrl: request.callbackUrl ?? definition.callbackUrl?.(input) ?? null,
      parentTaskId: request.parentTaskId ?? null,
    },
  };
}

/**
 * What a submit statement holds, chosen per batch. Each shape is its own prepared statement
 * (named by `submitStatement`), and holds only the parts its batch needs: every part is a table
 * the server opens, with each of its indexes, at every execution, rows or none.
 */
interface SubmitShape {
  /** Where the tasks' rows come from: a batch of one binds its values as scalars (sql.ts). */
  tasks: RowSource;
  /**
   * Every task is leased to an eager slot and none has an exclusive key: no queue row and no
   * exclusive key to insert. This is the submit beside an idle worker, whose latency is its task's
   * submit-to-start.
   */
  leasedOnly: boolean;
  /** Where the rows of the finishes it carries come from; undefined when it carries none. */
  finishes: RowSource | undefined;
}

/*
 * Parameters: the task columns $1-$13 (as `prepare` names them), then the eager slot of each task
 * ($14 lease, $15 worker, $16 lease seconds, null where there is none), then $17 the lease key of
 * a queue row (not in a `leasedOnly` statement), then the six of the finishes it carries
 * (`finishing` in ready-queue.ts).
 *
 * A task given an eager slot is written as its claim would leave it: running, first attempt, its
 * lease row, and `task_started` after `task_queued` (a UNION ALL emits its branches in order, and
 * the event ids follow the emitted order). The others get their queue row and wake their queue's
 * workers. The lease's expiry counts from the moment its row is written (`clock_timestamp()`,
 * after the waits this statement may have had on another transaction's idempotency key or on the
 * event-order lock), not from the statement's start: a long wait would otherwise commit a lease
 * already lapsed, which a sweep hands to a second worker while the first runs it. Nothing reads
 * `announced` (every inserted task has an event, so the NOTIFY is decided from `inserted`): the
 * events are written after the rest of the statement, and the event-order lock is held from there
 * to the commit (event-log.ts).
 */
function submitting(shape: SubmitShape): string {
  const rows = (columns: string[]): string => shape.tasks.rows(columns);
  const parts = [`inserted AS (
       INSERT INTO tasks (id, tenant, project_id, task_type, queue, priority, status, input, max_attempts, idempotency_key, concurrency_key, exclusive_key, callback_url, parent_task_id,
         attempts, started_at, lease, worker_id)
       SELECT id, tenant, project_id, task_type, queue, priority, CASE WHEN lease IS NULL THEN 'queued' ELSE 'running' END, input, max_attempts, idempotency_key, concurrency_key, exclusive_key, callback_url, parent_task_id,
         CASE WHEN lease IS NULL THEN 0 ELSE 1 END, CASE WHEN lease IS NULL THEN NULL ELSE now() END, lease, worker_id
       FROM ${rows(['$1::uuid', '$2::text', '$3::text', '$4::text', '$5::text', '$6::int', '$7::jsonb', '$8::int', '$9::text', '$10::text', '$11::text', '$12::text', '$13::uuid', '$14::uuid', '$15::text'])}
         AS new (id, tenant, project_id, task_type, queue, priority, input, max_attempts, idempotency_key, concurrency_key, exclusive_key, callback_url, parent_task_id, lease, worker_id)
       ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING ${taskColumns}
     )`, `leased AS (
       INSERT INTO task_leases (task_id, lease, worker_id, expires_at)
       SELECT inserted.id, inserted.lease, inserted.worker_id, clock_timestamp() + make_interval(secs => slots.lease_seconds)
       FROM inserted JOIN ${rows(['$1::uuid', '$16::float8'])} AS slots (id, lease_seconds) ON slots.id = inserted.id
       WHERE inserted.lease IS NOT NULL
     )`];
  if (!shape.leasedOnly) {
    parts.push(`exclusive AS (
       INSERT INTO task_exclusive_keys (tenant, task_type, exclusive_key, task_id)
       SELECT inserted.tenant, inserted.task_type, keys.exclusive_key, inserted.id
       FROM inserted JOIN ${rows(['$1::uuid', '$11::text'])} AS keys (id, exclusive_key) ON keys.id = inserted.id
       WHERE keys.exclusive_key IS NOT NULL
       RETURNING task_id
     )`, `queued AS (
       INSERT INTO task_queue (task_id, queue, priority, concurrency_key)
       SELECT inserted.id, inserted.queue, inserted.priority, keys.lease_key
       FROM inserted JOIN ${rows(['$1::uuid', '$17::text'])} AS keys (id, lease_key) ON keys.id = inserted.id
       WHERE inserted.lease IS NULL
       RETURNING queue
     )`);
  }
  parts.push(`announced AS (
       ${eventsInsert(`SELECT id AS task_id, tenant, project_id, 'task_queued' AS type,
         jsonb_build_object('task_type', task_type, 'queue', queue, 'priority', priority) AS payload FROM inserted
         UNION ALL
         SELECT id, tenant, project_id, 'task_started',
           jsonb_build_object('attempt', attempts, 'max_attempts', max_attempts, 'worker_id', worker_id, 'resumed', false) FROM inserted WHERE lease IS NOT NULL`)}
     )`);
  if (shape.finishes) parts.push(finishing(shape.leasedOnly ? 17 : 18, shape.finishes));
  return parts.join(', ');
}

/*
 * The main query. `exclusive_keys` reads the exclusive keys' insert so that it runs before the
 * events, which take the event-order lock: left unread, PostgreSQL ran that insert after them,
 * and a submit waiting for another transaction's uncommitted key held the lock for as long,
 * stalling every other submit, claim and settle of the database.
 *
 * Carrying the ended attempts of this process's workers (`finishing` in ready-queue.ts): a
 * process that submits while its workers finish tasks (a submit beside an eager start, children
 * submitted by a running task) commits both at once, instead of one commit waiting for the
 * other's on the event-order lock. It then returns one row per inserted task, with the finishes'
 * list on the first, or one row with no task when none was inserted (every idempotency key
 * matched).
 */
function submitQuery(shape: SubmitShape): string {
  const exclusiveKeys = shape.leasedOnly ? '' : ', (SELECT count(*) FROM exclusive) AS exclusive_keys';
  if (!shape.finishes) {
    const queues = shape.leasedOnly ? '' : `, ${readyNotified('queued')} AS notified_queues`;
    return `WITH ${submitting(shape)}
     SELECT inserted.*, ${eventsNotified('inserted')} AS notified_events${queues}${exclusiveKeys}
     FROM inserted`;
  }
  const woken = shape.leasedOnly
    ? 'released WHERE concurrency_key IS NOT NULL'
    : '(SELECT queue FROM queued UNION ALL SELECT queue FROM released WHERE concurrency_key IS NOT NULL) AS woken';
  return `WITH ${submitting(shape)}
     SELECT inserted.*, CASE WHEN row_number() OVER () = 1 THEN outcome.finished END AS finished,
       ${eventsNotified('(SELECT id FROM inserted UNION ALL SELECT id FROM finished) AS announced_tasks')} AS notified_events,
       ${readyNotified(woken)} AS notified_queues${exclusiveKeys}
     FROM ${finishedOutcome} LEFT JOIN inserted ON true`;
}

const submitStatements = new Map<string, string>();

/** The prepared statement of a shape: its name, and its text, built once per process. */
function submitStatement(shape: SubmitShape): { name: string; text: string } {
  const name = `taskloom_submit${shape.leasedOnly ? '_leased' : ''}${shape.tasks.suffix}${shape.finishes ? `_finishing${shape.finishes.suffix}` : ''}`;
  let text = submitStatements.get(name);
  if (text === undefined) {
    text = submitQuery(shape);
    submitStatements.set(name, text);
  }
  return { name, text };
}

/**
 * Inserts tasks, their queue rows and `task_queued` events in one statement (prepared once per
 * connection and shape), with the finishes it carries if any, and wakes the queues' workers at
 * commit. Tasks whose idempotency key already exists come back as `created: false` with the
 * existing task and are not queued again. A clash on the exclusive key raises the database's
 * unique violation (23505 on task_exclusive_keys_pkey) and writes nothing.
 */
async function insertPrepared(database: Queryable, batch: PreparedSubmit[], slots: Array<EagerSlot | undefined> = [], finishes: Finish[] = []): Promise<{ created: Map<string, TaskRecord>; finished: Finished[] }> {
  const shape: SubmitShape = {
    tasks: rowSourceFor(batch),
    leasedOnly: batch.every((item, index) => slots[index] !== undefined && item.task.exclusiveKey === null),
    finishes: finishes.length > 0 ? rowSourceFor(finishes) : undefined,
  };
  const column = <Value>(pick: (task: NewTask) => Value): Value[] | Value => shape.tasks.column(batch, (item) => pick(item.task));
  const slot = <Value>(pick: (slot: EagerSlot) => Value): Array<Value | null> | Value | null => shape.tasks.column(batch, (_, index) => (slots[index] === undefined ? null : pick(slots[index])));
  type Row = TaskRecord & { finished?: Finished[] | null; notified_events: unknown; notified_queues?: unknown; exclusive_keys?: unknown };
  const result = await database.query<Row>({
    ...submitStatement(shape),
    values: [
      column((task) => task.id), column((task) => task.tenant), column((task) => task.projectId), column((task) => task.taskType),
      column((task) => task.queue), column((task) => task.priority), column((task) => JSON.stringify(task.input)),
      column((task) => task.maxAttempts), column((task) => task.idempotencyKey), column((task) => task.concurrencyKey),
      column((task) => task.exclusiveKey), column((task) => task.callbackUrl), column((task) => task.parentTaskId),
      slot((held) => held.lease), slot((held) => held.workerId), slot((held) => held.leaseSeconds),
      ...(shape.leasedOnly ? [] : [column((task) => leaseKey({ tenant: task.tenant, task_type: task.taskType, concurrency_key: task.concurrencyKey }))]),
      ...(shape.finishes ? finishingValues(finishes, shape.finishes) : []),
    ],
  });
  const created = new Map<string, TaskRecord>();
  for (const row of result.rows) {
    const { finished: _finished, notified_events: _events, notified_queues: _queues, exclusive_keys: _keys, ...task } = row;
    if (task.id !== null) created.set(task.id, task);
  }
  return { created, finished: finishedOf(result.rows) };
}

/** A submit's answer once its statement committed: its new task, or the task its idempotency key already named. */
async function resultOf(database: Queryable, prepared: PreparedSubmit, created: Map<string, TaskRecord>): Promise<SubmitResult> {
  const task = created.get(prepared.task.id);
  if (task) return { task, created: true };
  return { task: (await findByIdempotencyKey(database, prepared.task.tenant, prepared.task.idempotencyKey!))!, created: false };
}

/**
 * Eager slots for a batch, highest priority first (one free slot beside a low and a high task
 * goes to the high one). Keyed tasks always take the queue: only a claim decides which task of a
 * key runs.
 */
function eagerSlots(batch: PendingSubmit[], eagerSlot: SubmitDependencies['eagerSlot']): Array<EagerSlot | undefined> {
  const slots: Array<EagerSlot | undefined> = batch.map(() => undefined);
  if (!eagerSlot) return slots;
  const order = batch.map((_, index) => index).sort((left, right) => batch[right]!.prepared.task.priority - batch[left]!.prepared.task.priority);
  for (const index of order) {
    const task = batch[index]!.prepared.task;
    if (task.concurrencyKey === null) slots[index] = eagerSlot(task.queue);
  }
  return slots;
}

interface PendingSubmit {
  prepared: PreparedSubmit;
  resolve: (result: SubmitResult) => void;
  reject: (error: unknown) => void;
}

/** Largest group committed together. */
const maxBatch = 500;

/**
 * Group commit for submits: requests arriving while a transaction is in flight are written
 * together in the next one. One submit alone costs one transaction as before; under load a
 * transaction carries many, so the event-order lock and the commit are paid once per batch.
 * A batch that fails as a whole (one task's exclusive key is taken) is retried one request per
 * transaction, so only the conflicting request fails.
 */
export class SubmitBatcher {
  readonly #dependencies: SubmitDependencies;
  #pending: PendingSubmit[] = [];
  #flushing = false;

  constructor(dependencies: SubmitDependencies) {
    this.#dependencies = dependencies;
  }

  /** Validates at once (throwing before anything is written), then joins the next commit. */
  submit(request: SubmitRequest): Promise<SubmitResult> {
    const prepared = prepare(this.#dependencies.registry, request);
    return new Promise((resolve, reject) => {
      this.#pending.push({ prepared, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        void this.#flushLoop();
      }
    });
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        // Submits made in the same turn (a fan-out's children, a burst of requests) join one
        // commit instead of the first going alone, and so do the outcomes of tasks ending in it:
        // the workers hold those for this statement, for this turn only (never while a statement
        // is in flight, which may wait on a lock for as long as another transaction holds it).
        this.#dependencies.finishes?.expect();
        await new Promise((resolve) => setImmediate(resolve));
        const batch = this.#pending.splice(0, maxBatch);
        const slots = eagerSlots(batch, this.#dependencies.eagerSlot);
        let created: Map<string, TaskRecord>;
        try {
          created = await this.#insert(batch.map((item) => item.prepared), slots);
        } catch (error) {
          // The statement may have committed with only its answer lost (the connection dropped
          // with it): its tasks are stored under the ids this process gave them, those with a
          // slot leased to it, and go on as if the answer had come. Released, such a slot left
          // its task leased to nobody until the lease lapsed, and a lone submit answered an
          // error for a task that would run (a retry without an idempotency key, a duplicate).
          const stored = isDatabaseConnectionError(error) ? await getTasks(this.#dependencies.pool, batch.map((item) => item.prepared.task.id)).catch(() => undefined) : undefined;
          if (stored !== undefined && stored.size > 0) {
            created = stored;
          } else {
            await this.#retryAlone(batch, slots, error);
            continue;
          }
        }
        // Committed: the tasks leased to a worker start before anything else can fail, or they
        // would sit leased and never run until their lease lapsed.
        batch.forEach((item, index) => {
          const slot = slots[index];
          if (slot === undefined) return;
          const task = created.get(item.prepared.task.id);
          if (task !== undefined && task.lease === slot.lease) slot.start(task);
          else slot.release();
        });
        for (const item of batch) {
          try {
            item.resolve(await resultOf(this.#dependencies.pool, item.prepared, created));
          } catch (error) {
            // Only the read of an earlier task named by an idempotency key can fail here.
            item.reject(error);
          }
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /**
   * Writes a batch with the finishes a worker has waiting (`SubmitDependencies.finishes`). When
   * that statement fails, what failed may be the finishes rather than the submits (a result the
   * database refuses, a deadlock on their rows): they go back to their worker, which writes them
   * itself, and the batch goes again on its own. Not after a lost connection, which may have
   * lost the answer to a statement that committed.
   */
  /**
   * A batch whose statement wrote nothing (or whose outcome could not be read): the slots go back,
   * and the batch is retried one request per statement through the queue (a slot is held only
   * for as long as one statement). A lone request gets its refusal.
   */
  async #retryAlone(batch: PendingSubmit[], slots: Array<EagerSlot | undefined>, error: unknown): Promise<void> {
    for (const slot of slots) slot?.release();
    if (batch.length === 1) {
      batch[0]!.reject(await explainRefusal(this.#dependencies.pool, batch[0]!.prepared, error));
      return;
    }
    for (const item of batch) {
      try {
        item.resolve(await resultOf(this.#dependencies.pool, item.prepared, (await insertPrepared(this.#dependencies.pool, [item.prepared])).created));
      } catch (singleError) {
        // The batch's statement committed and only its answer was lost, and reading its tasks
        // back failed too: the task is there under the id this process gave it.
        const stored = isDatabaseConnectionError(error) && (singleError as DatabaseError).code === '23505' && (singleError as DatabaseError).constraint === 'tasks_pkey'
          ? await getTask(this.#dependencies.pool, item.prepared.task.id).catch(() => undefined)
          : undefined;
        if (stored) item.resolve({ task: stored, created: true });
        else item.reject(await explainRefusal(this.#dependencies.pool, item.prepared, singleError));
      }
    }
  }

  async #insert(batch: PreparedSubmit[], slots: Array<EagerSlot | undefined>): Promise<Map<string, TaskRecord>> {
    let carried: CarriedFinishes | undefined;
    try {
      carried = this.#dependencies.finishes?.carry();
      const written = await insertPrepared(carried?.database ?? this.#dependencies.pool, batch, slots, carried?.finishes);
      if (carried) void carried.recorded(written.finished);
      return written.created;
    } catch (error) {
      carried?.failed();
      if (carried === undefined || isDatabaseConnectionError(error)) throw error;
    }
    return (await insertPrepared(this.#dependencies.pool, batch, slots)).created;
  }

}

/** Turns a clash on the exclusive-key index into a conflict naming the active task. */
async function explainRefusal(database: Queryable, prepared: PreparedSubmit, error: unknown): Promise<unknown> {
  const databaseError = error as DatabaseError;
  if (databaseError.code === '23505' && databaseError.constraint === 'task_exclusive_keys_pkey' && prepared.exclusiveKey !== null) {
    const active = await findActiveExclusive(database, prepared.task.tenant, prepared.task.taskType, prepared.exclusiveKey).catch(() => undefined);
    return new ConcurrencyConflictError(prepared.task.taskType, prepared.exclusiveKey, active?.id ?? 'unknown');
  }
  return error;
}

/**
 * Writes one task in the caller's transaction (`Engine.submitWithin`, which runs it in a
 * savepoint): a refusal on an exclusive key is described once the savepoint is rolled back. The
 * task, its queue row and its event become visible, and the NOTIFY is sent, when the caller
 * commits.
 */
export async function submitInTransaction(transaction: Queryable, registry: TaskRegistry, request: SubmitRequest): Promise<SubmitResult> {
  const prepared = prepare(registry, request);
  const created = await withSavepoint(transaction, async () => (await insertPrepared(transaction, [prepared])).created, (error) => explainRefusal(transaction, prepared, error));
  return resultOf(transaction, prepared, created);
}
