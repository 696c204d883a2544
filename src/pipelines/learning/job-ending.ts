/**
 * How an attempt of any learning job (big, quick, deep) ends: completed at its deadline or when
 * its work is done, cancelled with what it kept, or failed to be retried from its checkpoints.
 * One implementation, so every mode stops at its deadline the same way (deadline.ts).
 */
import { abortReason, appendEvents, type Pool, type Queryable, type TaskContext, type TaskRecord } from '../../kit/index.ts';
import { isTaskloomError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { JobDeadline } from './deadline.ts';
import { getJob, type LearningJobRow } from './jobs-store.ts';
import { releaseClaims } from './knowledge-store.ts';
import { reportJobError } from './learning-steps.ts';
import { ResearchProviderError } from './errors.ts';
import type { FailingCall } from './sources/failing-calls.ts';
import type { JobMode, LearningResult } from './schemas.ts';

export interface JobEnding {
  pool: Pool;
  logger: Logger;
  mode: JobMode;
  deadline: JobDeadline;
  /** The source's name, and the call in hand it was retrying, if any (failing-calls.ts). */
  source: { name: string; failing: () => FailingCall | undefined };
}

/**
 * Ends the job with `status` and the counts its committed steps moved: a completed job commits
 * its `complete` step (event `learning_completed`), a cancelled one, which cannot write steps any
 * more, emits `learning_cancelled`.
 */
export async function finishJob(context: TaskContext<unknown>, ending: JobEnding, status: LearningResult['status'], stoppedBecause?: LearningResult['stopped_because']): Promise<LearningResult> {
  const pastDeadlineMs = ending.deadline.pastDeadlineMs();
  const job = await getJob(ending.pool, context.tenant, context.taskId);
  // Every batch gives its claims back as it ends; this catches any a failure left behind, so other
  // jobs need not wait for them to lapse.
  await releaseClaims(ending.pool, context.tenant, context.taskId)
    .catch((error: unknown) => ending.logger.warn({ err: error, taskId: context.taskId }, 'could not release a learning job\'s word claims'));
  const result = { ...jobResult(job, ending.mode, status, pastDeadlineMs), ...(stoppedBecause === undefined ? {} : { stopped_because: stoppedBecause }) };
  if (status === 'cancelled') {
    await context.emit('learning_cancelled', { ...result }).catch(() => {});
    return result;
  }
  // A replay (the attempt that completed crashed before its settle) answers what the completion
  // recorded, not what this attempt would say now (past its deadline, it never ran the rounds
  // that stopped it early). A completion recorded before this returned null: this attempt's.
  const recorded = await context.step('complete', async (scope): Promise<LearningResult | null> => {
    scope.emit('learning_completed', { ...result });
    return result;
  });
  const completed = recorded ?? result;
  await context.progress(100, ending.mode === 'big' ? `learned ${completed.total_tokens} words in ${completed.rounds} rounds` : `learned ${completed.total_tokens} words`).catch(() => {});
  return completed;
}

/** A job's result: the counts its committed steps moved, as its row holds them. */
function jobResult(job: LearningJobRow | undefined, mode: JobMode, status: LearningResult['status'], pastDeadlineMs: number): LearningResult {
  return {
    status,
    mode,
    total_tokens: job?.total_tokens ?? 0,
    rounds: job?.last_round ?? 0,
    words_proposed: job?.words_proposed ?? 0,
    words_queued: job?.words_queued ?? 0,
    words_failed: job?.words_failed ?? 0,
    entries_deepened: job?.entries_deepened ?? 0,
    past_deadline_ms: pastDeadlineMs,
  };
}

/**
 * The failure handler's part for a cancel none of the job's code saw (it came while the job
 * waited for a retry, so no attempt ran to end it): the `learning_cancelled` event the job would
 * have written, with the counts its committed steps moved. Once: a cancel the running job saw
 * wrote it already.
 */
export async function recordUnseenCancel(transaction: Queryable, task: TaskRecord, mode: JobMode): Promise<void> {
  if (task.status !== 'cancelled') return;
  const written = await transaction.query("SELECT 1 FROM task_events WHERE task_id = $1 AND type = 'learning_cancelled' LIMIT 1", [task.id]);
  if ((written.rowCount ?? 0) > 0) return;
  const job = await getJob(transaction, task.tenant, task.id);
  const deadline = job?.deadline_at ? Date.parse(job.deadline_at) : Number.NaN;
  const pastDeadlineMs = Number.isFinite(deadline) ? Math.max(0, Date.now() - deadline) : 0;
  await appendEvents(transaction, [{ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type: 'learning_cancelled', payload: { ...jobResult(job, job?.mode ?? mode, 'cancelled', pastDeadlineMs) } }]);
}

/**
 * What an attempt that threw does: a cancel ends it `cancelled`; the engine's own stops (timeouts,
 * shutdown) are rethrown for the engine; the deadline's cut-off is the stop, not a failure (the
 * step it cut short wrote nothing) and completes, with an error on the document when the call it
 * cut off was one the source kept retrying; any other error is recorded on the job document
 * and rethrown to be retried, unless the deadline has passed or the retry could only start after
 * it (the engine's backoff is longer than the time left), when a retry would only complete at once:
 * it completes now with what was learned, instead of staying `running` past the deadline for as
 * long as the backoff lasts.
 */
export async function endAfterError(context: TaskContext<unknown>, ending: JobEnding, error: unknown): Promise<LearningResult> {
  const { signal, taskId } = context;
  const reason = abortReason(signal);
  if (reason === 'cancelled') return finishJob(context, ending, 'cancelled');
  // A big job says why it stopped; quick and deep jobs always stop at their deadline.
  const atDeadline = ending.mode === 'big' ? 'deadline' : undefined;
  if (reason !== undefined) throw signal.reason;
  if (ending.deadline.cutOffFired()) {
    ending.logger.info({ taskId, mode: ending.mode }, 'learning job stopped its source call at the deadline');
    // A call the provider kept failing until the cut-off is the provider's failure, and the
    // document says so; a merely slow one is not.
    const failing = ending.source.failing();
    if (failing) {
      const stopped = new ResearchProviderError(ending.source.name, failing.operation, `it was still failing when the deadline stopped it: ${failing.reason}`, { retryable: false });
      await reportJobError(ending.pool, taskId, stopped, false).catch((reportError: unknown) => ending.logger.warn({ err: reportError, taskId }, 'could not record a learning job error'));
    }
    return finishJob(context, ending, 'completed', atDeadline);
  }
  const retryable = isTaskloomError(error) ? error.retryable : true;
  const retryStartsInTime = Date.now() + (context.shortestRetryDelayMs ?? 0) < ending.deadline.deadline;
  const willRetry = retryable && context.willRetry && retryStartsInTime;
  await reportJobError(ending.pool, taskId, error, willRetry).catch((reportError: unknown) => ending.logger.warn({ err: reportError, taskId }, 'could not record a learning job error'));
  if (!retryStartsInTime) return finishJob(context, ending, 'completed', atDeadline);
  throw error;
}
