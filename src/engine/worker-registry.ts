/**
 * Which workers are alive, across every process on the database: each worker keeps a row in
 * `workers` fresh while it runs (see Worker), and removes it when it stops. A worker killed
 * without stopping leaves a row whose heartbeat simply stops advancing.
 */
import { hostname } from 'node:os';
import type { Queryable } from '../db/pool.ts';
import { isoTimestamp } from '../db/sql.ts';

export interface WorkerRow {
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  concurrency: number;
  started_at: string;
  heartbeat_at: string;
  expires_at: string;
}

export interface WorkerRegistration {
  id: string;
  queues: readonly string[];
  concurrency: number;
  /** The worker's heartbeat period: its row counts as live for heartbeatWindowSeconds of it. */
  heartbeatSeconds: number;
}

/** Rows older than this are someone's crash long ago; the next worker to start deletes them. */
const forgottenAfterHours = 24;

/** A worker's row, inserted or refreshed. */
const upsertWorker = `INSERT INTO workers (id, hostname, pid, queues, concurrency, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), expires_at = excluded.expires_at`;

function registrationValues(worker: WorkerRegistration): unknown[] {
  return [worker.id, hostname(), process.pid, [...worker.queues], worker.concurrency, heartbeatWindowSeconds(worker.heartbeatSeconds)];
}

/**
 * Inserts or refreshes the worker's row. An upsert every time: a row pruned while its process
 * was suspended (a laptop asleep overnight) comes back at the next beat.
 */
export async function touchWorker(database: Queryable, worker: WorkerRegistration): Promise<void> {
  await database.query(upsertWorker, registrationValues(worker));
}

/**
 * A starting worker's row, and the rows of workers long gone deleted, in one statement: one
 * commit of a worker's start-up instead of two.
 */
export async function registerWorker(database: Queryable, worker: WorkerRegistration): Promise<void> {
  await database.query(
    `WITH forgotten AS (
       DELETE FROM workers WHERE expires_at < now() - make_interval(hours => ${forgottenAfterHours})
     )
     ${upsertWorker}`,
    registrationValues(worker),
  );
}

export async function unregisterWorker(database: Queryable, workerId: string): Promise<void> {
  await database.query('DELETE FROM workers WHERE id = $1', [workerId]);
}

/** Workers whose last heartbeat has not expired (each by its own period), newest first. */
export async function liveWorkers(database: Queryable): Promise<WorkerRow[]> {
  const iso = (column: string): string => `${isoTimestamp(column)} AS ${column}`;
  const result = await database.query<WorkerRow>(
    `SELECT id, hostname, pid, queues, concurrency, ${iso('started_at')}, ${iso('heartbeat_at')}, ${iso('expires_at')}
     FROM workers WHERE expires_at > now() ORDER BY heartbeat_at DESC`,
  );
  return result.rows;
}

/** Workers beat every half heartbeat period; a worker that missed three beats is presumed gone. */
export function heartbeatWindowSeconds(heartbeatSeconds: number): number {
  return Math.ceil(heartbeatSeconds * 1.5);
}
