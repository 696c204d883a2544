/**
 * Which workers are alive, across every process on the database: each worker keeps a row in
 * `workers` fresh while it runs (see Worker), and removes it when it stops. A worker killed
 * without stopping leaves a row whose heartbeat simply stops advancing.
 */
import { hostname } from 'node:os';
import type { Queryable } from '../db/pool.ts';

export interface WorkerRow {
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  concurrency: number;
  started_at: string;
  heartbeat_at: string;
}

/** Rows older than this are someone's crash long ago; the next worker to start deletes them. */
const forgottenAfterHours = 24;

export async function registerWorker(database: Queryable, worker: { id: string; queues: readonly string[]; concurrency: number }): Promise<void> {
  await database.query(`DELETE FROM workers WHERE heartbeat_at < now() - make_interval(hours => ${forgottenAfterHours})`);
  await database.query(
    `INSERT INTO workers (id, hostname, pid, queues, concurrency) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
    [worker.id, hostname(), process.pid, [...worker.queues], worker.concurrency],
  );
}

export async function touchWorker(database: Queryable, workerId: string): Promise<void> {
  await database.query('UPDATE workers SET heartbeat_at = now() WHERE id = $1', [workerId]);
}

export async function unregisterWorker(database: Queryable, workerId: string): Promise<void> {
  await database.query('DELETE FROM workers WHERE id = $1', [workerId]);
}

/** Workers whose heartbeat is younger than `withinSeconds`, newest first. */
export async function liveWorkers(database: Queryable, withinSeconds: number): Promise<WorkerRow[]> {
  const result = await database.query<WorkerRow>(
    `SELECT id, hostname, pid, queues, concurrency,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at,
       to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS heartbeat_at
     FROM workers WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY heartbeat_at DESC`,
    [withinSeconds],
  );
  return result.rows;
}

/** Workers beat every half heartbeat period; a worker that missed three beats is presumed gone. */
export function heartbeatWindowSeconds(heartbeatSeconds: number): number {
  return Math.ceil(heartbeatSeconds * 1.5);
}
