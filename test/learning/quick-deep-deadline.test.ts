/**
 * Quick and deep jobs have a wall-clock deadline of their own, kept the way the big job keeps its
 * (deadline.ts): a quick job's source call still running at the deadline is cut off once the grace
 * has passed and the job completes with what it learned; a deep job with more queued words than
 * its budget allows stops learning with a tenth of the budget left and still deepens its entries.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import type { ResearchSource } from '../../src/pipelines/learning/index.ts';
import type { TestDatabase } from '../support/database.ts';
import { waitForTask } from '../support/engine.ts';
import { startLearningEngine, type LearningEngine } from './helpers.ts';

const budgetSeconds = 2;
/** Long enough that the tenth kept for deepening (500 ms) holds a deepening on a loaded machine. */
const deepBudgetSeconds = 5;
const deadlineGraceMs = 300;
/** Far longer than the budget: without the cut-off the quick job would wait for it. */
const stuckCallMs = 15_000;
const batchMs = 100;

let database: TestDatabase;
let engine: Engine;
let learning: LearningEngine;
/** The call the quick job is stuck in: its words, and whether its signal aborted. */
const stuck: { words: string[]; aborted: boolean } = { words: [], aborted: false };

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function pause(ms: number, signal: AbortSignal, onAbort: () => void = () => {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      onAbort();
      reject(signal.reason);
    }, { once: true });
  });
}

/**
 * Defines every word after `batchMs`, except for the second call on tenant `quick`'s words, which hangs until
 * its signal aborts (or stuckCallMs); deepens every entry at once.
 */
let quickCalls = 0;
const source: ResearchSource = {
  kind: 'wordnet',
  name: 'test-source',
  batchSize: 10,
  proposeWords: async () => ({ tokens: [], source: 'test-source', calls: 0 }),
  async research(words, options) {
    if (words[0]?.normalised.startsWith('quick') && (quickCalls += 1) === 2) {
      stuck.words = words.map((word) => word.normalised);
      await pause(stuckCallMs, options.signal, () => { stuck.aborted = true; });
    } else {
      await pause(batchMs, options.signal);
    }
    return {
      learned: words.map((word) => ({ normalised: word.normalised, word: word.word, definition: `${word.word} is a word seeded for the deadline test.`, related_concepts: [], examples: [], category: 'noun.artifact', source: 'test-source', references: [] })),
      unresolved: [],
      calls: 1,
    };
  },
  deepen: async (entries) => ({
    deepened: entries.map((entry) => ({ normalised: entry.normalised, source: 'test-source', expanded_definition: `${entry.word} explained at length for the deadline test.`, applications: ['in tests'], misconceptions: [] })),
    unresolved: [],
    calls: 1,
  }),
};

const seedQueue = (tenant: string, count: number): Promise<unknown> => database.pool.query(
  'INSERT INTO unknown_words (tenant, normalised, word) SELECT $1, w, w FROM unnest($2::text[]) AS t(w)',
  [tenant, Array.from({ length: count }, (_, index) => `${tenant}word${String(index).padStart(3, '0')}`)],
);

beforeAll(async () => {
  learning = await startLearningEngine(source, { config: { learningQuickBudgetSeconds: budgetSeconds, learningDeepBudgetSeconds: deepBudgetSeconds, learningQuickWords: 20 }, deadlineGraceMs });
  ({ database, engine } = learning);
});

afterAll(async () => {
  await learning?.stop();
});

const jobRow = async (taskId: string) => (await database.pool.query<{ deadline_at: Date | null; budget_ms: number | null; started_at: Date; errors: unknown[]; total_tokens: number; words_failed: number }>(
  'SELECT deadline_at, budget_ms, started_at, errors, total_tokens, words_failed FROM learning_jobs WHERE task_id = $1', [taskId],
)).rows[0]!;

it('cuts off a quick job\'s source call at its deadline plus the grace and completes with what it learned', async () => {
  await seedQueue('quick', 20);
  const { task } = await engine.submit({ taskType: 'learning_job', tenant: 'quick', input: { mode: 'quick' } });
  const finished = await waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 12_000);

  // Completed in one attempt, on time: the stuck call was cut off, not waited for.
  expect(finished.status).toBe('completed');
  expect(finished.attempts).toBe(1);
  expect(stuck.aborted).toBe(true);
  const job = await jobRow(task.id);
  expect(job.budget_ms).toBe(budgetSeconds * 1000);
  // The deadline is the first start plus the budget (the row is written a moment after the start).
  expect(job.deadline_at!.getTime() - job.started_at.getTime()).toBeGreaterThan(budgetSeconds * 1000 - 1000);
  expect(job.deadline_at!.getTime() - job.started_at.getTime()).toBeLessThanOrEqual(budgetSeconds * 1000);
  const result = finished.result as { status: string; total_tokens: number; past_deadline_ms: number };
  expect(result.past_deadline_ms).toBeGreaterThanOrEqual(deadlineGraceMs);
  expect(result.past_deadline_ms).toBeLessThan(deadlineGraceMs + 1500);
  expect(job.errors).toEqual([]);

  // The first batch was kept; the cut-off one wrote nothing and gave its claims back.
  expect(result.total_tokens).toBe(10);
  expect(stuck.words).toHaveLength(10);
  const queued = await database.pool.query<{ attempts: number; claimed_by: string | null }>("SELECT attempts, claimed_by FROM unknown_words WHERE tenant = 'quick' AND normalised = ANY($1::text[])", [stuck.words]);
  expect(queued.rows).toEqual(stuck.words.map(() => ({ attempts: 0, claimed_by: null })));
}, 30_000);

it('stops a deep job learning with a tenth of its budget left, deepens its entries and completes by its deadline', async () => {
  // Far more words than five seconds of 100 ms batches of ten can learn.
  await seedQueue('deep', 1000);
  const { task } = await engine.submit({ taskType: 'learning_job', tenant: 'deep', input: { mode: 'deep' } });
  const finished = await waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 20_000);
  expect(finished.status).toBe('completed');
  const job = await jobRow(task.id);
  expect(job.budget_ms).toBe(deepBudgetSeconds * 1000);
  const result = finished.result as { total_tokens: number; entries_deepened: number; past_deadline_ms: number };

  // Some words learned, the rest still queued for later jobs, and five entries deepened.
  expect(result.total_tokens).toBeGreaterThan(0);
  expect(result.total_tokens).toBeLessThan(1000);
  expect(result.entries_deepened).toBe(5);
  const remaining = await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM unknown_words WHERE tenant = 'deep' AND claimed_by IS NULL");
  expect(remaining.rows[0]!.count).toBe(1000 - result.total_tokens);

  // The learning stopped at the deadline less a tenth of the budget (within one batch), so the
  // deepening fitted before the deadline: the job ended within its grace of it.
  const steps = await database.pool.query<{ key: string; completed_at: Date }>("SELECT key, completed_at FROM task_steps WHERE task_id = $1 AND key LIKE 'batch:%' ORDER BY completed_at DESC LIMIT 1", [task.id]);
  const learnUntil = job.deadline_at!.getTime() - deepBudgetSeconds * 100;
  expect(steps.rows[0]!.completed_at.getTime()).toBeLessThan(learnUntil + batchMs + 1000);
  expect(result.past_deadline_ms).toBeLessThan(deadlineGraceMs);
}, 30_000);
