/**
 * `big_learning_job` (seed 004): rounds of words until a wall-clock budget runs out.
 *
 * Each round makes one call proposing about `words_per_round` words (one checkpointed step that
 * records them in raw_training and queues the new ones), then learns up to
 * `words_learned_per_round` queued words in batches (one checkpointed step each). The budget runs
 * from the job's first start and counts every wait (model latency, provider slots, retries, a
 * crashed worker's recovery): before each step the job looks at the clock, so at the deadline it
 * finishes the step in hand, saves it and completes. The source call in hand gets until the
 * deadline plus a grace (`deadlineGraceMs`, 5 s): a model call may take the gateway's timeout
 * (120 s) and retries and fallbacks minutes more, which would break the seed's hard stop. A call
 * cut off there writes nothing (a step saves only after its source answered) and the job
 * completes with what its committed steps learned. It never stays `running`.
 *
 * Step keys: `plan`, then per round `round:{n}:propose` and `round:{n}:batch:{i}`, and `complete`.
 */
import { abortReason, defineTask, type TaskContext } from '../../kit/index.ts';
import { isTaskloomError } from '../../errors.ts';
import { getJob, startJob } from './jobs-store.ts';
import { learnBatchStep, proposeStep, reportJobError } from './learning-steps.ts';
import { bigLearningJobInput, maxBudgetSeconds, type BigLearningJobInput, type LearningResult } from './schemas.ts';
import { learningMaxAttempts, type ResolvedLearningServices } from './services.ts';
import { bigLearningTaskSummary } from './task-types.ts';

/** How long past the deadline the source call in hand may still finish and be saved. */
export const defaultDeadlineGraceMs = 5000;

interface Plan {
  startedAt: number;
  deadline: number;
  budgetMs: number;
  wordsPerRound: number;
  learnedPerRound: number;
}

export function createBigLearningTask(services: ResolvedLearningServices) {
  const { config, pool, source, logger } = services;
  const deadlineGraceMs = services.deadlineGraceMs ?? defaultDeadlineGraceMs;
  return defineTask({
    ...bigLearningTaskSummary,
    maxAttempts: learningMaxAttempts,
    input: bigLearningJobInput,
    // The job ends itself at its deadline (plus the grace); the hard timeout only catches an
    // attempt that hangs. The input's budget is at most maxBudgetSeconds (schemas.ts), so no
    // budget a job may ask for outlives it.
    hardTimeoutMs: Math.max(config.learningBudgetSeconds, maxBudgetSeconds) * 1000 + deadlineGraceMs + config.llmTimeoutMs + 60_000,
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
      // Aborts the source call in hand at the deadline plus the grace (or when the task's own
      // signal fires); the clock check before each step cannot stop a call already running. An
      // own timer rather than AbortSignal.timeout, so it is cleared when the attempt ends.
      const deadlinePassed = new AbortController();
      const deadlineTimer = setTimeout(() => deadlinePassed.abort(new DOMException(`the job's deadline passed ${deadlineGraceMs} ms ago`, 'TimeoutError')), Math.max(0, plan.deadline + deadlineGraceMs - Date.now()));
      const cutOff = AbortSignal.any([signal, deadlinePassed.signal]);
      const progress = (): void => {
        const elapsed = Math.min(99, Math.floor(((Date.now() - plan.startedAt) / plan.budgetMs) * 100));
        void context.progress(elapsed, `round ${round}`).catch((error: unknown) => logger.debug({ err: error, taskId }, 'progress update skipped'));
      };

      try {
        while (beforeDeadline()) {
          signal.throwIfAborted();
          round += 1;
          await proposeStep(context as TaskContext<unknown>, source, round, plan.wordsPerRound, { signal: cutOff });
          const picked = new Set<string>();
          for (let batch = 1; picked.size < plan.learnedPerRound && beforeDeadline(); batch += 1) {
            signal.throwIfAborted();
            const result = await learnBatchStep(context as TaskContext<unknown>, { source, pool, key: `round:${round}:batch:${batch}`, limit: plan.learnedPerRound - picked.size, picked, round, signal: cutOff });
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
        if (cutOff.aborted) {
          // The deadline cut the step in hand short: it wrote nothing, and this is the stop, not a failure.
          logger.info({ taskId, round }, 'big learning job stopped its source call at the deadline');
          return complete(context, plan, 'completed');
        }
        const retryable = isTaskloomError(error) ? error.retryable : true;
        const willRetry = retryable && context.willRetry && beforeDeadline();
        await reportJobError(pool, taskId, error, willRetry).catch((reportError: unknown) => logger.warn({ err: reportError, taskId }, 'could not record a learning job error'));
        // Past the deadline a retry would only complete at once: complete now with what was learned.
        if (!beforeDeadline()) return complete(context, plan, 'completed');
        throw error;
      } finally {
        clearTimeout(deadlineTimer);
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
