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
 * completes with what its committed steps learned. It never stays `running`. The deadline and its
 * cut-off are deadline.ts's, shared with quick and deep jobs.
 *
 * Step keys: `plan`, then per round `round:{n}:propose` and `round:{n}:batch:{i}`, and `complete`.
 */
import { defineTask, type TaskContext } from '../../kit/index.ts';
import { defaultDeadlineGraceMs, hardTimeoutFor, watchDeadline } from './deadline.ts';
import { watchFailingCalls } from './sources/failing-calls.ts';
import { endAfterError, finishJob, recordUnseenCancel, type JobEnding } from './job-ending.ts';
import { startJob } from './jobs-store.ts';
import { releaseClaims } from './knowledge-store.ts';
import { learnBatchStep, proposeStep } from './learning-steps.ts';
import { bigLearningJobInput, maxBudgetSeconds, type BigLearningJobInput, type LearningResult } from './schemas.ts';
import { learningMaxAttempts, type ResolvedLearningServices } from './services.ts';
import { bigLearningTaskSummary } from './task-types.ts';

// Where the tests and the benchmark have always found it; defined with the deadline it belongs to.
export { defaultDeadlineGraceMs };

/** Rounds in a row that find nothing to learn before a big job completes early. */
export const emptyRoundsBeforeStop = 3;

interface Plan {
  startedAt: number;
  deadline: number;
  budgetMs: number;
  wordsPerRound: number;
  learnedPerRound: number;
}

export function createBigLearningTask(services: ResolvedLearningServices) {
  const { config, pool, logger } = services;
  const deadlineGraceMs = services.deadlineGraceMs ?? defaultDeadlineGraceMs;
  return defineTask({
    ...bigLearningTaskSummary,
    maxAttempts: learningMaxAttempts,
    input: bigLearningJobInput,
    // The input's budget and TASKLOOM_LEARNING_BUDGET_SECONDS are both at most maxBudgetSeconds
    // (limits.ts), so no budget a job may have outlives the hard timeout.
    hardTimeoutMs: hardTimeoutFor(maxBudgetSeconds, deadlineGraceMs, config.llmTimeoutMs),
    ...(services.retryBaseDelayMs === undefined ? {} : { retryBaseDelayMs: services.retryBaseDelayMs }),
    // One big job per tenant at a time (the unique key is per tenant and task type).
    concurrency: { key: () => 'big', onConflict: 'reject' },
    async run(context: TaskContext<BigLearningJobInput>): Promise<LearningResult> {
      // This attempt's source, watched for a call it keeps retrying when the deadline cuts it off.
      const { source, failing } = watchFailingCalls(services.source);
      const { input, signal, taskId, tenant } = context;
      const generic = context as TaskContext<unknown>;
      let round = 0;
      const plan = await context.step('plan', async (scope): Promise<Plan> => {
        const startedAt = Date.now();
        const budgetMs = (input.budget_seconds ?? config.learningBudgetSeconds) * 1000;
        const wordsPerRound = input.words_per_round ?? config.learningWordsPerRound;
        const learnedPerRound = input.words_learned_per_round ?? config.learningWordsLearnedPerRound;
        scope.emit('learning_started', { mode: 'big', budget_ms: budgetMs, deadline_at: new Date(startedAt + budgetMs).toISOString(), words_per_round: wordsPerRound, words_learned_per_round: learnedPerRound, source: services.source.name });
        return { startedAt, deadline: startedAt + budgetMs, budgetMs, wordsPerRound, learnedPerRound };
      }, { save: (transaction, result) => startJob(transaction, { taskId, tenant, mode: 'big', budgetMs: result.budgetMs, deadlineAt: new Date(result.deadline) }) });
      const deadline = watchDeadline(plan.deadline, deadlineGraceMs, signal);
      const ending: JobEnding = { pool, logger, mode: 'big', deadline, source: { name: source.name, failing } };
      const progress = (): void => {
        const elapsed = Math.min(99, Math.floor(((Date.now() - plan.startedAt) / plan.budgetMs) * 100));
        void context.progress(elapsed, `round ${round}`).catch((error: unknown) => logger.debug({ err: error, taskId }, 'progress update skipped'));
      };

      try {
        // Rounds in a row in which the job found no word to learn: the source proposes only words
        // the tenant knows (WordNet's ~17,000 frequent lemmas are all learned within one offline
        // job). Each such round still writes its ~1,000 proposed tokens, and with a model it is a
        // paid call, so after a few the job completes instead of spinning until its deadline.
        // The count comes from checkpointed steps, so a resumed attempt stops where this would.
        let roundsWithNothing = 0;
        while (deadline.beforeDeadline()) {
          if (roundsWithNothing >= emptyRoundsBeforeStop) {
            return await finishJob(generic, ending, 'completed', 'nothing_left_to_learn');
          }
          signal.throwIfAborted();
          round += 1;
          await proposeStep(generic, source, round, plan.wordsPerRound, { signal: deadline.cutOff });
          const picked = new Set<string>();
          for (let batch = 1; picked.size < plan.learnedPerRound && deadline.beforeDeadline(); batch += 1) {
            signal.throwIfAborted();
            const result = await learnBatchStep(generic, { source, pool, key: `round:${round}:batch:${batch}`, limit: plan.learnedPerRound - picked.size, picked, round, signal: deadline.cutOff, claimUntil: deadline.cutOffAt });
            if (result.words.length === 0) break;
            for (const word of result.words) picked.add(word);
            progress();
          }
          roundsWithNothing = picked.size === 0 ? roundsWithNothing + 1 : 0;
        }
        return await finishJob(generic, ending, 'completed', 'deadline');
      } catch (error) {
        return await endAfterError(generic, ending, error);
      } finally {
        deadline.dispose();
      }
    },
    // Every way the job ends gives its word claims back; this covers the endings none of its code
    // saw (its worker died on the last attempt, a cancel during a retry's backoff), and writes the
    // cancel's event when no attempt was there to.
    async onFailure({ task, transaction }) {
      await releaseClaims(transaction, task.tenant, task.id);
      await recordUnseenCancel(transaction, task, 'big');
    },
  });
}
