/**
 * Recording how an attempt ended. Outcomes arriving together are written in one transaction
 * (one UPDATE per kind, one event insert, one pg-boss call per queue), which is what lets a
 * worker drain thousands of short tasks a second while every task record and event is kept.
 *
 * Each outcome is fenced by the attempt's lease: an attempt that lost its task writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { bossDatabase, type Boss } from './boss.ts';
import { appendEvents, type NewEvent } from './event-log.ts';
import type { TaskRecord } from './task-store.ts';
import { resolveChildWaits, waitpointColumns, type WaitpointRecord } from './waitpoints.ts';

export type Outcome =
  | { kind: 'completed'; result: unknown }
  | { kind: 'cancelled'; result: unknown }
  | { kind: 'failed'; error: Record<string, unknown> }
  | { kind: 'retry'; error: Record<string, unknown>; delayMs: number }
  /** Handed back (graceful shutdown): queued again at once without spending the attempt. */
  | { kind: 'released' }
  /** Handed back by the handler (`context.snooze`): queued again after the delay, attempt not spent. */
  | { kind: 'snoozed'; delayMs: number }
  /** Parked on a waitpoint (`context.waitFor`, `sleep`, `waitForChildren`): no slot until it resolves. */
  | { kind: 'waiting'; waitpointId: string };

export interface Settlement {
  task: TaskRecord;
  /** pg-boss job of this attempt, with the retry count it was fetched at (pg-boss's fence). */
  job: { id: string; retryCount: number };
  outcome: Outcome;
  durationMs: number;
}

interface Pending {
  settlement: Settlement;
  resolve: (applied: boolean) => void;
  reject: (error: unknown) => void;
}

export class Settler {
  readonly #pool: Pool;
  readonly #boss: Boss;
  readonly #logger: Logger;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  readonly #onSettled: (settlements: Settlement[]) => void;

  constructor(pool: Pool, boss: Boss, logger: Logger, onSettled: (settlements: Settlement[]) => void = () => {}) {
    this.#pool = pool;
    this.#boss = boss;
    this.#logger = logger;
    this.#onSettled = onSettled;
  }

  /** Resolves true when recorded, false when the attempt no longer held the task. */
  settle(settlement: Settlement): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ settlement, resolve, reject });
      if (!this.#flushing) this.#flushing = this.#flushLoop();
    });
  }

  async idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    // Let outcomes finishing in the same tick join the batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const applied = await withTransaction(this.#pool, (transaction) => this.#write(transaction, batch.map((item) => item.settlement)));
        batch.forEach((item, index) => item.resolve(applied[index]!));
        const settled = batch.filter((_, index) => applied[index]).map((item) => item.settlement);
        if (settled.length > 0) this.#onSettled(settled);
      } catch (error) {
        this.#logger.error({ err: error, count: batch.length }, 'recording task outcomes failed');
        for (const item of batch) item.reject(error);
      }
    }
    this.#flushing = undefined;
  }

  async #write(transaction: PoolClient, settlements: Settlement[]): Promise<boolean[]> {
    const byKind = (kind: Outcome['kind']): Settlement[] => settlements.filter((settlement) => settlement.outcome.kind === kind);
    const held = new Set<string>();
    const events: NewEvent[] = [];
    /** Parents that may be waiting for the tasks that ended here. */
    const parents: string[] = [];
    const event = (task: TaskRecord, type: string, payload: Record<string, unknown>): void => {
      events.push({ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type, payload });
    };

    const finish = async (kind: 'completed' | 'cancelled' | 'failed', items: Settlement[]): Promise<void> => {
      if (items.length === 0) return;
      // A task that ended takes its unresolved waits with it, in the same statement: no extra
      // round trip on the settle path for the many tasks that never wait.
      const updated = await transaction.query<{ id: string; parent_task_id: string | null }>(
        `WITH finished AS (
           UPDATE tasks t SET status = $1, result = o.result, error = o.error, completed_at = now(), updated_at = now(), lease = NULL,
             progress = CASE WHEN $1 = 'completed' THEN 100 ELSE t.progress END
           FROM unnest($2::uuid[], $3::uuid[], $4::jsonb[], $5::jsonb[]) AS o (id, lease, result, error)
           WHERE t.id = o.id AND t.lease = o.lease
           RETURNING t.id, t.parent_task_id
         ), dropped_waits AS (
           UPDATE waitpoints w SET status = 'cancelled', completed_at = now() FROM finished WHERE w.task_id = finished.id AND w.status = 'pending'
         )
         SELECT id, parent_task_id FROM finished`,
        [
          kind,
          items.map((item) => item.task.id),
          items.map((item) => item.task.lease),
          items.map((item) => ('result' in item.outcome && item.outcome.result !== undefined ? JSON.stringify(item.outcome.result) : null)),
          items.map((item) => ('error' in item.outcome ? JSON.stringify(item.outcome.error) : null)),
        ],
      );
      const ids = new Set(updated.rows.map((row) => row.id));
      for (const row of updated.rows) if (row.parent_task_id !== null) parents.push(row.parent_task_id);
      for (const item of items) {
        if (!ids.has(item.task.id)) continue;
        held.add(item.task.id);
        const outcome = item.outcome;
        if (outcome.kind === 'completed') event(item.task, 'task_completed', { result: outcome.result ?? null, duration_ms: item.durationMs, attempt: item.task.attempts });
        else if (outcome.kind === 'cancelled') event(item.task, 'task_cancelled', { result: outcome.result ?? null, previous_state: 'running', attempt: item.task.attempts });
        else if (outcome.kind === 'failed') event(item.task, 'task_failed', { error: outcome.error, attempt: item.task.attempts });
      }
    };
    await finish('completed', byKind('completed'));
    await finish('cancelled', byKind('cancelled'));
    await finish('failed', byKind('failed'));

    // A parent waiting for a task that ended here may move on.
    if (parents.length > 0) await resolveChildWaits(transaction, this.#boss, parents);

    // Parking: unless its waitpoint resolved meanwhile (then it is requeued below at once).
    const resumeNow: Settlement[] = [];
    for (const item of byKind('waiting')) {
      const outcome = item.outcome as Extract<Outcome, { kind: 'waiting' }>;
      const locked = await transaction.query('SELECT 1 FROM tasks WHERE id = $1 AND lease = $2 FOR UPDATE', [item.task.id, item.task.lease]);
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
        `UPDATE tasks SET status = 'waiting', attempts = attempts - 1, job_id = NULL, lease = NULL, worker_id = NULL, next_attempt_at = $2, updated_at = now() WHERE id = $1`,
        [item.task.id, waitpoint.timeout_at],
      );
      held.add(item.task.id);
      event(item.task, 'task_waiting', { waitpoint_id: waitpoint.id, key: waitpoint.key, kind: waitpoint.kind, timeout_at: waitpoint.timeout_at, children: waitpoint.children?.length ?? null });
    }

    // Retries, releases, snoozes and resumes go back on the queue as new pg-boss jobs.
    const requeue: Array<{ item: Settlement; jobId: string; startAfter: Date }> = [];
    for (const item of [...byKind('retry'), ...byKind('released'), ...byKind('snoozed'), ...resumeNow]) {
      const outcome = item.outcome;
      const jobId = randomUUID();
      const retry = outcome.kind === 'retry';
      const delayMs = outcome.kind === 'retry' || outcome.kind === 'snoozed' ? outcome.delayMs : 0;
      const startAfter = new Date(Date.now() + delayMs);
      const updated = await transaction.query(
        `UPDATE tasks SET status = $3, error = coalesce($4::jsonb, error), attempts = attempts - $5, next_attempt_at = $6, job_id = $7,
           lease = NULL, worker_id = NULL, updated_at = now()
         WHERE id = $1 AND lease = $2`,
        [item.task.id, item.task.lease, retry ? 'retrying' : 'queued', retry ? JSON.stringify(outcome.error) : null, retry ? 0 : 1, delayMs > 0 ? startAfter : null, jobId],
      );
      if (updated.rowCount === 0) continue;
      held.add(item.task.id);
      requeue.push({ item, jobId, startAfter });
      if (retry) event(item.task, 'task_retrying', { attempt: item.task.attempts, max_attempts: item.task.max_attempts, error: outcome.error, delay_ms: outcome.delayMs, next_attempt_at: startAfter.toISOString() });
      else if (outcome.kind === 'snoozed') event(item.task, 'task_queued', { reason: 'snoozed', delay_ms: outcome.delayMs, next_attempt_at: startAfter.toISOString() });
      else if (outcome.kind === 'waiting') event(item.task, 'task_queued', { reason: 'resumed', waitpoint_id: outcome.waitpointId });
      else event(item.task, 'task_queued', { reason: 'released', attempt: item.task.attempts - 1 });
    }
    for (const { item, jobId, startAfter } of requeue) {
      await this.#boss.send(item.task.queue, { taskId: item.task.id }, {
        id: jobId,
        priority: item.task.priority,
        startAfter,
        db: bossDatabase(transaction),
        ...groupOption(item.task),
      });
    }

    // Every job this batch held is done as a delivery, whatever the task's outcome.
    const jobsByQueue = new Map<string, Array<{ id: string; retryCount: number }>>();
    for (const item of settlements) {
      if (!held.has(item.task.id)) continue;
      const jobs = jobsByQueue.get(item.task.queue) ?? [];
      jobs.push(item.job);
      jobsByQueue.set(item.task.queue, jobs);
    }
    for (const [queue, jobs] of jobsByQueue) await this.#boss.complete(queue, jobs, null, { db: bossDatabase(transaction) });
    await appendEvents(transaction, events);
    return settlements.map((item) => held.has(item.task.id));
  }
}

/**
 * Tasks with a concurrency key travel in a pg-boss group of their tenant, type and key; workers
 * fetch such queues with a group limit of one (see worker.ts for how that is made race-free).
 */
export function groupOption(task: { tenant: string; task_type: string; concurrency_key: string | null }): { group?: { id: string } } {
  return task.concurrency_key === null ? {} : { group: { id: `${task.tenant}:${task.task_type}:${task.concurrency_key}` } };
}
