/**
 * A retryable failure whose retry could only start after the job's deadline (the engine's backoff
 * is longer than the time left) completes the job at once with what it kept, instead of leaving it
 * `running` past its deadline until the retry runs and completes it. One whose retry can start in
 * time waits for it; a cancel during that wait, which runs none of the job's code, still writes the
 * job's `learning_cancelled` (its failure handler).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { ResearchProviderError } from '../../src/pipelines/learning/index.ts';
import type { TestDatabase } from '../support/database.ts';
import { waitForFailureHandled } from '../../src/kit/testing.ts';
import { waitForTask } from '../support/engine.ts';
import { queueOnlySource, startLearningEngine, type LearningEngine } from './helpers.ts';

/** The first retry waits 30-60 s: far past the budget of the job below. */
const retryBaseDelayMs = 60_000;

let database: TestDatabase;
let engine: Engine;
let learning: LearningEngine;
let researchCalls = 0;

/** Every research call meets an outage. */
const source = queueOnlySource(async (words) => {
  researchCalls += 1;
  throw new ResearchProviderError('test:model', 'research', '503 service unavailable', { retryable: true, details: { words: words.map((word) => word.normalised) } });
}, { kind: 'llm', name: 'test:model', batchSize: 5 });

beforeAll(async () => {
  learning = await startLearningEngine(source, { retryBaseDelayMs, pollIntervalMs: 100 });
  ({ database, engine } = learning);
});

afterAll(async () => {
  await learning?.stop();
});

it('completes a job at once when its retry could only start after its deadline', async () => {
  await database.pool.query("INSERT INTO unknown_words (tenant, normalised, word) SELECT 'alpha', w, w FROM unnest($1::text[]) AS w", [['anchor', 'rope', 'sail']]);
  const { task } = await engine.submit({ taskType: 'big_learning_job', tenant: 'alpha', input: { budget_seconds: 3 } });
  const done = await waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 10_000);
  expect(done.status).toBe('completed');
  expect(done.attempts).toBe(1);
  expect(researchCalls).toBe(1);
  // Before its deadline, not after a retry 30 s on.
  expect(done.result).toMatchObject({ status: 'completed', total_tokens: 0, past_deadline_ms: 0 });
  // The document keeps the error, not said to be retried.
  const document = await database.pool.query<{ errors: Array<{ code: string; message: string }> }>('SELECT errors FROM learning_jobs WHERE task_id = $1', [task.id]);
  expect(document.rows[0]!.errors).toHaveLength(1);
  expect(document.rows[0]!.errors[0]!.message).toContain('503 service unavailable');
  expect(document.rows[0]!.errors[0]!.message).not.toContain('will retry');
}, 20_000);

it('writes learning_cancelled for a job cancelled while it waits for a retry', async () => {
  await database.pool.query("INSERT INTO unknown_words (tenant, normalised, word) SELECT 'beta', w, w FROM unnest($1::text[]) AS w", [['harbour', 'keel']]);
  // A quick job's 120 s leave time for a retry 30-60 s on: it waits.
  const { task } = await engine.submit({ taskType: 'learning_job', tenant: 'beta', input: { mode: 'quick' } });
  await waitForTask(engine, task.id, ['retrying'], 10_000);
  await engine.cancel(task.id);
  await waitForFailureHandled(engine, task.id);
  const cancelled = (await engine.readEvents({ taskId: task.id })).filter((event) => event.type === 'learning_cancelled');
  expect(cancelled.map((event) => event.payload)).toEqual([{ status: 'cancelled', mode: 'quick', total_tokens: 0, rounds: 0, words_proposed: 0, words_queued: 0, words_failed: 0, entries_deepened: 0, past_deadline_ms: 0 }]);
}, 20_000);
