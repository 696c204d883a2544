/**
 * The durable event log: every event is stored in `task_events` before anyone hears of it.
 *
 * Ordering invariant: ids are taken under a transaction-scoped advisory lock, so a transaction
 * that takes id N commits (or rolls back) before any other transaction can take an id above N.
 * A reader that has seen every committed id up to N can therefore follow `id > N` and never skip
 * an event that commits later with a smaller id. Append events last in a transaction, so the
 * lock is held only for the commit itself.
 */
import type { Queryable } from '../db/pool.ts';
import { isoTimestamp } from '../db/sql.ts';

export const eventsChannel = 'taskloom_events';
const eventOrderLockKey = 7_214_221_002;

export interface TaskEvent {
  id: number;
  task_id: string;
  tenant: string;
  project_id: string | null;
  type: string;
  payload: Record<string, unknown>;
  created_at: string;
}

export interface NewEvent {
  taskId: string;
  tenant: string;
  projectId: string | null;
  type: string;
  payload?: Record<string, unknown>;
}

/**
 * Transactions whose events are held back until `takeDeferredEvents`. A checkpointed step runs
 * pipeline code (its `save`) inside its transaction; an event appended there would hold
 * the event-order lock for the rest of the step, stalling every other task's events, and would
 * take it before the step's lease fence, the reverse of the order every other writer uses
 * (task row, then event lock), which deadlocks against a concurrent progress update.
 */
const deferredEvents = new WeakMap<Queryable, NewEvent[]>();

/** From now on, events appended in `transaction` are buffered until `takeDeferredEvents`. */
export function deferEvents(transaction: Queryable): void {
  if (!deferredEvents.has(transaction)) deferredEvents.set(transaction, []);
}

/** The events buffered since `deferEvents`, for the caller's last statement before the commit to insert. */
export function takeDeferredEvents(transaction: Queryable): NewEvent[] {
  const buffered = deferredEvents.get(transaction) ?? [];
  deferredEvents.delete(transaction);
  return buffered;
}

/**
 * Events as the five arrays (task_id, tenant, project_id, type, payload) a statement unnests,
 * in this order: `unnest($n::uuid[], $n+1::text[], $n+2::text[], $n+3::text[], $n+4::jsonb[])`.
 */
export function eventArrays(events: readonly NewEvent[]): [string[], string[], Array<string | null>, string[], string[]] {
  return [
    events.map((event) => event.taskId),
    events.map((event) => event.tenant),
    events.map((event) => event.projectId),
    events.map((event) => event.type),
    events.map((event) => JSON.stringify(event.payload ?? {})),
  ];
}

/** Forgets what was buffered, for a transaction that rolls back. */
export function discardDeferredEvents(transaction: Queryable): void {
  deferredEvents.delete(transaction);
}

export const eventColumns = `id, task_id, tenant, project_id, type, payload, ${isoTimestamp('created_at')} AS created_at`;

/**
 * An INSERT of the events `source` selects (columns task_id, tenant, project_id, type, payload),
 * for a statement that writes a transition and its events in one round trip: put it in a CTE and
 * select `eventsNotified(...)` in the main query. The join with the lock row runs the lock
 * before any row's id is drawn from the sequence. No ORDER BY: rows are inserted in the order the
 * source emits them (an unnest emits array order), whereas a sort could be planned after the ids
 * are drawn.
 *
 * Where the main query has other work to do, give `eventsNotified` the CTE the events are made
 * from rather than this one, and leave this one unread: PostgreSQL runs a data-modifying CTE
 * nobody reads after the main query, so the lock is then taken at the end of the statement and
 * held for the commit only, not for the rest of the statement too. The delivery statement and the
 * submit do this (5 % more tasks/s in a drain; decision 0003, "Since then").
 */
export function eventsInsert(source: string, returning = 'id'): string {
  return `INSERT INTO task_events (task_id, tenant, project_id, type, payload)
       SELECT event.task_id, event.tenant, event.project_id, event.type, event.payload
       FROM (${source}) AS event
       CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(${eventOrderLockKey})) AS ordered
       RETURNING ${returning}`;
}

/**
 * A scalar subquery that wakes event listeners at commit when `inserted` has a row: the CTE that
 * stored the events, or the one they are made from when every row of it makes an event. The
 * notification carries no payload: identical notifications in one transaction collapse into one,
 * and listeners read what is new from the table.
 */
export function eventsNotified(inserted: string): string {
  return `(SELECT pg_notify('${eventsChannel}', '') IS NULL FROM ${inserted} LIMIT 1)`;
}

/**
 * Appends events inside the caller's transaction and wakes listeners when it commits. The
 * notification carries no payload: identical notifications in one transaction collapse into
 * one, and listeners read what is new from the table, which is the only source of truth.
 */
export async function appendEvents(transaction: Queryable, events: NewEvent[]): Promise<TaskEvent[]> {
  if (events.length === 0) return [];
  const buffer = deferredEvents.get(transaction);
  if (buffer) {
    // Stored at the flush; there are no rows to return yet.
    buffer.push(...events);
    return [];
  }
  const result = await transaction.query<TaskEvent & { notified: boolean }>(
    `WITH inserted AS (
       ${eventsInsert(`SELECT task_id, tenant, project_id, type, payload
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) AS event (task_id, tenant, project_id, type, payload)`, eventColumns)}
     )
     SELECT inserted.*, ${eventsNotified('inserted')} AS notified FROM inserted ORDER BY id`,
    eventArrays(events),
  );
  return result.rows.map(({ notified: _notified, ...event }) => event as TaskEvent);
}

export interface EventQuery {
  tenant?: string;
  taskId?: string;
  projectId?: string;
  afterId?: number;
  limit?: number;
}

/** Stored events in id order, filtered by task or project, after an id. */
export async function readEvents(database: Queryable, query: EventQuery): Promise<TaskEvent[]> {
  const conditions: string[] = ['id > $1'];
  const values: unknown[] = [query.afterId ?? 0];
  if (query.tenant !== undefined) {
    values.push(query.tenant);
    conditions.push(`tenant = $${values.length}`);
  }
  if (query.taskId !== undefined) {
    values.push(query.taskId);
    conditions.push(`task_id = $${values.length}`);
  }
  if (query.projectId !== undefined) {
    values.push(query.projectId);
    conditions.push(`project_id = $${values.length}`);
  }
  values.push(query.limit ?? 1000);
  const result = await database.query<TaskEvent>(
    `SELECT ${eventColumns} FROM task_events WHERE ${conditions.join(' AND ')} ORDER BY id LIMIT $${values.length}`,
    values,
  );
  return result.rows;
}

/** The highest committed event id, of one task's events with `taskId` (0 when there is none). */
export async function latestEventId(database: Queryable, taskId?: string): Promise<number> {
  const result = taskId === undefined
    ? await database.query<{ id: number | null }>('SELECT max(id) AS id FROM task_events')
    : await database.query<{ id: number | null }>('SELECT max(id) AS id FROM task_events WHERE task_id = $1', [taskId]);
  return Number(result.rows[0]?.id ?? 0);
}
