/**
 * Recording how an attempt ended. Outcomes arriving together are written together: the common
 * ones (completed, failed, cancelled) in one statement for the whole batch, which is what lets a
 * worker drain thousands of short tasks a second while every task record and event is kept.
 *
 * Each outcome is fenced by the attempt's lease: an attempt that lost its task writes nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDatabaseConnectionError } from '../db/connection-errors.ts';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.ts';
import type { DeliveryConnections } from './delivery-connections.ts';
import type { Logger } from '../logger.ts';
import { cancelChildren } from './cancel.ts';
import { appendEvents, type NewEvent } from './event-log.ts';
import { deliver, enqueue, releaseLeases, type ClaimRequest, type DeliveryResult, type Finish, type Finished } from './ready-queue.ts';
import type { TaskRecord } from './task-store.ts';
import { cancelPendingWaitpoints, resolveChildWaits, waitpointColumns, type WaitpointRecord } from './waitpoints.ts';

export type Outcome =
  | { kind: 'completed'; result: unknown }
  | { kind: 'cancelled'; result: unknown }
  | { kind: 'failed'; error: Record<string, unknown> }
  | { kind: 'retry'; error: Record<string, unknown>; delayMs: number }
  /** Handed back (graceful shutdown): queued again at once without spending the attempt. */
  | { kind: 'released' }
  /**
   * Handed back by the handler (`context.snooze`), or by a worker that does not know the task's
   * type (`reason`): queued again after the delay, attempt not spent.
   */
  | { kind: 'snoozed'; delayMs: number; reason?: 'unknown_task_type' }
  /** Parked on a waitpoint (`context.waitFor`, `sleep`, `waitForChildren`): no slot until it resolves. */
  | { kind: 'waiting'; waitpointId: string };

/**
 * Ended attempts handed to a statement that records them along with its own work (`Settler.carry`).
 * It runs on `database`, the worker's delivery connections, whose settings keep each finish an
 * index lookup (delivery-connections.ts). Its sender calls `recorded` once that statement
 * committed, or `failed` if it did not.
 */
export interface CarriedFinishes {
  database: DeliveryConnections;
  finishes: Finish[];
  recorded: (finished: Finished[]) => Promise<void>;
  failed: () => void;
}

export interface Settlement {
  task: TaskRecord;
  outcome: Outcome;
  durationMs: number;
}

interface Pending {
  settlement: Settlement;
  /** Set once its promise is settled, so a retry after a partial failure skips it. */
  settled?: boolean;
  resolve: (applied: boolean) => void;
  reject: (error: unknown) => void;
}

export class Settler {
  /** For the transactions that record other outcomes (requeue, park) and resume parents. */
  readonly #pool: Pool;
  /** Where the delivery statement goes. */
  readonly #delivery: DeliveryConnections;
  readonly #logger: Logger;
  #pending: Pending[] = [];
  /** Tasks whose outcome is not yet recorded (queued here or being written): their leases stay alive. */
  readonly #unsettled = new Set<string>();
  #flushing: Promise<void> | undefined;
  /**
   * Finishes handed to a statement by `carry`, until its sender reports back and the parents
   * they may resume are resolved: `idle` waits for these as for the flush, so a worker that stops
   * closes its connections only after them.
   */
  readonly #carried = new Set<Promise<void>>();
  /** Cancels of the children of tasks that ended cancelled (`#cancelChildrenOf`); `idle` waits for them. */
  readonly #cancellingChildren = new Set<Promise<void>>();
  /** The worker claims (or calls `flushNow`) before long: ended outcomes wait to ride its claim. */
  #claimExpected = false;
  /** A submit statement is about to go out and will `carry` ended outcomes (submit.ts). */
  #carrierExpected = false;
  readonly #onSettled: (settlements: Settlement[]) => void;

  constructor(connections: { pool: Pool; delivery: DeliveryConnections }, logger: Logger, onSettled: (settlements: Settlement[]) => void = () => {}) {
    this.#pool = connections.pool;
    this.#delivery = connections.delivery;
    this.#logger = logger;
    this.#onSettled = onSettled;
  }

  /** Resolves true when recorded, false when the attempt no longer held the task. */
  settle(settlement: Settlement): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#unsettled.add(settlement.task.id);
      this.#pending.push({ settlement, resolve, reject: (error) => {
        this.#unsettled.delete(settlement.task.id);
        reject(error);
      } });
      this.#flushPending();
    });
  }

  get unsettledTaskIds(): string[] {
    return [...this.#unsettled];
  }

  /** Until nothing is being written: the flush loop, the finishes handed to a submit, children being cancelled. */
  async idle(): Promise<void> {
    while (this.#flushing || this.#carried.size > 0 || this.#cancellingChildren.size > 0) {
      await Promise.all([this.#flushing, ...this.#carried, ...this.#cancellingChildren]);
    }
  }

  /**
   * Claims for the worker in the statement that records the attempts that ended and are still
   * waiting to be written: the worker's steady state (slots freed, fill them) costs one commit.
   * Keyed tasks' finishes stay for the flush (see the delivery statement in ready-queue.ts). If
   * the statement fails, the finishes go back to the flush, which retries them.
   */
  async claim(request: ClaimRequest): Promise<DeliveryResult> {
    this.#claimExpected = false;
    const taken = this.#take((task) => task.concurrency_key === null);
    try {
      return await this.#deliver(taken.items, request, taken.finishes);
    } catch (error) {
      this.#giveBack(taken.items);
      // The database refused something the finishes carry (a result jsonb cannot store): the
      // flush records them one by one, and the claim goes again alone rather than the worker
      // backing off every queue as if the database were away.
      if (taken.items.length > 0 && !isTransient(error)) return this.#deliver([], request, []);
      throw error;
    }
  }

  /**
   * The caller is about to claim: outcomes arriving meanwhile are left for its claim instead of
   * a commit of their own. It must then call `claim` or `flushNow`.
   */
  expectClaim(): void {
    this.#claimExpected = true;
  }

  /**
   * A statement that carries finishes is about to go out: outcomes arriving meanwhile are left
   * for it, even if the worker calls `flushNow`. Its sender must then call `carry`.
   */
  expectCarrier(): void {
    this.#carrierExpected = true;
  }

  /**
   * Hands the ended attempts waiting to be written to a statement about to go out (a submit,
   * submit.ts), which records them with `finishing` (ready-queue.ts) and reports back; what it
   * does not take is flushed as usual. As with a claim, only tasks without a concurrency key
   * travel (a task with an exclusive key has it as its concurrency key too): their finish frees
   * no key another statement could be waiting for while it holds one this statement takes. Nothing
   * travels while every delivery connection is busy: the submit would wait for the worker's claims.
   */
  carry(): CarriedFinishes | undefined {
    this.#carrierExpected = false;
    const taken = this.#delivery.available ? this.#take((task) => task.concurrency_key === null) : { items: [], finishes: [] };
    this.#flushPending();
    if (taken.items.length === 0) return undefined;
    let reported!: () => void;
    const handedOff = new Promise<void>((resolve) => { reported = resolve; });
    this.#carried.add(handedOff);
    void handedOff.then(() => this.#carried.delete(handedOff));
    return {
      database: this.#delivery,
      finishes: taken.finishes,
      recorded: async (finished) => {
        try {
          await this.#recorded(taken.items, finished);
        } finally {
          reported();
        }
      },
      failed: () => {
        this.#giveBack(taken.items);
        reported();
      },
    };
  }

  /** The statement `expectCarrier` announced carries another worker's outcomes: these flush as usual. */
  releaseCarrier(): void {
    this.#carrierExpected = false;
    this.#flushPending();
  }

  /**
   * Removes from the queue the ended outcomes of the tasks `eligible` accepts, with their finishes.
   * An outcome whose result cannot be serialized (a BigInt, a cycle) stays for the flush, which
   * records its task as failed with `outcome_not_stored`, instead of failing the statement that
   * would have carried it and everything else in it.
   */
  #take(eligible: (task: TaskRecord) => boolean): { items: Pending[]; finishes: Finish[] } {
    const items: Pending[] = [];
    const finishes: Finish[] = [];
    this.#pending = this.#pending.filter((item) => {
      if (!isEnded(item.settlement) || !eligible(item.settlement.task)) return true;
      let finish: Finish;
      try {
        finish = finishOf(item.settlement);
      } catch {
        return true;
      }
      items.push(item);
      finishes.push(finish);
      return false;
    });
    return { items, finishes };
  }

  /** Outcomes taken for a statement that failed: the flush writes them (and retries). */
  #giveBack(taken: Pending[]): void {
    if (taken.length === 0) return;
    this.#pending.unshift(...taken);
    this.#flushPending();
  }

  /** Starts the flush loop, unless it runs already or nothing waits (the loop takes what comes meanwhile). */
  #flushPending(): void {
    if (!this.#flushing && this.#pending.length > 0) this.#flushing = this.#flushLoop();
  }

  /** Writes what no claim took (keyed finishes, parks, retries, or no claim came). */
  flushNow(): void {
    this.#claimExpected = false;
    this.#flushPending();
  }

  async #flushLoop(): Promise<void> {
    // Let outcomes finishing in the same tick join the batch (or the worker's next claim).
    await new Promise((resolve) => setImmediate(resolve));
    if (this.#claimExpected || this.#carrierExpected) {
      this.#flushing = undefined;
      return;
    }
    let backoffMs = 0;
    let failingSince: number | undefined;
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      const ended = batch.filter((item) => isEnded(item.settlement));
      const others = batch.filter((item) => !isEnded(item.settlement));
      try {
        if (ended.length > 0) await this.#deliverSplitting(ended);
        if (others.length > 0) {
          const held = new Set(await withTransaction(this.#pool, (transaction) => requeueOrPark(transaction, others.map((item) => item.settlement))));
          this.#resolve(others, held);
        }
        backoffMs = 0;
        failingSince = undefined;
      } catch (error) {
        const pending = batch.filter((item) => !item.settled);
        // An outage or a lost lock race: the outcomes wait in memory and are written when the
        // database answers. A lease is the worker's until its heartbeat lapses, so dropping them
        // would leave their tasks `running` for as long as this worker lives.
        failingSince ??= performance.now();
        if (isTransient(error) && performance.now() - failingSince < giveUpAfterMs) {
          if (backoffMs === 0) this.#logger.warn({ err: error, count: pending.length }, 'recording task outcomes failed; retrying until the database answers');
          backoffMs = Math.min(5_000, Math.max(200, backoffMs * 2));
          this.#pending.unshift(...pending);
          await sleep(backoffMs);
          continue;
        }
        this.#logger.error({ err: error, count: pending.length }, 'recording task outcomes failed; their tasks resume elsewhere once this worker stops');
        for (const item of pending) item.reject(error);
      }
    }
    this.#flushing = undefined;
  }

  /**
   * Records ended attempts; when the batch fails on one attempt's outcome (a result the database
   * refuses to store), records them one by one so only that one is affected, and fails it with
   * `outcome_not_stored` instead of leaving it running.
   */
  async #deliverSplitting(ended: Pending[]): Promise<void> {
    try {
      await this.#deliver(ended);
      return;
    } catch (error) {
      if (isTransient(error)) throw error;
      if (ended.length > 1) {
        for (const item of ended) await this.#deliverSplitting([item]);
        return;
      }
      const [item] = ended as [Pending];
      const outcome = item.settlement.outcome;
      if (outcome.kind === 'failed' && outcome.error.code === 'outcome_not_stored') throw error;
      this.#logger.error({ err: error, taskId: item.settlement.task.id }, 'the database refused a task\'s outcome; the task fails with outcome_not_stored');
      const replacement: Settlement = {
        ...item.settlement,
        outcome: { kind: 'failed', error: { code: 'outcome_not_stored', message: `The task's ${outcome.kind} outcome could not be stored: ${(error as Error).message}`, retryable: false } },
      };
      await this.#deliver([{ ...item, settlement: replacement }]);
    }
  }

  /** Records ended attempts (and claims, when asked) in one statement; settles their promises. */
  async #deliver(ended: Pending[], claim?: ClaimRequest, finishes = ended.map((item) => finishOf(item.settlement))): Promise<DeliveryResult> {
    const result = await deliver(this.#delivery, finishes, claim);
    await this.#recorded(ended, result.finished);
    return result;
  }

  /** A statement recorded the ends of `ended` whose lease still held their task (`finished`). */
  async #recorded(ended: Pending[], finished: Finished[]): Promise<void> {
    this.#resolve(ended, new Set(finished.map((row) => row.id)));
    const parents = finished.flatMap((row) => (row.parent_task_id === null ? [] : [row.parent_task_id]));
    // A parent waiting for a task that ended here may move on. Its own transaction, after the
    // children's commit: a crash in between leaves the wait to the sweep, which resolves it.
    if (parents.length > 0) {
      await withTransaction(this.#pool, (transaction) => resolveChildWaits(transaction, parents)).catch((error: unknown) => {
        this.#logger.warn({ err: error }, 'resuming parents of finished tasks failed; the waitpoint sweep resumes them');
      });
    }
  }

  #resolve(items: Pending[], held: Set<string>): void {
    for (const item of items) {
      item.settled = true;
      this.#unsettled.delete(item.settlement.task.id);
      item.resolve(held.has(item.settlement.task.id));
    }
    const settled = items.filter((item) => held.has(item.settlement.task.id)).map((item) => item.settlement);
    if (settled.length === 0) return;
    const cancelled = settled.filter((settlement) => settlement.outcome.kind === 'cancelled').map((settlement) => settlement.task.id);
    if (cancelled.length > 0) this.#cancelChildrenOf(cancelled);
    // The settled hook (metrics, tests): one that throws is logged, never taken for the
    // database refusing the outcomes, nor let into the submit that carried them.
    try {
      this.#onSettled(settled);
    } catch (error) {
      this.#logger.warn({ err: error }, 'a settled hook threw');
    }
  }

  /**
   * A task that ended cancelled cancels its unfinished children once more, after its ending
   * committed. The cancel itself lists them when it is requested, but a handler that had not yet
   * heard of it may submit a child after that listing (the child's insert waiting on a lock, or
   * the NOTIFY still on its way); the attempt's end comes after every child its handler awaited,
   * so this pass finds them. A child the cancel already reached is not listed again.
   */
  #cancelChildrenOf(taskIds: string[]): void {
    const cancelling = (async () => {
      for (const taskId of taskIds) {
        await cancelChildren({ pool: this.#pool, logger: this.#logger }, taskId, {}).catch((error: unknown) => {
          this.#logger.warn({ err: error, taskId }, 'could not cancel the children of a cancelled task; they run to their end');
        });
      }
    })();
    this.#cancellingChildren.add(cancelling);
    void cancelling.then(() => this.#cancellingChildren.delete(cancelling));
  }
}

/** How long outcomes are retried through an outage before the worker gives up on them. */
const giveUpAfterMs = 60_000;

/** Worth retrying: the database is away, or this statement lost a deadlock or serialization race. */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return isDatabaseConnectionError(error) || code === '40P01' || code === '40001';
}

function isEnded(settlement: Settlement): boolean {
  const kind = settlement.outcome.kind;
  return kind === 'completed' || kind === 'cancelled' || kind === 'failed';
}

/** The delivery statement's form of an attempt that ended. */
function finishOf(item: Settlement): Finish {
  const outcome = item.outcome as Extract<Outcome, { kind: 'completed' | 'cancelled' | 'failed' }>;
  return {
    taskId: item.task.id,
    lease: item.task.lease,
    status: outcome.kind,
    result: 'result' in outcome && outcome.result !== undefined ? JSON.stringify(outcome.result) : null,
    error: 'error' in outcome ? JSON.stringify(outcome.error) : null,
    durationMs: item.durationMs,
  };
}

/**
 * Retries, hand-backs, snoozes and parks, in the caller's transaction: the rare outcomes, one
 * statement each. Returns the ids of the tasks whose lease still held. A task whose cancel was
 * requested while its attempt ended this way ends cancelled here instead (its outcome becomes
 * `cancelled`): the worker hears a cancel only while the handler runs, and one that landed
 * between the handler's end and this commit would otherwise park the task for good, or run it
 * again after its backoff.
 */
async function requeueOrPark(transaction: PoolClient, settlements: Settlement[]): Promise<string[]> {
  const held: string[] = [];
  const events: NewEvent[] = [];
  const event = (task: TaskRecord, type: string, payload: Record<string, unknown>): void => {
    events.push({ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type, payload });
  };
  // Locked first, in id order (two settles never wait for each other), so that a cancel either
  // committed before this read or finds the task parked or queued and ends it itself.
  const ids = settlements.map((item) => item.task.id);
  const leases = settlements.map((item) => item.task.lease);
  const locked = await transaction.query<{ id: string; cancel_requested: boolean }>(
    `SELECT id, cancel_requested_at IS NOT NULL AS cancel_requested FROM tasks WHERE id = ANY($1::uuid[]) AND lease = ANY($2::uuid[]) ORDER BY id FOR NO KEY UPDATE`,
    [ids, leases],
  );
  const toCancel = new Set(locked.rows.filter((row) => row.cancel_requested).map((row) => row.id));
  const ending = settlements.filter((item) => toCancel.has(item.task.id));
  for (const item of ending) {
    const updated = await transaction.query(
      `UPDATE tasks SET status = 'cancelled', completed_at = now(), updated_at = now(), lease = NULL, worker_id = NULL, next_attempt_at = NULL WHERE id = $1 AND lease = $2`,
      [item.task.id, item.task.lease],
    );
    if (updated.rowCount === 0) continue;
    held.push(item.task.id);
    event(item.task, 'task_cancelled', { result: null, previous_state: 'running', attempt: item.task.attempts });
    item.outcome = { kind: 'cancelled', result: null };
  }
  if (ending.length > 0) {
    await cancelPendingWaitpoints(transaction, ending.map((item) => item.task.id));
    const parents = ending.flatMap((item) => (item.task.parent_task_id === null ? [] : [item.task.parent_task_id]));
    if (parents.length > 0) await resolveChildWaits(transaction, parents);
  }
  // Parking: unless its waitpoint resolved meanwhile (then it is requeued below at once).
  const resumeNow: Settlement[] = [];
  for (const item of settlements.filter((settlement) => settlement.outcome.kind === 'waiting')) {
    const outcome = item.outcome as Extract<Outcome, { kind: 'waiting' }>;
    const locked = await transaction.query('SELECT 1 FROM tasks WHERE id = $1 AND lease = $2 FOR NO KEY UPDATE', [item.task.id, item.task.lease]);
    if (locked.rowCount === 0) continue;
    // Read after the task row is locked: a resolver that committed first is seen here; one that
    // commits later finds the task `waiting` and requeues it itself.
    const found = await transaction.query<WaitpointRecord>(`SELECT ${waitpointColumns} FROM waitpoints WHERE id = $1`, [outcome.waitpointId]);
    const waitpoint = found.rows[0];
    if (!waitpoint || waitpoint.status !== 'pending') {
      resumeNow.push(item);
      continue;
    }
    await transaction.query(
      `UPDATE tasks SET status = 'waiting', attempts = attempts - 1, lease = NULL, worker_id = NULL, next_attempt_at = $2, updated_at = now() WHERE id = $1`,
      [item.task.id, waitpoint.timeout_at],
    );
    held.push(item.task.id);
    event(item.task, 'task_waiting', { waitpoint_id: waitpoint.id, key: waitpoint.key, kind: waitpoint.kind, timeout_at: waitpoint.timeout_at, children: waitpoint.children?.length ?? null });
  }

  // Retries, releases, snoozes and resumes go back on the queue, due after their delay.
  const requeued: Array<{ task: TaskRecord; runAt?: Date }> = [];
  for (const item of [...settlements.filter((settlement) => ['retry', 'released', 'snoozed'].includes(settlement.outcome.kind)), ...resumeNow]) {
    const outcome = item.outcome;
    const retry = outcome.kind === 'retry';
    const delayMs = outcome.kind === 'retry' || outcome.kind === 'snoozed' ? outcome.delayMs : 0;
    const runAt = new Date(Date.now() + delayMs);
    const updated = await transaction.query(
      `UPDATE tasks SET status = $3, error = coalesce($4::jsonb, error), attempts = attempts - $5, next_attempt_at = $6,
         lease = NULL, worker_id = NULL, updated_at = now()
       WHERE id = $1 AND lease = $2`,
      [item.task.id, item.task.lease, retry ? 'retrying' : 'queued', retry ? JSON.stringify(outcome.error) : null, retry ? 0 : 1, delayMs > 0 ? runAt : null],
    );
    if (updated.rowCount === 0) continue;
    held.push(item.task.id);
    // Due now: the queue row takes the server's clock, whose `now()` is what decides whether the
    // commit wakes the queue's workers. A time from this process's clock, a moment after the
    // transaction began, counted as not yet due: the NOTIFY was left out, and a parent whose
    // children ended before it parked, or a task handed back at shutdown, waited for a worker's
    // polling backstop (2 s by default).
    requeued.push(delayMs > 0 ? { task: item.task, runAt } : { task: item.task });
    if (retry) event(item.task, 'task_retrying', { attempt: item.task.attempts, max_attempts: item.task.max_attempts, error: outcome.error, delay_ms: outcome.delayMs, next_attempt_at: runAt.toISOString() });
    else if (outcome.kind === 'snoozed') event(item.task, 'task_queued', { reason: outcome.reason ?? 'snoozed', delay_ms: outcome.delayMs, next_attempt_at: runAt.toISOString() });
    else if (outcome.kind === 'waiting') event(item.task, 'task_queued', { reason: 'resumed', waitpoint_id: outcome.waitpointId });
    else event(item.task, 'task_queued', { reason: 'released', attempt: item.task.attempts - 1 });
  }
  await enqueue(transaction, requeued);
  await releaseLeases(transaction, settlements.filter((item) => held.includes(item.task.id)).map((item) => ({ taskId: item.task.id, lease: item.task.lease })));
  await appendEvents(transaction, events);
  return held;
}
