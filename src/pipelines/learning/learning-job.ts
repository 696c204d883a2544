/**
 * `learning_job` (seed 004's existing pipeline) with `mode`:
 *
 * - `quick`: learns the first TASKLOOM_LEARNING_QUICK_WORDS (5) queued words. The API lets a
 *   tenant start one quick run per TASKLOOM_LEARNING_QUICK_INTERVAL_SECONDS (60 s).
 * - `deep`: learns every word queued when it started, then deepens up to 5 solidified entries
 *   with an expanded definition, applications and misconceptions.
 *
 * With an empty queue a run first proposes one round of words, so a fresh tenant learns too.
 *
 * Each mode has a wall-clock budget from its first start (TASKLOOM_LEARNING_QUICK_BUDGET_SECONDS,
 * 120 s; TASKLOOM_LEARNING_DEEP_BUDGET_SECONDS, 600 s), enforced like the big job's by
 * deadline.ts: the clock is checked before every step, and the source call in hand is cut off at
 * the deadline plus the grace; the job then completes with what its committed steps learned.
 * Deep mode stops learning words when a tenth of its budget is left, so the deepening it exists
 * for still runs when the queue holds more words than the budget allows.
 *
 * Step keys: `plan`, `round:1:propose` (empty queue only), `select`, `batch:{i}`, `deepen`, `complete`.
 */
import { defineTask, type TaskContext } from '../../kit/index.ts';
import { defaultDeadlineGraceMs, hardTimeoutFor, watchDeadline } from './deadline.ts';
import { LearningThrottledError } from './errors.ts';
import { watchFailingCalls } from './sources/failing-calls.ts';
import { endAfterError, finishJob, recordUnseenCancel, type JobEnding } from './job-ending.ts';
import { claimQuickSlot, releaseQuickSlot, startJob, updateJob } from './jobs-store.ts';
import { lastQueuedId, releaseClaims } from './knowledge-store.ts';
import { deepenStep, learnBatchStep, proposeStep } from './learning-steps.ts';
import { learningJobInput, type LearningJobInput, type LearningResult } from './schemas.ts';
import { learningMaxAttempts, type ResolvedLearningServices } from './services.ts';
import { learningTaskSummary } from './task-types.ts';

/** Entries deep mode deepens (seed: 5). */
export const entriesDeepenedPerRun = 5;

/** The share of a deep job's budget kept for deepening: it stops learning words when this much is left. */
export const deepenShareOfBudget = 0.1;

interface Plan {
  waiting: number;
  /** Absent in the plan of a job started before jobs of this type had a deadline. */
  startedAt?: number;
  deadline?: number;
  budgetMs?: number;
}

interface Selection {
  upToId: number;
  planned: number;
}

export function createLearningTask(services: ResolvedLearningServices) {
  const { config, pool, logger } = services;
  const deadlineGraceMs = services.deadlineGraceMs ?? defaultDeadlineGraceMs;
  const budgetSecondsOf = (mode: LearningJobInput['mode']): number => (mode === 'quick' ? config.learningQuickBudgetSeconds : config.learningDeepBudgetSeconds);
  return defineTask({
    ...learningTaskSummary,
    maxAttempts: learningMaxAttempts,
    input: learningJobInput,
    // The job ends itself at its deadline plus the grace; the hard timeout only catches an attempt
    // that hangs. Both budgets are at most maxBudgetSeconds (limits.ts).
    hardTimeoutMs: hardTimeoutFor(Math.max(config.learningQuickBudgetSeconds, config.learningDeepBudgetSeconds), deadlineGraceMs, config.llmTimeoutMs),
    ...(services.retryBaseDelayMs === undefined ? {} : { retryBaseDelayMs: services.retryBaseDelayMs }),
    concurrency: { key: (input: LearningJobInput) => input.mode, onConflict: 'reject' },
    // The seed's throttle, on every path a quick run is submitted by (the API's generic submit
    // and the dashboard's form as well as /jobs/start and the CLI): at most one per tenant per
    // window, else 429 learning_throttled. A submit that did not create the run gives it back.
    // Through `database`, where the submit writes: a submit in a caller's transaction takes the
    // slot with it, and a rollback gives it back.
    async admit({ tenant, input, database }) {
      if (input.mode !== 'quick') return undefined;
      const slot = await claimQuickSlot(database, tenant, config.learningQuickIntervalSeconds);
      if (!slot.claimed) throw new LearningThrottledError(slot.retryAfterSeconds, config.learningQuickIntervalSeconds);
      return () => releaseQuickSlot(database, tenant);
    },
    async run(context: TaskContext<LearningJobInput>): Promise<LearningResult> {
      // This attempt's source, watched for a call it keeps retrying when the deadline cuts it off.
      const { source, failing } = watchFailingCalls(services.source);
      const { input, signal, taskId, tenant } = context;
      const generic = context as TaskContext<unknown>;
      const stored = await context.step('plan', async (scope): Promise<Plan> => {
        const startedAt = Date.now();
        const budgetMs = budgetSecondsOf(input.mode) * 1000;
        const queue = await lastQueuedId(pool, tenant);
        scope.emit('learning_started', { mode: input.mode, queued_words: queue.waiting, budget_ms: budgetMs, deadline_at: new Date(startedAt + budgetMs).toISOString(), source: services.source.name });
        return { waiting: queue.waiting, startedAt, deadline: startedAt + budgetMs, budgetMs };
      }, { save: (transaction, result) => startJob(transaction, { taskId, tenant, mode: input.mode, ...(result.deadline === undefined ? {} : { budgetMs: result.budgetMs, deadlineAt: new Date(result.deadline) }) }) });
      // A job planned before it had a deadline gets its budget from now on.
      const budgetMs = stored.budgetMs ?? budgetSecondsOf(input.mode) * 1000;
      const deadline = watchDeadline(stored.deadline ?? Date.now() + budgetMs, deadlineGraceMs, signal);
      const ending: JobEnding = { pool, logger, mode: input.mode, deadline, source: { name: source.name, failing } };
      const learnUntil = input.mode === 'deep' ? deadline.deadline - budgetMs * deepenShareOfBudget : deadline.deadline;

      try {
        if (stored.waiting === 0 && deadline.beforeDeadline(learnUntil)) await proposeStep(generic, source, 1, config.learningWordsPerRound, { signal: deadline.cutOff });
        const selection = await context.step('select', async (): Promise<Selection> => {
          const queue = await lastQueuedId(pool, tenant);
          return { upToId: queue.lastId, planned: input.mode === 'quick' ? Math.min(config.learningQuickWords, queue.waiting) : queue.waiting };
        }, { save: (transaction, result) => updateJob(transaction, taskId, { plannedWords: result.planned }) });

        const picked = new Set<string>();
        for (let batch = 1; picked.size < selection.planned && deadline.beforeDeadline(learnUntil); batch += 1) {
          signal.throwIfAborted();
          const result = await learnBatchStep(generic, { source, pool, key: `batch:${batch}`, limit: selection.planned - picked.size, picked, upToId: selection.upToId, signal: deadline.cutOff, claimUntil: deadline.cutOffAt });
          if (result.words.length === 0) break;
          for (const word of result.words) picked.add(word);
          void context.progress(Math.min(99, Math.floor((picked.size / Math.max(1, selection.planned)) * 100)), `${picked.size} of ${selection.planned} words`)
            .catch((error: unknown) => logger.debug({ err: error, taskId }, 'progress update skipped'));
        }
        if (input.mode === 'deep' && deadline.beforeDeadline()) {
          signal.throwIfAborted();
          await deepenStep(generic, { source, pool, limit: entriesDeepenedPerRun, signal: deadline.cutOff });
        }
        return await finishJob(generic, ending, 'completed');
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
      await recordUnseenCancel(transaction, task, (task.input as LearningJobInput).mode);
    },
  });
}
