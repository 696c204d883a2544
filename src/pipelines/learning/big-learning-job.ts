/**
 * `big_learning_job` (seed 004): rounds of words until a wall-clock budget runs out.
 *
 * Each round makes one call proposing about `words_per_round` words (one checkpointed step that
 * records them in raw_training and queues the new ones), then learns up to
 * `words_learned_per_round` queued words in batches (one checkpointed step each). The budget runs
 * from the job's first start and counts every wait (model latency, provider slots, retries, a
 * crashed worker's recovery): before each step the job looks at the clock, so at the deadline it
 * finishes the step in hand, saves it and completes. It never overruns by more than one step
 * (one batch of words, or one proposal), and never stays `running`.
 *
 * Step keys: `plan`, then per round `round:{n}:propose` and `round:{n}:batch:{i}`, and `complete`.
 */
import { abortReason, defineTask, type TaskContext } from '../../kit/index.ts';
import { isTaskloomError } from '../../errors.ts';
import { getJob, startJob } from './jobs-store.ts';
import { learnBatchStep, proposeStep, reportJobError } from './learning-steps.ts';
import { bigLearningJobInput, type BigLearningJobInput, type LearningResult } from './schemas.ts';
import { learningMaxAttempts, type ResolvedLearningServices } from './services.ts';
import { bigLearningTaskSummary } from './task-types.ts';

/** Longest budget a job's input may ask for (the hard timeout is derived from it). */
export const maxBudgetSeconds = 3600;

interface Plan {
  startedAt: number;
  deadline: number;
  budgetMs: number;
  wordsPerRound: number;
  learnedPerRound: number;
}

export function createBigLearningTask(services: ResolvedLearningServices) {
  const { config, pool, source, logger } = services;
  return defineTask({
    ...bigLearningTaskSummary,
    maxAttempts: learningMaxAttempts,
    input: bigLearningJobInput,
    // The job ends itself at its deadline; the hard timeout only catches an attempt that hangs.
    hardTimeoutMs: Math.max(config.learningBudgetSeconds, maxBudgetSeconds) * 1000 + config.llmTimeoutMs + 60_000,
    ...(services.retryBaseDelayMs === undefined ? {} : { retryBaseDelayMs: services.retryBaseDelayMs }),
    // One big job per tenant at a time (the unique key is per tenant and task type).
    concurrency: { key: () => 'big', onConflict: 'reject' },
    async run(context: TaskContext<BigLearningJobInput>): Promise<LearningResult> {
      const { input, signal, taskId, tenant } = context;
      let round = 0;
      const plan = await context.step('plan', async (scope): Promise<Plan> => {
        const startedAt = Date.now();
        const budgetMs = (input.budget_seconds ?? config.learningBudgetSeconds) * 1000;
        const wordsPerRound = input.words_per_round ?? config.learningWordsPerRound;
        const learnedPerRound = input.words_learned_per_round ?? config.learningWordsLearnedPerRound;
        scope.emit('learning_started', { mode: 'big', budget_ms: budgetMs, deadline_at: new Date(startedAt + budgetMs).toISOString(), words_per_round: wordsPerRound, words_learned_per_round: learnedPerRound, source: source.name });
        return { startedAt, deadline: startedAt + budgetMs, budgetMs, wordsPerRound, learnedPerRound };
      }, { save: (transaction, result) => startJob(transaction, { taskId, tenant, mode: 'big', budgetMs: result.budgetMs, deadlineAt: new Date(result.deadline) }) });
      const beforeDeadline = (): boolean => Date.now() < plan.deadline;
      const progress = (): void => {
        const elapsed = Math.min(99, Math.floor(((Date.now() - plan.startedAt) / plan.budgetMs) * 100));
        void context.progress(elapsed, `round ${round}`).catch((error: unknown) => logger.debug({ err: error, taskId }, 'progress update skipped'));
      };

      try {
        while (beforeDeadline()) {
          signal.throwIfAborted();
          round += 1;
          await proposeStep(context as TaskContext<unknown>, source, round, plan.wordsPerRound);
          const picked = new Set<string>();
          for (let batch = 1; picked.size < plan.learnedPerRound && beforeDeadline(); batch += 1) {
            signal.throwIfAborted();
            const result = await learnBatchStep(context as TaskContext<unknown>, { source, pool, key: `round:${round}:batch:${batch}`, limit: plan.learnedPerRound - picked.size, picked, round });
            if (result.words.length === 0) break;
            for (const word of result.words) picked.add(word);
            progress();
          }
        }
        return await complete(context, plan, 'completed');
      } catch (error) {
        const reason = abortReason(signal);
        if (reason === 'cancelled') return complete(context, plan, 'cancelled');
        if (reason !== undefined) throw signal.reason;
        const retryable = isTaskloomError(error) ? error.retryable : true;
        const willRetry = retryable && context.willRetry && beforeDeadline();
        await reportJobError(pool, taskId, error, willRetry).catch((reportError: unknown) => logger.warn({ err: reportError, taskId }, 'could not record a learning job error'));
        // Past the deadline a retry would only complete at once: complete now with what was learned.
        if (!beforeDeadline()) return complete(context, plan, 'completed');
        throw error;
      }
    },
  });

  async function complete(context: TaskContext<BigLearningJobInput>, plan: Plan, status: LearningResult['status']): Promise<LearningResult> {
    const pastDeadlineMs = Math.max(0, Date.now() - plan.deadline);
    const job = await getJob(pool, context.tenant, context.taskId);
    const result: LearningResult = {
      status,
      mode: 'big',
      total_tokens: job?.total_tokens ?? 0,
      rounds: job?.last_round ?? 0,
      words_proposed: job?.words_proposed ?? 0,
      words_queued: job?.words_queued ?? 0,
      words_failed: job?.words_failed ?? 0,
      entries_deepened: 0,
      past_deadline_ms: pastDeadlineMs,
    };
    if (status === 'cancelled') {
      // A cancelled task cannot write steps any more; its event says what was kept.
      await context.emit('learning_cancelled', { ...result }).catch(() => {});
      return result;
    }
    await context.step('complete', async (scope) => {
      scope.emit('learning_completed', { ...result });
      return null;
    });
    await context.progress(100, `learned ${result.total_tokens} words in ${result.rounds} rounds`).catch(() => {});
    return result;
  }
}
