/**
 * The big job's hard stop (seed 004: 10 minutes wall clock): a source call still running at the
 * deadline is aborted once the grace has passed, nothing of it is written, and the job completes
 * with what its committed steps learned instead of waiting for the call (a model call may take
 * minutes with the gateway's timeout, retries and fallbacks).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { createWordNetSource, sharedWordNet, type ResearchSource } from '../../src/pipelines/learning/index.ts';
import type { TestDatabase } from '../support/database.ts';
import { waitForTask } from '../support/engine.ts';
import { startLearningEngine, type LearningEngine } from './helpers.ts';

const budgetSeconds = 2;
const deadlineGraceMs = 300;
/** Far longer than the budget: without the cut-off the job would wait for it. */
const stuckCallMs = 15_000;

let database: TestDatabase;
let engine: Engine;
let learning: LearningEngine;
const wordnet = createWordNetSource({ reader: sharedWordNet(), batchSize: 10 });
/** The words the stuck call was asked for, and whether its signal aborted. */
const stuck: { words: string[]; aborted: boolean } = { words: [], aborted: false };

let researchCalls = 0;

/** WordNet, except that the second research call hangs until its signal aborts (or stuckCallMs). */
const source: ResearchSource = {
  ...wordnet,
  async research(words, options) {
    researchCalls += 1;
    if (researchCalls !== 2) return wordnet.research(words, options);
    stuck.words = words.map((word) => word.normalised);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, stuckCallMs);
      options.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        stuck.aborted = true;
        reject(options.signal.reason);
      }, { once: true });
    });
    return wordnet.research(words, options);
  },
};

beforeAll(async () => {
  // WordNet's indexes load on first use (about a second, more on a loaded machine): loaded here,
  // so the first batch is done well before the deadline and the second one is the call in hand.
  await wordnet.research([{ word: 'dog', normalised: 'dog' }], { signal: new AbortController().signal, taskId: 'warm-up', step: 'warm-up' });
  await wordnet.proposeWords({ count: 10, round: 1 }, { signal: new AbortController().signal, taskId: 'warm-up', step: 'warm-up' });
  learning = await startLearningEngine(source, { deadlineGraceMs });
  ({ database, engine } = learning);
});

afterAll(async () => {
  await learning?.stop();
});

it('aborts the source call in hand at the deadline plus the grace and completes with what it learned', async () => {
  const { task } = await engine.submit({ taskType: 'big_learning_job', tenant: 'alpha', input: { budget_seconds: budgetSeconds, words_per_round: 100, words_learned_per_round: 50 } });
  const finished = await waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 20_000);

  // Completed in one attempt, on time: the stuck call was cut off, not waited for.
  expect(finished.status).toBe('completed');
  expect(finished.attempts).toBe(1);
  expect(stuck.aborted).toBe(true);
  const job = (await database.pool.query<{ deadline_at: Date; errors: unknown[]; total_tokens: number }>('SELECT deadline_at, errors, total_tokens FROM learning_jobs WHERE task_id = $1', [task.id])).rows[0]!;
  const result = finished.result as { status: string; total_tokens: number; past_deadline_ms: number; stopped_because?: string };
  // Said as a big job's every other stop at its deadline is, in the result and its event.
  expect(result.stopped_because).toBe('deadline');
  const completed = await database.pool.query<{ payload: { stopped_because?: string } }>("SELECT payload FROM task_events WHERE task_id = $1 AND type = 'learning_completed'", [task.id]);
  expect(completed.rows.map((row) => row.payload.stopped_because)).toEqual(['deadline']);
  expect(result.past_deadline_ms).toBeGreaterThanOrEqual(deadlineGraceMs);
  expect(result.past_deadline_ms).toBeLessThan(deadlineGraceMs + 1500);
  expect(Date.parse(finished.completed_at!) - job.deadline_at.getTime()).toBeLessThan(deadlineGraceMs + 2500);
  // The stop is not a failure: no error on the job document.
  expect(job.errors).toEqual([]);

  // The first batch's words were kept; nothing of the cut-off batch was written: its words are
  // neither known nor counted as failed, and it left no checkpoint.
  expect(result.total_tokens).toBe(10);
  expect(job.total_tokens).toBe(10);
  expect(stuck.words).toHaveLength(10);
  const known = await database.pool.query("SELECT 1 FROM known_words WHERE tenant = 'alpha' AND normalised = ANY($1::text[])", [stuck.words]);
  expect(known.rowCount).toBe(0);
  const queued = await database.pool.query<{ attempts: number; last_error: string | null }>("SELECT attempts, last_error FROM unknown_words WHERE tenant = 'alpha' AND normalised = ANY($1::text[])", [stuck.words]);
  expect(queued.rows).toEqual(stuck.words.map(() => ({ attempts: 0, last_error: null })));
  const steps = await database.pool.query<{ key: string }>('SELECT key FROM task_steps WHERE task_id = $1 ORDER BY key', [task.id]);
  expect(steps.rows.map((row) => row.key)).toEqual(['complete', 'plan', 'round:1:batch:1', 'round:1:propose']);
}, 30_000);
