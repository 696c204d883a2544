/**
 * Per-project generation claims (`project_meta_generation_claims`): a back-fill run claims a
 * project before its model call, so an overlapping run (the operator's all-tenants back-fill and
 * a tenant's own run do not exclude each other) skips it instead of calling the model for it too.
 *
 * A claim is a row, not a lock held by an open transaction: the model call may take minutes, and
 * a transaction open across it would pin a pooled connection and hold back vacuum. It is released
 * in the transaction that commits the project's checkpoint, and it lapses at `expires_at`, so the
 * claim of a run that died does not keep the project from the next run for longer than that.
 */
import type { Config } from '../../config.ts';
import type { Queryable } from '../../kit/index.ts';

/**
 * How long a claim holds without being released: longer than the gateway lets one metadata call
 * go on (its retries go on for TASKLOOM_LLM_RETRY_WINDOW_MS, each request up to
 * TASKLOOM_LLM_TIMEOUT_MS, and a fallback model gets the same again), so a live run's claim never
 * lapses under it; defaults: 2 × (300 s + 120 s) = 14 min.
 */
export function claimLeaseMs(config: Pick<Config, 'llmRetryWindowMs' | 'llmTimeoutMs'>): number {
  return 2 * (config.llmRetryWindowMs + config.llmTimeoutMs);
}

/**
 * Claims the project's generation for task `taskId`. Returns false when another task holds an
 * unexpired claim, or the project no longer exists. The task's own claim (an attempt that resumes
 * after a crash) is taken back at once.
 */
export async function claimProject(database: Queryable, claim: { tenant: string; projectId: string; taskId: string; leaseMs: number }): Promise<boolean> {
  const result = await database.query(
    `INSERT INTO project_meta_generation_claims (project_id, tenant, task_id, expires_at)
     SELECT id, tenant, $3, clock_timestamp() + $4 * interval '1 millisecond' FROM projects WHERE tenant = $1 AND id = $2
     ON CONFLICT (project_id) DO UPDATE SET task_id = excluded.task_id, claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
       WHERE project_meta_generation_claims.task_id = excluded.task_id OR project_meta_generation_claims.expires_at <= clock_timestamp()
     RETURNING project_id`,
    [claim.tenant, claim.projectId, claim.taskId, claim.leaseMs],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Releases the task's claim on the project, if it still holds it (a lapsed claim may be another's by now). */
export async function releaseProjectClaim(database: Queryable, claim: { tenant: string; projectId: string; taskId: string }): Promise<void> {
  await database.query('DELETE FROM project_meta_generation_claims WHERE tenant = $1 AND project_id = $2 AND task_id = $3', [claim.tenant, claim.projectId, claim.taskId]);
}

/** Releases every claim task `taskId` holds: what a run that ended without its code seeing it left. */
export async function releaseTaskClaims(database: Queryable, taskId: string): Promise<void> {
  await database.query('DELETE FROM project_meta_generation_claims WHERE task_id = $1', [taskId]);
}
