/**
 * The checkpointed units both task types are made of. Each is one `context.step`: the research
 * runs outside any transaction, and its knowledge rows, the queue changes, the job's counters and
 * its events commit together with the checkpoint in `save`. So a crash or cancel keeps every
 * word a committed step learned, and a resumed job replays stored steps instead of researching
 * their words again.
 */
import { withTransaction, type Pool, type PoolClient, type StepScope, type TaskContext } from '../../kit/index.ts';
import { isTaskloomError, serializeError, type TaskloomError } from '../../errors.ts';
import { updateJob } from './jobs-store.ts';
import { claimQueuedWords, entriesToDeepen, recordNotDeepened, recordRound, recordUnresolved, releaseClaims, saveDeepened, saveLearned } from './knowledge-store.ts';
import { distinctLearnableWords, normaliseWord } from './normalise.ts';
import type { JobError } from './schemas.ts';
import type { DeepenedWord, ResearchedWord, ResearchOptions, ResearchOutcome, ResearchSource, UnresolvedWord, WordToLearn } from './sources/research-source.ts';

export interface ProposeResult {
  tokens: string[];
  words: WordToLearn[];
  source: string;
  calls: number;
}

export interface BatchResult {
  /** Every word the batch took from the queue (learned or not). */
  words: string[];
  learned: ResearchedWord[];
  unresolved: UnresolvedWord[];
  calls: number;
}

export interface DeepenResult {
  deepened: DeepenedWord[];
  unresolved: UnresolvedWord[];
  calls: number;
}

/**
 * The job's error for the words a step left unresolved: `word_not_learned` for research (the word
 * stays queued), `entry_not_deepened` for deepening (the word is learned; its entry waits for a
 * later deep run).
 */
const unresolvedError = (code: 'word_not_learned' | 'entry_not_deepened', unresolved: readonly UnresolvedWord[]): JobError[] =>
  unresolved.length === 0 ? [] : [{ code, message: unresolved.slice(0, 3).map((entry) => `${entry.word}: ${entry.reason}`).join('; '), at: new Date().toISOString(), words: unresolved.map((entry) => entry.word).slice(0, 20) }];

/**
 * One round's proposal: the tokens as proposed go to raw_training, the learnable new ones to the
 * queue. `signal` (default the task's) aborts the source call: a job passes its deadline's cut-off
 * (deadline.ts), which also fires shortly after its deadline.
 */
export async function proposeStep(context: TaskContext<unknown>, source: ResearchSource, round: number, count: number, options: { signal?: AbortSignal } = {}): Promise<ProposeResult> {
  const key = `round:${round}:propose`;
  const { taskId, tenant } = context;
  const signal = options.signal ?? context.signal;
  return context.step(key, async (scope: StepScope): Promise<ProposeResult> => {
    const proposal = await source.proposeWords({ count, round }, { signal, taskId, step: key });
    // A model may answer far more than asked; the round keeps what it asked for (plus slack).
    const tokens = proposal.tokens.slice(0, Math.ceil(count * 1.5)).map((token) => token.slice(0, 200));
    const words = distinctLearnableWords(tokens);
    scope.emit('round_proposed', { round, proposed: tokens.length, distinct_words: words.length, source: proposal.source });
    return { tokens, words, source: proposal.source, calls: proposal.calls };
  }, {
    save: async (transaction: PoolClient, result) => {
      const { queued } = await recordRound(transaction, { tenant, taskId, round }, result.tokens, result.words, normaliseWord);
      await updateJob(transaction, taskId, { round, wordsProposed: result.tokens.length, wordsQueued: queued });
    },
  });
}

/**
 * Claims up to `limit` words of the queue (skipping `picked`, the words earlier batches of this
 * job took), researches them and stores what was learned. Returns an empty batch when the queue
 * has nothing left to give this job. `signal` (default the task's) aborts the research call; the
 * claims last until `claimUntil` (the job's cut-off, after which it cannot research them).
 *
 * The claims are given back when the batch is saved, in its transaction, and when its research
 * fails; a job that dies with claims keeps them for its resumed attempt, and they lapse at
 * `claimUntil` if it never resumes. A research failure that no retry of this job will clear is
 * charged to the words that cause it (researchClaimed), so it cannot head the queue for good.
 */
export async function learnBatchStep(context: TaskContext<unknown>, options: { source: ResearchSource; key: string; limit: number; picked: ReadonlySet<string>; round?: number; upToId?: number; pool: Pool; claimUntil: Date; signal?: AbortSignal }): Promise<BatchResult> {
  const { taskId, tenant, logger } = context;
  const signal = options.signal ?? context.signal;
  const { source, key } = options;
  return context.step(key, async (scope: StepScope): Promise<BatchResult> => {
    const words = await claimQueuedWords(options.pool, tenant, Math.min(options.limit, source.batchSize), {
      taskId,
      claimUntil: options.claimUntil,
      excluding: [...options.picked],
      ...(options.upToId === undefined ? {} : { upToId: options.upToId }),
    });
    if (words.length === 0) return { words: [], learned: [], unresolved: [], calls: 0 };
    let outcome: ResearchOutcome;
    try {
      const researched = await researchClaimed(source, words, { signal, taskId, step: key }, context.willRetry);
      if (!researched.ok) {
        // Every word of a batch failed on its own too: the source refuses everything it is asked
        // now. The words are charged (their claims go back below) and the job fails, rather than
        // charging the rest of the queue one batch after another.
        // The job document counts them as the words themselves do (with the words, or not at all).
        await withTransaction(options.pool, async (transaction) => {
          await recordUnresolved(transaction, tenant, taskId, researched.failed);
          await updateJob(transaction, taskId, { wordsFailed: researched.failed.length });
        }).catch((recordError: unknown) => logger.warn({ err: recordError, taskId }, 'could not count the failed attempt of a learning batch'));
        throw researched.error;
      }
      outcome = researched.outcome;
    } catch (error) {
      // Other jobs may take these words while this one waits for its retry or ends; best effort,
      // as the claims lapse at claimUntil anyway.
      await releaseClaims(options.pool, tenant, taskId, words.map((word) => word.normalised))
        .catch((releaseError: unknown) => logger.warn({ err: releaseError, taskId }, 'could not release the claims of a failed learning batch'));
      throw error;
    }
    scope.emit('words_learned', {
      ...(options.round === undefined ? {} : { round: options.round }),
      // Scalars first: the dashboard's event log shows them on the event's line.
      learned: outcome.learned.map((entry) => entry.word).join(', '),
      learned_count: outcome.learned.length,
      words: outcome.learned.map((entry) => ({ word: entry.word, category: entry.category, source: entry.source })),
      not_learned: outcome.unresolved.map((entry) => ({ word: entry.word, reason: entry.reason })),
    });
    return { words: words.map((word) => word.normalised), learned: outcome.learned, unresolved: outcome.unresolved, calls: outcome.calls };
  }, {
    save: async (transaction: PoolClient, result) => {
      const inserted = await saveLearned(transaction, { tenant, taskId }, result.learned);
      await recordUnresolved(transaction, tenant, taskId, result.unresolved);
      await releaseClaims(transaction, tenant, taskId, result.words);
      await updateJob(transaction, taskId, { totalTokens: inserted.length, wordsFailed: result.unresolved.length, errors: unresolvedError('word_not_learned', result.unresolved) });
    },
  });
}

/** A research source's own failure (not the task's abort, not a bug of ours). */
function isProviderFailure(error: unknown, signal: AbortSignal): error is TaskloomError {
  return !signal.aborted && isTaskloomError(error) && error.code === 'research_provider_failed';
}

/** What a source call answered for its words: those it could not do, and the calls it cost. */
interface CallOutcome {
  unresolved: UnresolvedWord[];
  calls: number;
}

/**
 * Calls the source for several words (a research batch, a deepening). A provider failure a retry
 * of this job may clear (retryable, with attempts left) is thrown as it was, charging nothing: the
 * attempt is retried from its checkpoints and takes the same words again. Any other provider
 * failure (refused for good, or on the job's last attempt) would recur on every later job, because
 * the words head their queue (fewest failures first); so the words of a call of several are taken
 * again one at a time (at most one call per word, once), those that answer count and only the
 * ones that fail on their own are charged, as unresolved words with the provider's message. When
 * no word answers alone either, the failure is not the words' but the source's: `ok: false`, every
 * word to be charged, and the step fails. A call for a single word that fails is charged to its
 * word and the job goes on.
 */
async function callIsolatingFailures<Word extends WordToLearn, Field extends 'learned' | 'deepened', Done>(
  words: readonly Word[],
  call: (words: readonly Word[]) => Promise<CallOutcome & Record<Field, Done[]>>,
  options: { signal: AbortSignal; willRetry: boolean; done: Field },
): Promise<{ ok: true; outcome: CallOutcome & Record<Field, Done[]> } | { ok: false; error: TaskloomError; failed: UnresolvedWord[] }> {
  const final = (error: unknown): error is TaskloomError => isProviderFailure(error, options.signal) && !(error.retryable && options.willRetry);
  let callError: TaskloomError;
  try {
    return { ok: true, outcome: await call(words) };
  } catch (error) {
    if (!final(error)) throw error;
    callError = error;
  }
  const outcome = { [options.done]: [], unresolved: [], calls: 1 } as unknown as CallOutcome & Record<Field, Done[]>;
  if (words.length === 1) {
    outcome.unresolved.push(...words.map((word) => ({ ...word, reason: callError.message })));
    return { ok: true, outcome };
  }
  const failed: UnresolvedWord[] = [];
  for (const word of words) {
    try {
      const single = await call([word]);
      outcome[options.done].push(...single[options.done]);
      outcome.unresolved.push(...single.unresolved);
      outcome.calls += single.calls;
    } catch (error) {
      if (!final(error)) throw error;
      failed.push({ ...word, reason: error.message });
      outcome.calls += 1;
    }
  }
  if (failed.length === words.length) return { ok: false, error: callError, failed };
  outcome.unresolved.push(...failed);
  return { ok: true, outcome };
}

/** Researches a claimed batch (`callIsolatingFailures`). */
function researchClaimed(source: ResearchSource, words: readonly WordToLearn[], options: ResearchOptions, willRetry: boolean) {
  return callIsolatingFailures<WordToLearn, 'learned', ResearchedWord>(words, (some) => source.research(some, options), { signal: options.signal, willRetry, done: 'learned' });
}

/**
 * Deep mode's last step: up to `limit` solidified entries get an expanded definition, applications
 * and misconceptions. `signal` (default the task's) aborts the source call.
 */
export async function deepenStep(context: TaskContext<unknown>, options: { source: ResearchSource; limit: number; pool: Pool; signal?: AbortSignal }): Promise<DeepenResult> {
  const { taskId, tenant, logger } = context;
  const signal = options.signal ?? context.signal;
  return context.step('deepen', async (scope: StepScope): Promise<DeepenResult> => {
    const entries = await entriesToDeepen(options.pool, tenant, options.limit);
    if (entries.length === 0) return { deepened: [], unresolved: [], calls: 0 };
    const researchOptions: ResearchOptions = { signal, taskId, step: 'deepen' };
    const deepening = await callIsolatingFailures<(typeof entries)[number], 'deepened', DeepenedWord>(entries, (some) => options.source.deepen(some, researchOptions), { signal, willRetry: context.willRetry, done: 'deepened' });
    if (!deepening.ok) {
      // No entry could be deepened even alone: counted on each, so that after three such runs the
      // next deep run reaches other entries rather than fail on these for good.
      await recordNotDeepened(options.pool, tenant, deepening.failed)
        .catch((recordError: unknown) => logger.warn({ err: recordError, taskId }, 'could not count the failed attempt of a deepening'));
      throw deepening.error;
    }
    const outcome = deepening.outcome;
    scope.emit('entries_deepened', { words: outcome.deepened.map((entry) => entry.normalised), not_deepened: outcome.unresolved.map((entry) => ({ word: entry.word, reason: entry.reason })) });
    return outcome;
  }, {
    save: async (transaction: PoolClient, result) => {
      const deepened = await saveDeepened(transaction, tenant, result.deepened);
      await recordNotDeepened(transaction, tenant, result.unresolved);
      await updateJob(transaction, taskId, { entriesDeepened: deepened, errors: unresolvedError('entry_not_deepened', result.unresolved) });
    },
  });
}

/** Reports a failed attempt on the job document (outside any step: the step's own work rolled back). */
export async function reportJobError(pool: Pool, taskId: string, error: unknown, willRetry: boolean): Promise<void> {
  const serialized = serializeError(error);
  const words = (serialized.details as { words?: unknown } | undefined)?.words;
  await updateJob(pool, taskId, {
    errors: [{ code: serialized.code, message: `${serialized.message}${willRetry ? ' (will retry)' : ''}`.slice(0, 1000), at: new Date().toISOString(), ...(Array.isArray(words) ? { words: words.map(String).slice(0, 20) } : {}) }],
  });
}
