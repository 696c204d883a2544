/**
 * Waitpoints: durable waits a task parks on without holding a worker slot.
 *
 * Kinds: `input` (completed through the API by a person or a system, validated against a JSON
 * Schema), `timer` (a durable sleep), `children` (resolved when every listed child task settled).
 *
 * The guarantee: a resolution, its event and the task's resume commit in one transaction, so a
 * decision is never recorded without the task moving on, nor the other way round.
 *
 * Lock order, everywhere: the task row first (FOR NO KEY UPDATE, as an UPDATE of it takes: a child
 * submit's foreign-key check, FOR KEY SHARE on its parent, passes it rather than queueing behind
 * it while holding the event-order lock), then its waitpoint rows, then the event-order lock. A resolver
 * that finds the task still `running` (it has not parked yet) only resolves the waitpoint; the
 * park (settle.ts) locks the task row and then reads the waitpoint, so whichever commits second
 * sees the other's write and the task is requeued exactly once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/pool.ts';
import { isoTimestamp } from '../db/sql.ts';
import { NotFoundError, TaskloomError, ValidationError } from '../errors.ts';
import { enqueue } from './ready-queue.ts';
import { appendEvents, type NewEvent } from './event-log.ts';
import { describeIssues } from './submit.ts';
import { taskColumns, type TaskRecord } from './task-store.ts';

export type WaitpointKind = 'input' | 'timer' | 'children';
export type WaitpointStatus = 'pending' | 'completed' | 'timed_out' | 'cancelled';

export interface WaitpointRecord {
  id: string;
  task_id: string;
  tenant: string;
  project_id: string | null;
  key: string;
  kind: WaitpointKind;
  status: WaitpointStatus;
  schema: Record<string, unknown> | null;
  payload: unknown;
  children: string[] | null;
  completed_by: string | null;
  completed_at: string | null;
  timeout_at: string | null;
  created_at: string;
}

export const waitpointColumns = `id, task_id, tenant, project_id, key, kind, status, schema, payload, children, completed_by,
  ${isoTimestamp('completed_at')} AS completed_at, ${isoTimestamp('timeout_at')} AS timeout_at, ${isoTimestamp('created_at')} AS created_at`;

/** A second completion: answers 409 with the outcome the first one recorded. */
export class WaitpointResolvedError extends TaskloomError {
  constructor(waitpoint: WaitpointRecord, expired = false) {
    super(
      expired ? 'waitpoint_expired' : 'waitpoint_resolved',
      expired
        ? `Waitpoint ${waitpoint.id} expired at ${waitpoint.timeout_at}; it times out and its task goes on without this completion.`
        : `Waitpoint ${waitpoint.id} is already ${waitpoint.status}; its first outcome stands.`,
      {
        httpStatus: 409,
        retryable: false,
        details: { waitpoint_id: waitpoint.id, status: waitpoint.status, payload: waitpoint.payload, completed_by: waitpoint.completed_by, completed_at: waitpoint.completed_at, ...(expired ? { timeout_at: waitpoint.timeout_at } : {}) },
      },
    );
  }
}

/**
 * A completion after the waitpoint's deadline, before the sweep that times it out has run: the
 * deadline decided, and the task goes on as it would without an answer. A WaitpointResolvedError,
 * so callers that treat "someone else decided" alike need no second case.
 */
export class WaitpointExpiredError extends WaitpointResolvedError {
  constructor(waitpoint: WaitpointRecord) {
    super(waitpoint, true);
  }
}

/**
 * A completion token that completes nothing now. Only a live token's hash is kept, so a token
 * used once, replaced by a newer one, whose wait ended, or never issued all look alike: the
 * message lists what it may be, and what to do. Code `not_found`, as before.
 */
export class WaitpointTokenUnknownError extends TaskloomError {
  constructor() {
    super('not_found', 'This waitpoint token completes nothing: it was used already, replaced by a newer token for the same waitpoint, or its wait has ended (or it was never issued). Tokens are single use; if the wait is still pending, ask for a new one (POST /api/v1/waitpoints/{id}/token).', {
      httpStatus: 404,
      retryable: false,
    });
  }
}

/** Only `input` waitpoints are completed from outside; timers and children resolve themselves. */
export class WaitpointNotCompletableError extends TaskloomError {
  constructor(waitpoint: WaitpointRecord) {
    super('waitpoint_not_completable', `Waitpoint ${waitpoint.id} is a ${waitpoint.kind} wait; it resolves by itself and cannot be completed through the API.`, {
      httpStatus: 409,
      retryable: false,
      details: { waitpoint_id: waitpoint.id, kind: waitpoint.kind },
    });
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function findWaitpoint(database: Queryable, taskId: string, key: string): Promise<WaitpointRecord | undefined> {
  const result = await database.query<WaitpointRecord>(`SELECT ${waitpointColumns} FROM waitpoints WHERE task_id = $1 AND key = $2`, [taskId, key]);
  return result.rows[0];
}

export async function getWaitpoint(database: Queryable, id: string, tenant?: string): Promise<WaitpointRecord | undefined> {
  const result = tenant === undefined
    ? await database.query<WaitpointRecord>(`SELECT ${waitpointColumns} FROM waitpoints WHERE id = $1`, [id])
    : await database.query<WaitpointRecord>(`SELECT ${waitpointColumns} FROM waitpoints WHERE id = $1 AND tenant = $2`, [id, tenant]);
  return result.rows[0];
}

export interface WaitpointFilter {
  tenant: string;
  status?: WaitpointStatus;
  taskId?: string;
  projectId?: string;
  /** @default 100 */
  limit?: number;
}

export async function listWaitpoints(database: Queryable, filter: WaitpointFilter): Promise<WaitpointRecord[]> {
  const values: unknown[] = [filter.tenant];
  const conditions = ['tenant = $1'];
  const add = (column: string, value: unknown): void => {
    values.push(value);
    conditions.push(`${column} = $${values.length}`);
  };
  if (filter.status !== undefined) add('status', filter.status);
  if (filter.taskId !== undefined) add('task_id', filter.taskId);
  if (filter.projectId !== undefined) add('project_id', filter.projectId);
  values.push(filter.limit ?? 100);
  const result = await database.query<WaitpointRecord>(
    `SELECT ${waitpointColumns} FROM waitpoints WHERE ${conditions.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  return result.rows;
}

/** Creates the task's waitpoint for `key` (the caller holds the task's lease); returns the existing one on replay. */
export async function createWaitpoint(
  transaction: Queryable,
  task: TaskRecord,
  wait: { key: string; kind: WaitpointKind; schema?: Record<string, unknown> | null; timeoutAt?: Date | null; children?: string[]; status?: WaitpointStatus },
): Promise<WaitpointRecord> {
  const inserted = await transaction.query<WaitpointRecord>(
    `INSERT INTO waitpoints (task_id, tenant, project_id, key, kind, status, schema, children, timeout_at, completed_at, completed_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $6 = 'pending' THEN NULL ELSE now() END, CASE WHEN $6 = 'pending' THEN NULL ELSE $5 END)
     ON CONFLICT (task_id, key) DO NOTHING
     RETURNING ${waitpointColumns}`,
    [task.id, task.tenant, task.project_id, wait.key, wait.kind, wait.status ?? 'pending', wait.schema ? JSON.stringify(wait.schema) : null, wait.children ?? null, wait.timeoutAt ?? null],
  );
  return inserted.rows[0] ?? (await findWaitpoint(transaction, task.id, wait.key))!;
}

function waitpointEvent(waitpoint: Pick<WaitpointRecord, 'id' | 'task_id' | 'tenant' | 'project_id' | 'key' | 'kind'>, type: string, payload: Record<string, unknown>): NewEvent {
  return { taskId: waitpoint.task_id, tenant: waitpoint.tenant, projectId: waitpoint.project_id, type, payload: { waitpoint_id: waitpoint.id, key: waitpoint.key, kind: waitpoint.kind, ...payload } };
}

/**
 * Requeues a parked task whose waits are all resolved, in the caller's transaction: a new
 * delivery with the task's priority. The task row must be locked by the caller. No-op for a task
 * that is not `waiting` (still running: its park will see the resolution and requeue itself).
 */
async function resumeLocked(transaction: PoolClient, task: TaskRecord, reason: Record<string, unknown>): Promise<boolean> {
  if (task.status !== 'waiting') return false;
  const pending = await transaction.query('SELECT 1 FROM waitpoints WHERE task_id = $1 AND status = $2 LIMIT 1', [task.id, 'pending']);
  if ((pending.rowCount ?? 0) > 0) return false;
  await transaction.query(`UPDATE tasks SET status = 'queued', next_attempt_at = NULL, updated_at = now() WHERE id = $1`, [task.id]);
  await enqueue(transaction, [{ task }]);
  await appendEvents(transaction, [{ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type: 'task_queued', payload: { reason: 'resumed', ...reason } }]);
  return true;
}

async function lockTask(transaction: PoolClient, taskId: string): Promise<TaskRecord | undefined> {
  const result = await transaction.query<TaskRecord>(`SELECT ${taskColumns} FROM tasks WHERE id = $1 FOR NO KEY UPDATE`, [taskId]);
  return result.rows[0];
}

/** Validates a completion payload against the waitpoint's JSON Schema; throws 400 with every problem. */
export function validatePayload(waitpoint: WaitpointRecord, payload: unknown): void {
  if (!waitpoint.schema) return;
  let schema: z.ZodType;
  try {
    schema = z.fromJSONSchema(waitpoint.schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    return;
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new ValidationError(`Invalid payload for waitpoint ${waitpoint.id}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { location: 'body', issues });
  }
}

export interface CompleteWaitpointRequest {
  /** The waitpoint's id, or use `token` instead. */
  id?: string;
  /** A single-use completion token (see createCompletionToken). */
  token?: string;
  /** Required with `id`: the waitpoint must belong to this tenant. */
  tenant?: string;
  payload: unknown;
  /** Who decided (an API key id, a user name); stored and returned to the handler. */
  completedBy: string | null;
}

/**
 * Completes an `input` waitpoint: the payload, its `waitpoint_completed` event and the task's
 * requeue commit together. A second completion throws WaitpointResolvedError with the first
 * outcome. `beforeCommit` runs in the same transaction (a pipeline recording the decision in its
 * own tables: an approval and its audit row then commit with the resume, or not at all).
 */
export async function completeWaitpoint(
  dependencies: { pool: Pool },
  request: CompleteWaitpointRequest,
  beforeCommit?: (transaction: PoolClient, waitpoint: WaitpointRecord) => Promise<void>,
): Promise<WaitpointRecord> {
  const tokenHash = request.token === undefined ? undefined : hashToken(request.token);
  return withTransaction(dependencies.pool, async (transaction) => {
    const found = tokenHash === undefined
      ? request.id === undefined ? undefined : await getWaitpoint(transaction, request.id, request.tenant)
      : (await transaction.query<WaitpointRecord>(`SELECT ${waitpointColumns} FROM waitpoints WHERE token_hash = $1`, [tokenHash])).rows[0];
    if (!found) throw tokenHash === undefined ? new NotFoundError('Waitpoint', request.id ?? '') : new WaitpointTokenUnknownError();
    if (found.kind !== 'input') throw new WaitpointNotCompletableError(found);
    if (found.status !== 'pending') throw new WaitpointResolvedError(found);
    validatePayload(found, request.payload);
    const task = await lockTask(transaction, found.task_id);
    if (!task) throw new NotFoundError('Waitpoint', found.id);
    const resolved = await transaction.query<WaitpointRecord>(
      `UPDATE waitpoints SET status = 'completed', payload = $2, completed_by = $3, completed_at = now(), token_hash = NULL
       WHERE id = $1 AND status = 'pending' AND (timeout_at IS NULL OR timeout_at > now()) ${tokenHash === undefined ? '' : 'AND token_hash = $4'}
       RETURNING ${waitpointColumns}`,
      tokenHash === undefined ? [found.id, JSON.stringify(request.payload ?? null), request.completedBy] : [found.id, JSON.stringify(request.payload ?? null), request.completedBy, tokenHash],
    );
    const waitpoint = resolved.rows[0];
    if (!waitpoint) {
      // Past its deadline (the sweep has not timed it out yet), or resolved between the read and
      // the lock: report which.
      const now = (await getWaitpoint(transaction, found.id))!;
      if (now.status !== 'pending') throw new WaitpointResolvedError(now);
      if (now.timeout_at !== null && Date.parse(now.timeout_at) <= Date.now()) throw new WaitpointExpiredError(now);
      // Still pending and not past its deadline: the token was replaced meanwhile (a new link).
      throw new WaitpointTokenUnknownError();
    }
    if (beforeCommit) await beforeCommit(transaction, waitpoint);
    await appendEvents(transaction, [waitpointEvent(waitpoint, 'waitpoint_completed', { completed_by: waitpoint.completed_by })]);
    await resumeLocked(transaction, task, { waitpoint_id: waitpoint.id });
    return waitpoint;
  });
}

/**
 * Completes a pending waitpoint from inside its own task's running attempt: `waitFor`'s `check`
 * found the condition already holds, so the task moves on instead of parking. The caller holds
 * the task row (the attempt's lease, share-locked) in `transaction`, the same lock order as every
 * resolver. No requeue: the task is running. Returns undefined when something else resolved the
 * waitpoint first (a decision that committed after the waitpoint existed); that outcome stands.
 */
export async function completeWaitpointByCheck(transaction: PoolClient, waitpointId: string, payload: unknown): Promise<WaitpointRecord | undefined> {
  const completed = await transaction.query<WaitpointRecord>(
    `UPDATE waitpoints SET status = 'completed', payload = $2, completed_by = 'check', completed_at = now(), token_hash = NULL
     WHERE id = $1 AND status = 'pending'
     RETURNING ${waitpointColumns}`,
    [waitpointId, JSON.stringify(payload ?? null)],
  );
  const waitpoint = completed.rows[0];
  if (waitpoint) await appendEvents(transaction, [waitpointEvent(waitpoint, 'waitpoint_completed', { completed_by: 'check' })]);
  return waitpoint;
}

/**
 * A single-use token that completes the waitpoint without an API key (a link in an email). Only
 * its sha256 is stored; a new token replaces the previous one; it dies with the waitpoint.
 */
export async function createCompletionToken(pool: Pool, id: string, tenant: string): Promise<{ token: string; waitpoint: WaitpointRecord }> {
  const token = `wpt_${randomBytes(24).toString('base64url')}`;
  const updated = await pool.query<WaitpointRecord>(
    `UPDATE waitpoints SET token_hash = $3 WHERE id = $1 AND tenant = $2 AND status = 'pending' AND kind = 'input' RETURNING ${waitpointColumns}`,
    [id, tenant, hashToken(token)],
  );
  const waitpoint = updated.rows[0];
  if (!waitpoint) {
    const existing = await getWaitpoint(pool, id, tenant);
    if (!existing) throw new NotFoundError('Waitpoint', id);
    if (existing.kind !== 'input') throw new WaitpointNotCompletableError(existing);
    throw new WaitpointResolvedError(existing);
  }
  return { token, waitpoint };
}

/**
 * Resolves the `children` waits of these parents whose children have all settled, and resumes
 * the parents that were parked on them. Called in the transaction that settles a child (so its
 * new status is visible here), and by the sweep as a safety net.
 */
export async function resolveChildWaits(transaction: PoolClient, parentIds: Iterable<string>): Promise<void> {
  // Every parent locked before any event is appended (the event-order lock comes last: a parent
  // locked after it would deadlock against a transaction holding that parent and waiting for
  // the event lock), in id order, so two transactions settling children of the same parents
  // lock them in one order.
  const ids = [...new Set(parentIds)].sort();
  if (ids.length === 0) return;
  const locked = await transaction.query<TaskRecord>(`SELECT ${taskColumns} FROM tasks WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`, [ids]);
  for (const parent of locked.rows) {
    const parentId = parent.id;
    const resolved = await transaction.query<WaitpointRecord>(
      `UPDATE waitpoints w SET status = 'completed', completed_at = now(), completed_by = 'children'
       WHERE w.task_id = $1 AND w.kind = 'children' AND w.status = 'pending'
         AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.id = ANY(w.children) AND c.status NOT IN ('completed', 'failed', 'cancelled'))
       RETURNING ${waitpointColumns}`,
      [parentId],
    );
    if (resolved.rows.length === 0) continue;
    await appendEvents(transaction, resolved.rows.map((waitpoint) => waitpointEvent(waitpoint, 'waitpoint_completed', { completed_by: 'children', children: waitpoint.children?.length ?? 0 })));
    await resumeLocked(transaction, parent, { waitpoint_id: resolved.rows[0]!.id });
  }
}

/** Cancels the pending waitpoints of tasks that just ended (in the caller's transaction). */
export async function cancelPendingWaitpoints(transaction: Queryable, taskIds: string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await transaction.query(`UPDATE waitpoints SET status = 'cancelled', completed_at = now() WHERE task_id = ANY($1::uuid[]) AND status = 'pending'`, [taskIds]);
}

/**
 * The sweep, run by every worker at its polling backstop: fires due timeouts (`input` and
 * `children` waits time out; `timer` waits complete) and resolves children waits a lost wake-up
 * left pending. Each waitpoint is handled in a transaction of its own, task row first.
 */
export async function sweepWaitpoints(dependencies: { pool: Pool }, limit = 200): Promise<number> {
  const { pool } = dependencies;
  const due = await pool.query<{ id: string; task_id: string }>(
    `SELECT id, task_id FROM waitpoints WHERE status = 'pending' AND timeout_at <= now() ORDER BY timeout_at LIMIT $1`,
    [limit],
  );
  let handled = 0;
  for (const candidate of due.rows) {
    const fired = await withTransaction(pool, async (transaction) => {
      const task = await lockTask(transaction, candidate.task_id);
      if (!task) return false;
      const updated = await transaction.query<WaitpointRecord>(
        `UPDATE waitpoints SET status = CASE WHEN kind = 'timer' THEN 'completed' ELSE 'timed_out' END, completed_at = now(),
           completed_by = CASE WHEN kind = 'timer' THEN 'timer' ELSE NULL END, token_hash = NULL
         WHERE id = $1 AND status = 'pending' AND timeout_at <= now()
         RETURNING ${waitpointColumns}`,
        [candidate.id],
      );
      const waitpoint = updated.rows[0];
      if (!waitpoint) return false;
      await appendEvents(transaction, [waitpointEvent(waitpoint, waitpoint.status === 'completed' ? 'waitpoint_completed' : 'waitpoint_timed_out', { timeout_at: waitpoint.timeout_at })]);
      await resumeLocked(transaction, task, { waitpoint_id: waitpoint.id });
      return true;
    });
    if (fired) handled += 1;
  }
  const stranded = await pool.query<{ task_id: string }>(
    `SELECT DISTINCT w.task_id FROM waitpoints w
     WHERE w.status = 'pending' AND w.kind = 'children'
       AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.id = ANY(w.children) AND c.status NOT IN ('completed', 'failed', 'cancelled'))
     LIMIT $1`,
    [limit],
  );
  if (stranded.rows.length > 0) {
    await withTransaction(pool, (transaction) => resolveChildWaits(transaction, stranded.rows.map((row) => row.task_id)));
    handled += stranded.rows.length;
  }
  return handled;
}
