/**
 * Deep mode and entries its source cannot deepen: each failed attempt is counted, so those entries
 * go behind the others (the next deep run reaches an entry it can deepen) and, after
 * maxDeepenAttempts, are no longer picked.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import type { ResearchSource } from '../../src/pipelines/learning/index.ts';
import type { TestDatabase } from '../support/database.ts';
import { waitForTask } from '../support/engine.ts';
import { startLearningEngine, type LearningEngine } from './helpers.ts';

const refused = ['aardvark', 'abacus', 'abbey', 'abdomen', 'ability'];
const accepted = 'zebra';
const refusal = 'the test source cannot deepen it';

let database: TestDatabase;
let engine: Engine;
let learning: LearningEngine;
/** The entries each deep run asked the source to deepen, in order. */
const deepenCalls: string[][] = [];

/** Proposes nothing and deepens every entry but the refused ones. */
const source: ResearchSource = {
  kind: 'wordnet',
  name: 'test-source',
  batchSize: 10,
  proposeWords: async () => ({ tokens: [], source: 'test-source', calls: 0 }),
  research: async (words) => ({ learned: [], unresolved: words.map((word) => ({ ...word, reason: refusal })), calls: 0 }),
  async deepen(entries) {
    deepenCalls.push(entries.map((entry) => entry.normalised));
    const deepenable = entries.filter((entry) => !refused.includes(entry.normalised));
    return {
      deepened: deepenable.map((entry) => ({ normalised: entry.normalised, source: 'test-source', expanded_definition: `${entry.word} explained at length for the test.`, applications: ['in tests'], misconceptions: [] })),
      unresolved: entries.filter((entry) => refused.includes(entry.normalised)).map((entry) => ({ normalised: entry.normalised, word: entry.word, reason: refusal })),
      calls: 0,
    };
  },
};

beforeAll(async () => {
  learning = await startLearningEngine(source);
  ({ database, engine } = learning);
  // The refused entries are the oldest, so they head the line; the accepted one came a day later.
  const entries = [...refused.map((word, index) => ({ word, age: `${2 * 24 * 60 - index} minutes` })), { word: accepted, age: '1 day' }];
  for (const entry of entries) {
    await database.pool.query("INSERT INTO known_words (tenant, normalised, word, explanation, source) VALUES ('alpha', $1, $1, 'A word seeded for the test.', 'test-source')", [entry.word]);
    await database.pool.query("INSERT INTO solidified_knowledge (tenant, normalised, word, definition, source, created_at) VALUES ('alpha', $1, $1, 'A word seeded for the test.', 'test-source', now() - $2::interval)", [entry.word, entry.age]);
  }
});

afterAll(async () => {
  await learning?.stop();
});

async function runDeep(): Promise<number> {
  const { task } = await engine.submit({ taskType: 'learning_job', tenant: 'alpha', input: { mode: 'deep' } });
  const finished = await waitForTask(engine, task.id, ['completed', 'failed', 'cancelled'], 20_000);
  expect(finished.status).toBe('completed');
  return (finished.result as { entries_deepened: number }).entries_deepened;
}

const attemptsOf = async (): Promise<Record<string, number>> => Object.fromEntries((await database.pool.query<{ normalised: string; deepen_attempts: number }>(
  "SELECT normalised, deepen_attempts FROM solidified_knowledge WHERE tenant = 'alpha' AND deepened_at IS NULL",
)).rows.map((row) => [row.normalised, row.deepen_attempts]));

it('puts entries the source could not deepen behind the others, so the next deep run deepens a new one', async () => {
  // First run: the five oldest, all refused. Second run: the entry never tried goes first and is deepened.
  expect(await runDeep()).toBe(0);
  expect(deepenCalls[0]).toEqual(refused);
  expect(await runDeep()).toBe(1);
  expect(deepenCalls[1]![0]).toBe(accepted);
  // Each refusal was counted: the four oldest were tried twice, the fifth once (run two had four places left).
  expect(await attemptsOf()).toEqual(Object.fromEntries(refused.map((word, index) => [word, index < 4 ? 2 : 1])));
  const deepened = await database.pool.query<{ normalised: string }>("SELECT normalised FROM solidified_knowledge WHERE tenant = 'alpha' AND deepened_at IS NOT NULL");
  expect(deepened.rows.map((row) => row.normalised)).toEqual([accepted]);
  const reasons = await database.pool.query<{ deepen_last_error: string }>("SELECT deepen_last_error FROM solidified_knowledge WHERE tenant = 'alpha' AND deepened_at IS NULL");
  expect(reasons.rows.map((row) => row.deepen_last_error)).toEqual(refused.map(() => refusal));
}, 30_000);

it('stops picking an entry after it failed maxDeepenAttempts times', async () => {
  // Runs three and four take the refused entries up to three failures each.
  await runDeep();
  await runDeep();
  expect(await attemptsOf()).toEqual(Object.fromEntries(refused.map((word) => [word, 3])));
  const calls = deepenCalls.length;
  expect(await runDeep()).toBe(0);
  // The fifth run found nothing left to try: the source was not asked.
  expect(deepenCalls).toHaveLength(calls);
  expect(await attemptsOf()).toEqual(Object.fromEntries(refused.map((word) => [word, 3])));
}, 30_000);
