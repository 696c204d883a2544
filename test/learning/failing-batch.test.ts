/**
 * A research call that fails for good (a provider refusing one word, say a content filter's 400)
 * or on the job's last attempt: the batch's words head the queue (it is taken in `attempts, id`
 * order), so unless the failure is counted on them every retry and every later job takes the same
 * batch and fails the same way, and the tenant learns nothing again. The batch is researched
 * again one word at a time: the words that answer are learned, the one that fails is charged and,
 * after maxWordAttempts, no longer picked; a big job goes on with its next batch.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { ResearchProviderError } from '../../src/pipelines/learning/index.ts';
import { maxWordAttempts } from '../../src/pipelines/learning/knowledge-store.ts';
import type { TestDatabase } from '../support/database.ts';
import { waitForTask } from '../support/engine.ts';
import { queueOnlySource, startLearningEngine, type LearningEngine } from './helpers.ts';

let database: TestDatabase;
let engine: Engine;
let learning: LearningEngine;
/** Every research call's words, per tenant, in order. */
const calls = new Map<string, string[][]>();

/**
 * Proposes nothing (the jobs work the seeded queue) and defines every word, except that a call
 * with a `refused…` word in it is refused for good (400, not retryable) and a call with an
 * `outage…` word fails as a provider outage does (retryable), whichever other words it holds.
 */
const source = queueOnlySource(async (words, options) => {
  const normalised = words.map((word) => word.normalised);
  const tenant = (await database.pool.query<{ tenant: string }>('SELECT tenant FROM learning_jobs WHERE task_id = $1', [options.taskId])).rows[0]!.tenant;
  calls.set(tenant, [...(calls.get(tenant) ?? []), normalised]);
  if (normalised.some((word) => word.startsWith('refused'))) throw new ResearchProviderError('test:model', 'research', '400 content policy', { retryable: false, details: { words: normalised } });
  if (normalised.some((word) => word.startsWith('outage'))) throw new ResearchProviderError('test:model', 'research', '503 service unavailable', { retryable: true, details: { words: normalised } });
  return {
    learned: words.map((word) => ({ normalised: word.normalised, word: word.word, definition: `${word.word} is a word seeded for the failing-batch test.`, related_concepts: [], examples: [], category: 'noun.artifact', source: 'test:model', references: [] })),
    unresolved: [],
    calls: 1,
  };
}, { kind: 'llm', name: 'test:model', batchSize: 5 });

beforeAll(async () => {
  // Quick runs back to back: no throttle window between them.
  learning = await startLearningEngine(source, { retryBaseDelayMs: 20, pollIntervalMs: 100, config: { learningQuickIntervalSeconds: 0 } });
  ({ database, engine } = learning);
});

afterAll(async () => {
  await learning?.stop();
});

async function queue(tenant: string, words: string[]): Promise<void> {
  await database.pool.query('INSERT INTO unknown_words (tenant, normalised, word) SELECT $1, w, w FROM unnest($2::text[]) AS w', [tenant, words]);
}

async function run(tenant: string, taskType: string, input: Record<string, unknown>) {
  const { task } = await engine.submit({ taskType, tenant, input });
  return waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 30_000);
}

const queued = async (tenant: string) => (await database.pool.query<{ normalised: string; attempts: number; last_error: string | null; claimed_by: string | null }>(
  'SELECT normalised, attempts, last_error, claimed_by FROM unknown_words WHERE tenant = $1 ORDER BY id', [tenant],
)).rows;

const known = async (tenant: string) => (await database.pool.query<{ normalised: string }>('SELECT normalised FROM known_words WHERE tenant = $1 ORDER BY normalised', [tenant])).rows.map((row) => row.normalised);

it('charges a refused batch to the word that causes it, learns the others and stops picking that word after maxWordAttempts', async () => {
  await queue('alpha', ['refusedword', 'apple', 'brook', 'cedar', 'dune']);
  const first = await run('alpha', 'learning_job', { mode: 'quick' });
  expect(first.status).toBe('completed');
  expect(first.result).toMatchObject({ total_tokens: 4, words_failed: 1 });
  // The batch once, then each of its words on its own.
  expect(calls.get('alpha')).toEqual([['refusedword', 'apple', 'brook', 'cedar', 'dune'], ['refusedword'], ['apple'], ['brook'], ['cedar'], ['dune']]);
  expect(await known('alpha')).toEqual(['apple', 'brook', 'cedar', 'dune']);
  const [refused] = await queued('alpha');
  expect(refused).toMatchObject({ normalised: 'refusedword', attempts: 1, claimed_by: null });
  expect(refused!.last_error).toContain('400 content policy');
  const document = await database.pool.query<{ errors: Array<{ code: string; words?: string[] }> }>('SELECT errors FROM learning_jobs WHERE task_id = $1', [first.id]);
  expect(document.rows[0]!.errors).toEqual([expect.objectContaining({ code: 'word_not_learned', words: ['refusedword'] })]);

  // Later jobs take it alone; each counts its failure and completes, until it is no longer picked.
  for (let attempt = 2; attempt <= maxWordAttempts; attempt += 1) {
    const later = await run('alpha', 'learning_job', { mode: 'quick' });
    expect(later.status).toBe('completed');
    expect(later.result).toMatchObject({ total_tokens: 0, words_failed: 1 });
  }
  expect((await queued('alpha')).map((row) => [row.normalised, row.attempts])).toEqual([['refusedword', maxWordAttempts]]);
  const researched = calls.get('alpha')!.length;
  const last = await run('alpha', 'learning_job', { mode: 'quick' });
  expect(last.status).toBe('completed');
  expect(calls.get('alpha')).toHaveLength(researched);
}, 60_000);

it('lets a big job go on with its next batches after a refused one', async () => {
  const words = ['refusedbig', ...Array.from({ length: 9 }, (_, index) => `bigword${index}`)];
  await queue('beta', words);
  const done = await run('beta', 'big_learning_job', { budget_seconds: 2, words_per_round: 10 });
  expect(done.status).toBe('completed');
  // Every other word learned in round 1; the refused one charged once per round that took it, up to the limit.
  expect(done.result).toMatchObject({ total_tokens: 9, words_failed: maxWordAttempts });
  expect(await known('beta')).toEqual(words.slice(1).sort());
  expect((await queued('beta')).map((row) => [row.normalised, row.attempts, row.claimed_by])).toEqual([['refusedbig', maxWordAttempts, null]]);
}, 60_000);

it('counts an outage on the last attempt against the batch and fails the job when no word of it answers', async () => {
  await queue('gamma', ['outageone', 'outagetwo', 'outagethree']);
  const done = await run('gamma', 'learning_job', { mode: 'quick' });
  expect(done.status).toBe('failed');
  // Three attempts fail and are retried, charging nothing; the last also tries each word alone.
  expect(calls.get('gamma')).toEqual([
    ...Array.from({ length: 4 }, () => ['outageone', 'outagetwo', 'outagethree']),
    ['outageone'], ['outagetwo'], ['outagethree'],
  ]);
  const rows = await queued('gamma');
  expect(rows.map((row) => [row.normalised, row.attempts, row.claimed_by])).toEqual([['outageone', 1, null], ['outagetwo', 1, null], ['outagethree', 1, null]]);
  expect(rows.every((row) => row.last_error?.includes('503 service unavailable'))).toBe(true);
  expect(await known('gamma')).toEqual([]);
  // The job document counts the words charged, as the words' own attempts do.
  const job = await database.pool.query<{ words_failed: number }>('SELECT words_failed FROM learning_jobs WHERE task_id = $1', [done.id]);
  expect(job.rows[0]!.words_failed).toBe(3);
}, 60_000);
