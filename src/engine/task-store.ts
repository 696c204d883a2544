/**
 * SQL for the `tasks` table: the user-facing record of every task.
 */
import type { Queryable } from '../db/pool.ts';
import { isoTimestamp } from '../db/sql.ts';
import { cursorTimeSql, decodeTimeCursor, encodeTimeCursor } from '../db/time-cursor.ts';

export const taskStatuses = ['queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof taskStatuses)[number];
/** Not finished: a `waiting` task holds no worker slot but is still active (and keeps its exclusive key). */
export const activeStatuses: readonly TaskStatus[] = ['queued', 'running', 'retrying', 'waiting'];
export const terminalStatuses: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

/** A task as stored, with timestamps as ISO strings. */
export interface TaskRecord {
  id: string;
  tenant: string;
  project_id: string | null;
  task_type: string;
  queue: string;
  priority: number;
  status: TaskStatus;
  progress: number;
  progress_message: string | null;
  input: unknown;
  result: unknown;
  error: unknown;
  attempts: number;
  max_attempts: number;
  idempotency_key: string | null;
  concurrency_key: string | null;
  callback_url: string | null;
  worker_id: string | null;
  lease: string | null;
  /** The task that submitted this one as a child (`context.submitChild`), if any. */
  parent_task_id: string | null;
  cancel_requested_at: string | null;
  next_attempt_at: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
}

const plainColumns = [
  'id', 'tenant', 'project_id', 'task_type', 'queue', 'priority', 'status', 'progress', 'progress_message', 'input', 'result',
  'error', 'attempts', 'max_attempts', 'idempotency_key', 'concurrency_key', 'callback_url', 'worker_id', 'lease', 'parent_task_id',
];
const timestampColumns = ['cancel_requested_at', 'next_attempt_at', 'created_at', 'started_at', 'completed_at', 'updated_at'];

/** The columns of a TaskRecord, qualified by `table` for statements that join `tasks` with itself. */
export function taskColumnsOf(table?: string): string {
  const qualified = (column: string): string => (table === undefined ? column : `${table}.${column}`);
  return [...plainColumns.map(qualified), ...timestampColumns.map((column) => `${isoTimestamp(qualified(column))} AS ${column}`)].join(', ');
}

export const taskColumns = taskColumnsOf();

export interface NewTask {
  id: string;
  tenant: string;
  projectId: string | null;
  taskType: string;
  queue: string;
  priority: number;
  input: unknown;
  maxAttempts: number;
  idempotencyKey: string | null;
  concurrencyKey: string | null;
  exclusiveKey: string | null;
  callbackUrl: string | null;
  parentTaskId: string | null;
}

export async function findByIdempotencyKey(database: Queryable, tenant: string, idempotencyKey: string): Promise<TaskRecord | undefined> {
  const result = await database.query<TaskRecord>(`SELECT ${taskColumns} FROM tasks WHERE tenant = $1 AND idempotency_key = $2`, [tenant, idempotencyKey]);
  return result.rows[0];
}

export async function getTask(database: Queryable, id: string, tenant?: string): Promise<TaskRecord | undefined> {
  const result = tenant === undefined
    ? await database.query<TaskRecord>(`SELECT ${taskColumns} FROM tasks WHERE id = $1`, [id])
    : await database.query<TaskRecord>(`SELECT ${taskColumns} FROM tasks WHERE id = $1 AND tenant = $2`, [id, tenant]);
  return result.rows[0];
}

/** The stored tasks among `ids`, by id. */
export async function getTasks(database: Queryable, ids: readonly string[]): Promise<Map<string, TaskRecord>> {
  const result = await database.query<TaskRecord>(`SELECT ${taskColumns} FROM tasks WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(result.rows.map((task) => [task.id, task]));
}

export async function findActiveExclusive(database: Queryable, tenant: string, taskType: string, exclusiveKey: string): Promise<TaskRecord | undefined> {
  const result = await database.query<TaskRecord>(
    `SELECT ${taskColumns} FROM tasks WHERE id = (SELECT task_id FROM task_exclusive_keys WHERE tenant = $1 AND task_type = $2 AND exclusive_key = $3)`,
    [tenant, taskType, exclusiveKey],
  );
  return result.rows[0];
}

export interface TaskFilter {
  tenant?: string;
  status?: TaskStatus | TaskStatus[];
  taskType?: string;
  projectId?: string;
  /** Page size. @default 50 */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export class InvalidCursorError extends Error {}

/** Newest first, keyset-paginated on (created_at, id) so pages stay stable under inserts. */
export async function listTasks(database: Queryable, filter: TaskFilter): Promise<{ tasks: TaskRecord[]; nextCursor: string | null }> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, value: unknown): void => {
    values.push(value);
    conditions.push(sql.replace('?', `$${values.length}`));
  };
  if (filter.tenant !== undefined) add('tenant = ?', filter.tenant);
  if (filter.status !== undefined) add('status = ANY(?)', Array.isArray(filter.status) ? filter.status : [filter.status]);
  if (filter.taskType !== undefined) add('task_type = ?', filter.taskType);
  if (filter.projectId !== undefined) add('project_id = ?', filter.projectId);
  if (filter.cursor !== undefined) {
    const position = decodeTimeCursor(filter.cursor);
    if (!position) throw new InvalidCursorError(`cursor "${filter.cursor}" is not one this server issued`);
    values.push(position[0], position[1]);
    conditions.push(`(created_at, id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
  }
  const limit = filter.limit ?? 50;
  values.push(limit + 1);
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const result = await database.query<TaskRecord & { cursor_created_at: string }>(
    `SELECT ${taskColumns}, ${cursorTimeSql('created_at')} AS cursor_created_at
     FROM tasks ${where} ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  const page = result.rows.slice(0, limit);
  const last = page[page.length - 1];
  const tasks = page.map(({ cursor_created_at: _cursor, ...task }) => task as TaskRecord);
  return { tasks, nextCursor: result.rows.length > limit && last ? encodeTimeCursor({ at: last.cursor_created_at, id: last.id }) : null };
}

/**
 * The ids of every unfinished task, from the narrow tables that hold them (no index on
 * `tasks.status`: see migration 0010): queued and due later, running, and waiting.
 */
const activeTaskIds = `SELECT task_id FROM task_queue UNION SELECT task_id FROM task_leases
  UNION SELECT task_id FROM waitpoints WHERE status = 'pending'`;

/** Active tasks of these types by status, from any process (for gauges computed at scrape time). */
export async function countActiveTasks(database: Queryable, taskTypes: readonly string[]): Promise<Record<'queued' | 'running' | 'retrying' | 'waiting', number>> {
  const result = await database.query<{ status: 'queued' | 'running' | 'retrying' | 'waiting'; count: number }>(
    `SELECT status, count(*)::int AS count FROM tasks
     WHERE id IN (${activeTaskIds}) AND task_type = ANY($1::text[]) AND status IN ('queued', 'running', 'retrying', 'waiting')
     GROUP BY status`,
    [taskTypes],
  );
  const counts = { queued: 0, running: 0, retrying: 0, waiting: 0 };
  for (const row of result.rows) counts[row.status] = row.count;
  return counts;
}
