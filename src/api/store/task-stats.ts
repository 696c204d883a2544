/**
 * Task statistics for one tenant: counts by status, type and queue (two GROUP BY queries on the
 * tenant's rows), and duration mean and p95 per type over a recent window.
 */
import type { Queryable } from '../../db/pool.ts';
import { taskStatuses, type TaskStatus } from '../../engine/index.ts';

type StatusCounts = Record<TaskStatus, number> & { total: number };

export interface TaskStats {
  total: number;
  by_status: StatusCounts;
  by_type: Record<string, StatusCounts>;
  by_queue: Record<string, StatusCounts>;
  /** Tasks waiting per queue (queued + retrying). */
  queue_depth: Record<string, number>;
  durations: {
    window_hours: number;
    by_type: Record<string, { count: number; mean_ms: number; p95_ms: number }>;
  };
  /**
   * Tasks that ended in each of the last twelve 5-minute slots (the last one still filling),
   * oldest first, by when they ended: a task started hours ago counts when it finishes.
   */
  ended_last_hour: Array<{ start: string; completed: number; failed: number; cancelled: number }>;
}

/** The slots of `ended_last_hour`: twelve of five minutes. */
const slotSeconds = 300;
const slots = 12;

function emptyCounts(): StatusCounts {
  const counts = { total: 0 } as StatusCounts;
  for (const status of taskStatuses) counts[status] = 0;
  return counts;
}

export async function taskStats(database: Queryable, options: { tenant: string; projectId?: string; windowHours: number }): Promise<TaskStats> {
  const values: unknown[] = [options.tenant];
  let projectCondition = '';
  if (options.projectId !== undefined) {
    values.push(options.projectId);
    projectCondition = `AND project_id = $${values.length}`;
  }
  const counts = await database.query<{ status: TaskStatus; task_type: string; queue: string; count: number }>(
    `SELECT status, task_type, queue, count(*)::int AS count FROM tasks WHERE tenant = $1 ${projectCondition} GROUP BY status, task_type, queue`,
    values,
  );
  const durations = await database.query<{ task_type: string; count: number; mean_ms: number; p95_ms: number }>(
    `SELECT task_type, count(*)::int AS count,
       round(avg(extract(epoch FROM completed_at - started_at)) * 1000)::float8 AS mean_ms,
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at)) * 1000)::numeric)::float8 AS p95_ms
     FROM tasks
     WHERE tenant = $1 ${projectCondition} AND status = 'completed' AND started_at IS NOT NULL
       AND completed_at > now() - $${values.length + 1} * interval '1 hour'
     GROUP BY task_type`,
    [...values, options.windowHours],
  );
  // Slots aligned to the epoch (successive reads share their boundaries), the current one last,
  // all twelve from the database's clock, empty ones included.
  const ended = await database.query<{ start: Date; completed: number; failed: number; cancelled: number }>(
    `WITH current AS (SELECT floor(extract(epoch FROM now()) / ${slotSeconds})::bigint AS slot),
     ended AS (
       SELECT floor(extract(epoch FROM completed_at) / ${slotSeconds})::bigint AS slot, status
       FROM tasks, current
       WHERE tenant = $1 ${projectCondition} AND status IN ('completed', 'failed', 'cancelled')
         AND completed_at >= to_timestamp((current.slot - ${slots - 1}) * ${slotSeconds})
     )
     SELECT to_timestamp(s.slot * ${slotSeconds}) AS start,
       count(e.slot) FILTER (WHERE e.status = 'completed')::int AS completed,
       count(e.slot) FILTER (WHERE e.status = 'failed')::int AS failed,
       count(e.slot) FILTER (WHERE e.status = 'cancelled')::int AS cancelled
     FROM current, generate_series(current.slot - ${slots - 1}, current.slot) AS s (slot)
     LEFT JOIN ended e ON e.slot = s.slot
     GROUP BY s.slot ORDER BY s.slot`,
    values,
  );
  const endedLastHour = ended.rows.map((row) => ({ start: row.start.toISOString(), completed: row.completed, failed: row.failed, cancelled: row.cancelled }));
  const stats: TaskStats = {
    total: 0,
    by_status: emptyCounts(),
    by_type: {},
    by_queue: {},
    queue_depth: {},
    durations: { window_hours: options.windowHours, by_type: {} },
    ended_last_hour: endedLastHour,
  };
  for (const row of counts.rows) {
    stats.total += row.count;
    stats.by_status[row.status] += row.count;
    stats.by_status.total += row.count;
    const type = (stats.by_type[row.task_type] ??= emptyCounts());
    type[row.status] += row.count;
    type.total += row.count;
    const queue = (stats.by_queue[row.queue] ??= emptyCounts());
    queue[row.status] += row.count;
    queue.total += row.count;
  }
  for (const [name, queue] of Object.entries(stats.by_queue)) stats.queue_depth[name] = queue.queued + queue.retrying;
  for (const row of durations.rows) stats.durations.by_type[row.task_type] = { count: row.count, mean_ms: row.mean_ms, p95_ms: row.p95_ms };
  return stats;
}
