/**
 * `learning_jobs` (one row per job: its counters and most recent errors) and the quick-mode
 * throttle. Counters move in the step transactions that do the work they count, so after a crash
 * the row says exactly what the checkpoints hold.
 */
import { isoTimestamp, type Queryable } from '../../kit/index.ts';
import type { JobError, JobMode } from './schemas.ts';

/** Errors a job document keeps (the seed's grew without bound). */
export const maxJobErrors = 20;

export interface LearningJobRow {
  task_id: string;
  mode: JobMode;
  total_tokens: number;
  last_round: number;
  words_proposed: number;
  words_queued: number;
  words_failed: number;
  entries_deepened: number;
  planned_words: number | null;
  budget_ms: number | null;
  deadline_at: string | null;
  started_at: string;
  updated_at: string;
  errors: JobError[];
}

export async function startJob(transaction: Queryable, job: { taskId: string; tenant: string; mode: JobMode; budgetMs?: number; deadlineAt?: Date; plannedWords?: number }): Promise<void> {
  await transaction.query(
    `INSERT INTO learning_jobs (task_id, tenant, mode, budget_ms, deadline_at, planned_words) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (task_id) DO NOTHING`,
    [job.taskId, job.tenant, job.mode, job.budgetMs ?? null, job.deadlineAt ?? null, job.plannedWords ?? null],
  );
}

export interface JobIncrements {
  totalTokens?: number;
  wordsProposed?: number;
  wordsQueued?: number;
  wordsFailed?: number;
  entriesDeepened?: number;
  round?: number;
  plannedWords?: number;
  errors?: JobError[];
}

/** Adds to the job's counters and appends errors, keeping the newest `maxJobErrors`. */
export async function updateJob(database: Queryable, taskId: string, increments: JobIncrements): Promise<void> {
  await database.query(
    `UPDATE learning_jobs SET
       total_tokens = total_tokens + $2, words_proposed = words_proposed + $3, words_queued = words_queued + $4,
       words_failed = words_failed + $5, entries_deepened = entries_deepened + $6,
       last_round = greatest(last_round, $7), planned_words = coalesce($8, planned_words),
       errors = CASE WHEN jsonb_array_length($9::jsonb) = 0 THEN errors ELSE (
         SELECT coalesce(jsonb_agg(value ORDER BY position), '[]'::jsonb) FROM (
           SELECT value, position FROM jsonb_array_elements(errors || $9::jsonb) WITH ORDINALITY AS e(value, position)
           ORDER BY position DESC LIMIT ${maxJobErrors}) AS recent) END,
       updated_at = now()
     WHERE task_id = $1`,
    [taskId, increments.totalTokens ?? 0, increments.wordsProposed ?? 0, increments.wordsQueued ?? 0, increments.wordsFailed ?? 0, increments.entriesDeepened ?? 0, increments.round ?? 0, increments.plannedWords ?? null, JSON.stringify(increments.errors ?? [])],
  );
}

export async function getJob(database: Queryable, tenant: string, taskId: string): Promise<LearningJobRow | undefined> {
  const result = await database.query<LearningJobRow>(
    `SELECT task_id, mode, total_tokens, last_round, words_proposed, words_queued, words_failed, entries_deepened, planned_words, budget_ms,
       ${isoTimestamp('deadline_at')} AS deadline_at, ${isoTimestamp('started_at')} AS started_at, ${isoTimestamp('updated_at')} AS updated_at, errors
     FROM learning_jobs WHERE tenant = $1 AND task_id = $2`,
    [tenant, taskId],
  );
  return result.rows[0];
}

/**
 * Takes the tenant's quick-run slot when the last quick run started at least `windowSeconds` ago
 * (one statement, so two racing requests cannot both take it). Returns the seconds to wait when
 * the slot is taken.
 */
export async function claimQuickSlot(database: Queryable, tenant: string, windowSeconds: number): Promise<{ claimed: true } | { claimed: false; retryAfterSeconds: number }> {
  if (windowSeconds <= 0) return { claimed: true };
  const claimed = await database.query(
    `INSERT INTO learning_quick_runs (tenant, last_started_at) VALUES ($1, clock_timestamp())
     ON CONFLICT (tenant) DO UPDATE SET last_started_at = clock_timestamp()
     WHERE learning_quick_runs.last_started_at <= clock_timestamp() - make_interval(secs => $2)
     RETURNING tenant`,
    [tenant, windowSeconds],
  );
  if ((claimed.rowCount ?? 0) > 0) return { claimed: true };
  const wait = await database.query<{ seconds: number }>(
    'SELECT greatest(1, ceil(extract(epoch FROM last_started_at + make_interval(secs => $2) - clock_timestamp())))::int AS seconds FROM learning_quick_runs WHERE tenant = $1',
    [tenant, windowSeconds],
  );
  return { claimed: false, retryAfterSeconds: wait.rows[0]?.seconds ?? windowSeconds };
}

/** Gives the slot back when the quick job could not be submitted after all. */
export async function releaseQuickSlot(database: Queryable, tenant: string): Promise<void> {
  await database.query('DELETE FROM learning_quick_runs WHERE tenant = $1', [tenant]);
}
