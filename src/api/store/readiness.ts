/**
 * Evidence for /readyz that some worker is taking tasks. A worker in this process counts at
 * once. Otherwise (`serve --no-worker`, workers elsewhere) the database is asked whether any
 * task has been due for longer than `starvationSeconds` without being claimed: workers that run
 * keep that at zero, and with no worker at all the oldest due task only gets older. An idle
 * system (nothing due) counts as served, since nothing distinguishes it from one with workers.
 */
import type { Queryable } from '../../db/pool.ts';

export interface WorkerEvidence {
  ok: boolean;
  source: 'in_process' | 'queue';
  detail: string;
  oldest_due_seconds?: number | null;
}

export async function queueWorkerEvidence(database: Queryable, starvationSeconds: number): Promise<WorkerEvidence> {
  const result = await database.query<{ oldest_due_seconds: number | null }>(
    `SELECT extract(epoch FROM now() - min(coalesce(next_attempt_at, created_at)))::float8 AS oldest_due_seconds
     FROM tasks WHERE status IN ('queued', 'retrying') AND coalesce(next_attempt_at, created_at) <= now()`,
  );
  const oldest = result.rows[0]?.oldest_due_seconds ?? null;
  if (oldest === null) return { ok: true, source: 'queue', detail: 'no task is waiting for a worker', oldest_due_seconds: null };
  const ok = oldest <= starvationSeconds;
  return {
    ok,
    source: 'queue',
    detail: ok
      ? `the oldest due task has waited ${Math.round(oldest)} s (limit ${starvationSeconds} s)`
      : `a task has been due for ${Math.round(oldest)} s without a worker claiming it (limit ${starvationSeconds} s)`,
    oldest_due_seconds: Math.round(oldest),
  };
}
