/**
 * `learning_job` (seed 004's existing pipeline) with `mode`:
 *
 * - `quick`: learns the first TASKLOOM_LEARNING_QUICK_WORDS (5) queued words. The API lets a
 *   tenant start one quick run per TASKLOOM_LEARNING_QUICK_INTERVAL_SECONDS (60 s).
 * - `deep`: learns every word queued when it started, then deepens up to 5 solidified entries
 *   with an expanded definition, applications and misconceptions.
 *
 * With an empty queue a run first proposes one round of words, so a fresh tenant learns too.
 * Step keys: `plan`, `round:1:propose` (empty queue only), `select`, `batch:{i}`, `deepen`, `complete`.
 */
import { abortReason, defineTask, type TaskContext } from '../../kit/index.ts';
import { isTaskloomError } from '../../errors.ts';
import { getJob, startJob, updateJob } from './jobs-store.ts';
import { lastQueuedId } from './knowledge-store.ts';
import { deepenStep, learnBatchStep, proposeStep, reportJobError } from './learning-steps.ts';
import { learningJobInput, type LearningJobInput, type LearningResult } from './schemas.ts';
import { learningMaxAttempts, type ResolvedLearningServices } from './services.ts';
import { learningTaskSummary } from './task-types.ts';

/** Entries deep mode deepens (seed: 5). */
export const entriesDeepenedPerRun = 5;

interface Selection {
  upToId: number;
  planned: number;
}

export function createLearningTask(services: ResolvedLearningServices) {
  const { config, pool, source, logger } = services;
  return defineTask({
    ...learningTaskSummary,
    maxAttempts: learningMaxAttempts,
    input: learningJobInput,
    // Deep mode may take long with a remote model; an attempt stopped here resumes from its steps.
    hardTimeoutMs: 1_800_000,
    ...(services.retryBaseDelayMs === undefined ? {} : { retryBaseDelayMs: services.retryBaseDelayMs }),
    concurrency: { key: (input: LearningJobInput) => input.mode, onConflict: 'reject' },
    async run(context: TaskContext<LearningJobInput>): Promise<LearningResult> {
      const { input, signal, taskId, tenant } = context;
      const generic = context as TaskContext<unknown>;
      try {
        const plan = await context.step('plan', async (scope) => {
          const queue = await lastQueuedId(pool, tenant);
          scope.emit('learning_started', { mode: input.mode, queued_words: queue.waiting, source: source.name });
          return { waiting: queue.waiting };
        }, { save: (transaction) => startJob(transaction, { taskId, tenant, mode: input.mode }) });
        if (plan.waiting === 0) await proposeStep(generic, source, 1, config.learningWordsPerRound);
        const selection = await context.step('select', async (): Promise<Selection> => {
          const queue = await lastQueuedId(pool, tenant);
          return { upToId: queue.lastId, planned: input.mode === 'quick' ? Math.min(config.learningQuickWords, queue.waiting) : queue.waiting };
        }, { save: (transaction, result) => updateJob(transaction, taskId, { plannedWords: result.planned }) });

        const picked = new Set<string>();
        for (let batch = 1; picked.size < selection.planned; batch += 1) {
          signal.throwIfAborted();
          const result = await learnBatchStep(generic, { source, pool, key: `batch:${batch}`, limit: selection.planned - picked.size, picked, upToId: selection.upToId });
          if (result.words.length === 0) break;
          for (const word of result.words) picked.add(word);
          void context.progress(Math.min(99, Math.floor((picked.size / Math.max(1, selection.planned)) * 100)), `${picked.size} of ${selection.planned} words`)
            .catch((error: unknown) => logger.debug({ err: error, taskId }, 'progress update skipped'));
        }
        if (input.mode === 'deep') {
          signal.throwIfAborted();
          await deepenStep(generic, { source, pool, limit: entriesDeepenedPerRun });
        }
        const result = await resultOf(context, 'completed');
        await context.step('complete', async (scope) => {
          scope.emit('learning_completed', { ...result });
          return null;
        });
        await context.progress(100, `learned ${result.total_tokens} words`).catch(() => {});
        return result;
      } catch (error) {
        const reason = abortReason(signal);
        if (reason === 'cancelled') {
          const result = await resultOf(context, 'cancelled');
          await context.emit('learning_cancelled', { ...result }).catch(() => {});
          return result;
        }
        if (reason !== undefined) throw signal.reason;
        const retryable = isTaskloomError(error) ? error.retryable : true;
        await reportJobError(pool, taskId, error, retryable && context.willRetry).catch((reportError: unknown) => logger.warn({ err: reportError, taskId }, 'could not record a learning job error'));
        throw error;
      }
    },
  });

  async function resultOf(context: TaskContext<LearningJobInput>, status: LearningResult['status']): Promise<LearningResult> {
    const job = await getJob(pool, context.tenant, context.taskId);
    return {
      status,
      mode: context.input.mode,
      total_tokens: job?.total_tokens ?? 0,
      rounds: job?.last_round ?? 0,
      words_proposed: job?.words_proposed ?? 0,
      words_queued: job?.words_queued ?? 0,
      words_failed: job?.words_failed ?? 0,
      entries_deepened: job?.entries_deepened ?? 0,
      past_deadline_ms: 0,
    };
  }
}
