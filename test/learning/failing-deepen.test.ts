/**
 * A deepening call that fails for good (a provider refusing one entry, say a content filter's 400)
 * or on the job's last attempt: the entries it was for head the deepening order (fewest failed
 * attempts first), so unless the failure is counted on them every later deep run takes the same
 * entries and fails the same way, and no other entry is ever deepened. The entries are deepened
 * again one at a time, as a research batch is (failing-batch.test.ts): the ones that answer are
 * deepened, the one that fails is counted on its entry.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { ResearchProviderError } from '../../src/pipelines/learning/index.ts';
import type { TestDatabase } from '../support/database.ts';
import { waitForTask } from '../support/engine.ts';
import { queueOnlySource, startLearningEngine, type LearningEngine } from './helpers.ts';

let database: TestDatabase;
let engine: Engine;
let learning: LearningEngine;
/** Every deepening call's entries, per tenant, in order. */
const calls = new Map<string, string[][]>();

/**
 * Researches nothing (the queue stays empty) and deepens every entry, except that a call with a
 * `refused…` entry in it is refused for good (400, not retryable) and a call with an `outage…`
 * entry fails as a provider outage does (retryable), whichever other entries it holds.
 */
const source = {
  ...queueOnlySource(async () => ({ learned: [], unresolved: [], calls: 0 }), { kind: 'llm', name: 'test:model', batchSize: 5 }),
  async deepen(entries: ReadonlyArray<{ word: string; normalised: string }>, options: { taskId?: string }) {
    const normalised = entries.map((entry) => entry.normalised);
    const tenant = (await database.pool.query<{ tenant: string }>('SELECT tenant FROM learning_jobs WHERE task_id = $1', [options.taskId])).rows[0]!.tenant;
    calls.set(tenant, [...(calls.get(tenant) ?? []), normalised]);
    if (normalised.some((word) => word.startsWith('refused'))) throw new ResearchProviderError('test:model', 'deepen', '400 content policy', { retryable: false, details: { words: normalised } });
    if (normalised.some((word) => word.startsWith('outage'))) throw new ResearchProviderError('test:model', 'deepen', '503 service unavailable', { retryable: true, details: { words: normalised } });
    return {
      deepened: entries.map((entry) => ({
        normalised: entry.normalised, source: 'test:model',
        expanded_definition: `${entry.word} is a word seeded for the failing-deepen test, explained at length.`,
        applications: [`Using ${entry.word} in a sentence.`], misconceptions: [],
      })),
      unresolved: [],
      calls: 1,
    };
  },
};

beforeAll(async () => {
  learning = await startLearningEngine(source, { retryBaseDelayMs: 20, pollIntervalMs: 100 });
  ({ database, engine } = learning);
});

afterAll(async () => {
  await learning?.stop();
});

/** Solidified entries, oldest first in the order given, so a deep run picks them in that order. */
async function seedEntries(tenant: string, words: string[]): Promise<void> {
  for (const [index, word] of words.entries()) {
    await database.pool.query("INSERT INTO known_words (tenant, normalised, word, explanation, source) VALUES ($1, $2, $2, 'A word seeded for the test.', 'test-source')", [tenant, word]);
    await database.pool.query("INSERT INTO solidified_knowledge (tenant, normalised, word, definition, source, created_at) VALUES ($1, $2, $2, 'A word seeded for the test.', 'test-source', now() - $3::interval)", [tenant, word, `${10 - index} minutes`]);
  }
}

async function deepRun(tenant: string) {
  const { task } = await engine.submit({ taskType: 'learning_job', tenant, input: { mode: 'deep' } });
  return waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 30_000);
}

const entries = async (tenant: string) => (await database.pool.query<{ normalised: string; deepened: boolean; deepen_attempts: number; deepen_last_error: string | null }>(
  'SELECT normalised, deepened_at IS NOT NULL AS deepened, deepen_attempts, deepen_last_error FROM solidified_knowledge WHERE tenant = $1 ORDER BY created_at', [tenant],
)).rows;

it('deepens the other entries of a refused deepening and counts the refusal on the entry that causes it', async () => {
  await seedEntries('alpha', ['refusedentry', 'apple', 'brook', 'cedar', 'dune']);
  const done = await deepRun('alpha');
  expect(done.status).toBe('completed');
  // The deepening once, then each of its entries on its own.
  expect(calls.get('alpha')).toEqual([['refusedentry', 'apple', 'brook', 'cedar', 'dune'], ['refusedentry'], ['apple'], ['brook'], ['cedar'], ['dune']]);
  const rows = await entries('alpha');
  expect(rows.map((row) => [row.normalised, row.deepened, row.deepen_attempts])).toEqual([
    ['refusedentry', false, 1], ['apple', true, 0], ['brook', true, 0], ['cedar', true, 0], ['dune', true, 0],
  ]);
  expect(rows[0]!.deepen_last_error).toContain('400 content policy');
  const document = await database.pool.query<{ entries_deepened: number; errors: Array<{ code: string; words?: string[] }> }>('SELECT entries_deepened, errors FROM learning_jobs WHERE task_id = $1', [done.id]);
  expect(document.rows[0]).toMatchObject({ entries_deepened: 4, errors: [expect.objectContaining({ code: 'entry_not_deepened', words: ['refusedentry'] })] });
}, 60_000);

it('counts an outage on the last attempt against every entry of the deepening and fails the job when none answers', async () => {
  await seedEntries('beta', ['outageone', 'outagetwo', 'outagethree']);
  const done = await deepRun('beta');
  expect(done.status).toBe('failed');
  // The attempts before the last fail and are retried, counting nothing; the last also tries each entry alone.
  const deepenings = calls.get('beta')!;
  const whole = deepenings.filter((call) => call.length === 3);
  expect(whole.length).toBeGreaterThan(1);
  expect(deepenings).toEqual([...whole, ['outageone'], ['outagetwo'], ['outagethree']]);
  const rows = await entries('beta');
  expect(rows.map((row) => [row.normalised, row.deepened, row.deepen_attempts])).toEqual([['outageone', false, 1], ['outagetwo', false, 1], ['outagethree', false, 1]]);
  expect(rows.every((row) => row.deepen_last_error?.includes('503 service unavailable'))).toBe(true);
}, 60_000);
