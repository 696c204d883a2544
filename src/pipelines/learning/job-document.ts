/**
 * The seed's job document (`GET /jobs/{id}`, every WebSocket message), built from the engine's
 * task record (status, times) and the job's `learning_jobs` row (counters, recent errors).
 *
 * Progress is by work done or by time, whichever is further: a big job by the share of its budget
 * used, a quick or deep job by the share of its planned words handled. A finished job is at 100.
 */
import type { TaskRecord } from '../../kit/index.ts';
import { serializeError } from '../../errors.ts';
import type { LearningJobRow } from './jobs-store.ts';
import { bigLearningTaskType, type JobDocument, type JobError, type JobMode, type JobStatus } from './schemas.ts';

const statusOf = (task: TaskRecord): JobStatus => {
  switch (task.status) {
    case 'queued':
      return 'queued';
    // Learning jobs never park on a waitpoint; should one, it is still in progress.
    case 'waiting':
    case 'running':
    case 'retrying':
      return 'running';
    default:
      return task.status;
  }
};

export function modeOf(task: TaskRecord): JobMode {
  if (task.task_type === bigLearningTaskType) return 'big';
  return (task.input as { mode?: JobMode } | null)?.mode ?? 'quick';
}

export function jobDocument(task: TaskRecord, job: LearningJobRow | undefined, now: number = Date.now()): JobDocument {
  const status = statusOf(task);
  const errors: JobError[] = [...(job?.errors ?? [])];
  if (status === 'failed' && task.error) {
    const failure = task.error as { code?: string; message?: string };
    const already = errors.some((entry) => entry.message.startsWith(failure.message ?? '\u0000'));
    if (!already) errors.push({ code: failure.code ?? 'internal_error', message: failure.message ?? serializeError(task.error).message, at: task.completed_at ?? task.updated_at });
  }
  // While it runs: the furthest of its time, its work and what it reported, short of done.
  const runningProgress = (at: number): number => {
    if (!job) return 0;
    const byTime = job.budget_ms && job.deadline_at ? (job.budget_ms - Math.max(0, Date.parse(job.deadline_at) - at)) / job.budget_ms : 0;
    const byWork = job.planned_words ? (job.total_tokens + job.words_failed) / job.planned_words : 0;
    return Math.max(0, Math.min(99, Math.floor(Math.max(byTime, byWork, task.progress / 100) * 100)));
  };
  let progress: number;
  if (status === 'completed') progress = 100;
  // Where it stood when it ended, never less than the page showed a moment before.
  else if (status === 'cancelled' || status === 'failed') progress = Math.max(Math.max(0, Math.min(100, task.progress)), runningProgress(Date.parse(task.completed_at ?? task.updated_at)));
  else progress = runningProgress(now);
  return {
    job_id: task.id,
    status,
    mode: modeOf(task),
    progress,
    total_tokens: job?.total_tokens ?? 0,
    last_round: job?.last_round ?? 0,
    created_at: task.created_at,
    errors,
    words_proposed: job?.words_proposed ?? 0,
    words_queued: job?.words_queued ?? 0,
    words_failed: job?.words_failed ?? 0,
    entries_deepened: job?.entries_deepened ?? 0,
    deadline_at: job?.deadline_at ?? null,
    finished_at: task.completed_at,
  };
}
