/**
 * A quick, a deep and a big job of one tenant running at once on two engines' workers: each
 * claims the queued words it researches, so no word is researched by two jobs at once, no learned
 * word is paid for twice and a word that fails is counted once per research. A claim is the
 * job's, not the attempt's: a lapsed claim frees the word for other jobs, and a job may take its
 * own claimed words again (crash-resume.test.ts shows that with a killed worker). Two claiming
 * statements in the same instant are rare in a race of whole jobs, so the row lock that settles
 * them has a test of its own, with the first claim held open, and so has a round queueing a word
 * while another job's batch learns it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { claimQueuedWords, knowledgeCounts, lastQueuedId, recordRound, saveLearned } from '../../src/pipelines/learning/knowledge-store.ts';
import { learningTaskTypes } from '../../src/pipelines/learning/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, testLogger, waitForTask } from '../support/engine.ts';
import { learningConfig, learningGateway, queueOnlySource } from './helpers.ts';

const queuedWords = Array.from({ length: 120 }, (_, index) => `claimword${String(index).padStart(3, '0')}`);
/** Words the test source cannot define: each research of one is a failed attempt. */
const refused = new Set(queuedWords.filter((_, index) => index % 7 === 3));
const refusal = 'the test source cannot define it';

let database: TestDatabase;
const engines: Engine[] = [];

/** Every research call: the job that made it and its words. */
const researchCalls: Array<{ taskId: string; words: string[] }> = [];
/** Words in a research call right now, by job; a word in two jobs' calls at once is a double research. */
const inFlight = new Map<string, Set<string>>();
const overlaps: Array<{ word: string; jobs: string[] }> = [];

/**
 * The three jobs' first research calls wait for each other, so the jobs read the queue's head at
 * the same moment: the race the claims must win. Rejects after a while rather than hanging, should
 * a job never get there.
 */
const firstCalls = new Set<string>();
let releaseFirstCalls: () => void = () => {};
const allThreeResearching = new Promise<void>((resolve) => { releaseFirstCalls = resolve; });

// Nothing new is proposed: the jobs work the seeded queue only.
const source = queueOnlySource(async (words, options) => {
  const normalised = words.map((word) => word.normalised);
  researchCalls.push({ taskId: options.taskId, words: normalised });
  for (const word of normalised) {
    const holders = [...inFlight.entries()].filter(([, held]) => held.has(word)).map(([taskId]) => taskId);
    if (holders.length > 0) overlaps.push({ word, jobs: [...holders, options.taskId] });
  }
  const held = inFlight.get(options.taskId) ?? new Set<string>();
  inFlight.set(options.taskId, held);
  for (const word of normalised) held.add(word);
  try {
    if (!firstCalls.has(options.taskId)) {
      firstCalls.add(options.taskId);
      if (firstCalls.size === 3) releaseFirstCalls();
      await Promise.race([allThreeResearching, new Promise((_, reject) => setTimeout(() => reject(new Error('the three jobs never researched at the same time')), 15_000))]);
    }
    // A little research time, so later batches of the jobs overlap too.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return {
      learned: words.filter((word) => !refused.has(word.normalised)).map((word) => ({
        normalised: word.normalised, word: word.word, definition: `${word.word} is a word seeded for the claims test.`,
        related_concepts: [], examples: [], category: 'noun.artifact', source: 'test-source', references: [],
      })),
      unresolved: words.filter((word) => refused.has(word.normalised)).map((word) => ({ ...word, reason: refusal })),
      calls: 1,
    };
  } finally {
    for (const word of normalised) held.delete(word);
  }
});

beforeAll(async () => {
  database = await createTestDatabase();
  // A quick job that would take the whole queue, so all three compete for its head.
  const config = learningConfig({ learningQuickWords: 100 });
  for (let index = 0; index < 2; index += 1) {
    engines.push(await startTestEngine(database, learningTaskTypes({ config, pool: database.pool, logger: testLogger, llm: learningGateway(database, config), source })));
  }
  await database.pool.query("INSERT INTO unknown_words (tenant, normalised, word) SELECT 'alpha', word, word FROM unnest($1::text[]) AS w(word)", [queuedWords]);
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.stop({ graceMs: 500 })));
  await database?.drop();
});

it('never lets concurrent jobs of one tenant research the same word: each claims the words it researches', async () => {
  const [first, second] = engines as [Engine, Engine];
  // Submitted before any worker runs, so both engines' workers race to claim the three jobs.
  const submitted = await Promise.all([
    first.submit({ taskType: 'learning_job', tenant: 'alpha', input: { mode: 'quick' } }),
    first.submit({ taskType: 'learning_job', tenant: 'alpha', input: { mode: 'deep' } }),
    first.submit({ taskType: 'big_learning_job', tenant: 'alpha', input: { budget_seconds: 5, words_learned_per_round: 200 } }),
  ]);
  await Promise.all([first.startWorker({ concurrency: 2, pollIntervalMs: 200 }), second.startWorker({ concurrency: 2, pollIntervalMs: 200 })]);
  const finished = await Promise.all(submitted.map(({ task }) => waitForTask(first, task.id, ['completed', 'failed', 'cancelled'], 40_000)));
  expect(finished.map((task) => task.status)).toEqual(['completed', 'completed', 'completed']);

  // The three ran at once (their first calls waited for each other), yet no word was in two
  // jobs' research calls at the same time.
  expect(firstCalls.size).toBe(3);
  expect(overlaps).toEqual([]);

  // Every definable word was researched exactly once, by one job, and learned once.
  const researched = researchCalls.flatMap((call) => call.words);
  const definable = queuedWords.filter((word) => !refused.has(word));
  const researchedDefinable = researched.filter((word) => !refused.has(word));
  expect(researchedDefinable.sort()).toEqual([...definable].sort());
  const known = await database.pool.query<{ normalised: string }>("SELECT normalised FROM known_words WHERE tenant = 'alpha' ORDER BY normalised");
  expect(known.rows.map((row) => row.normalised)).toEqual([...definable].sort());
  const learnedByJobs = finished.reduce((sum, task) => sum + (task.result as { total_tokens: number }).total_tokens, 0);
  expect(learnedByJobs).toBe(definable.length);

  // A refused word's attempts are its researches, one each: never two jobs' failures of one moment.
  const attempts = await database.pool.query<{ normalised: string; attempts: number; claimed_by: string | null }>("SELECT normalised, attempts, claimed_by FROM unknown_words WHERE tenant = 'alpha' ORDER BY normalised");
  expect(attempts.rows.map((row) => row.normalised)).toEqual([...refused].sort());
  for (const row of attempts.rows) expect(row.attempts).toBe(researched.filter((word) => word === row.normalised).length);
  // Every claim was given back as the jobs ended.
  expect(attempts.rows.filter((row) => row.claimed_by !== null)).toEqual([]);
}, 60_000);

it('lets another job take a word whose claim lapsed, while a job takes its own claimed words again', async () => {
  const words = ['lapsedone', 'lapsedtwo', 'heldone'];
  await database.pool.query("INSERT INTO unknown_words (tenant, normalised, word) SELECT 'beta', word, word FROM unnest($1::text[]) AS w(word)", [words]);
  const crashed = '00000000-0000-4000-8000-000000000001';
  const other = '00000000-0000-4000-8000-000000000002';
  const inAMinute = new Date(Date.now() + 60_000);
  // A job that died holding all three: two claims have lapsed, one has not.
  expect((await claimQueuedWords(database.pool, 'beta', 3, { taskId: crashed, claimUntil: inAMinute })).map((word) => word.normalised)).toEqual(words);
  await database.pool.query("UPDATE unknown_words SET claim_expires_at = now() - interval '1 second' WHERE tenant = 'beta' AND normalised LIKE 'lapsed%'");

  // Another job gets the lapsed ones only; the job itself, resumed, gets the one it still holds.
  expect((await claimQueuedWords(database.pool, 'beta', 3, { taskId: other, claimUntil: inAMinute })).map((word) => word.normalised)).toEqual(['lapsedone', 'lapsedtwo']);
  expect((await claimQueuedWords(database.pool, 'beta', 3, { taskId: crashed, claimUntil: inAMinute })).map((word) => word.normalised)).toEqual(['heldone']);
});

it('skips the words another job is claiming at that instant instead of waiting for its claim and taking them too', async () => {
  // Longer than the head a claiming statement locks (its batch plus 20), so the second job has
  // words left to take while the first one's statement holds its rows.
  const words = Array.from({ length: 30 }, (_, index) => `inflight${String(index).padStart(2, '0')}`);
  await database.pool.query("INSERT INTO unknown_words (tenant, normalised, word) SELECT 'gamma', word, word FROM unnest($1::text[]) AS w(word)", [words]);
  const first = '00000000-0000-4000-8000-000000000003';
  const second = '00000000-0000-4000-8000-000000000004';
  const inAMinute = new Date(Date.now() + 60_000);
  const holder = await database.pool.connect();
  let firstWords: string[];
  let secondWords: string[];
  try {
    // The first job's claiming statement has run but not committed: the second cannot see its
    // claims yet, only its row locks.
    await holder.query('BEGIN');
    firstWords = (await claimQueuedWords(holder, 'gamma', 2, { taskId: first, claimUntil: inAMinute })).map((word) => word.normalised);
    expect(firstWords).toEqual(['inflight00', 'inflight01']);
    const secondClaim = claimQueuedWords(database.pool, 'gamma', 2, { taskId: second, claimUntil: inAMinute });
    let answered = false;
    void secondClaim.then(() => { answered = true; }, () => { answered = true; });
    // A claim that does not skip locked rows waits here for the first one's; commit the first only
    // once the second has answered or is waiting, so that it cannot simply read the committed claims.
    await eventually(async () => answered || (await database.pool.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rowCount, 10_000);
    await holder.query('COMMIT');
    secondWords = (await secondClaim).map((word) => word.normalised);
  } finally {
    // Outside a transaction (committed) this only warns; after a failed assertion it ends the open one.
    await holder.query('ROLLBACK').catch(() => {});
    holder.release();
  }
  // The second job got words of its own, none of the first job's, and each word has one owner.
  expect(secondWords).toHaveLength(2);
  expect(secondWords.filter((word) => firstWords.includes(word))).toEqual([]);
  const claims = await database.pool.query<{ normalised: string; claimed_by: string }>("SELECT normalised, claimed_by FROM unknown_words WHERE tenant = 'gamma' AND claimed_by IS NOT NULL ORDER BY id");
  expect(claims.rows).toEqual([...firstWords.map((normalised) => ({ normalised, claimed_by: first })), ...secondWords.map((normalised) => ({ normalised, claimed_by: second }))]);
});

it('takes off the queue a word a round queued while another job learned it, instead of keeping it at the head for good', async () => {
  const learner = '00000000-0000-4000-8000-000000000005';
  const rounder = '00000000-0000-4000-8000-000000000006';
  await database.pool.query("INSERT INTO unknown_words (tenant, normalised, word) VALUES ('delta', 'zebra', 'zebra')");
  const holder = await database.pool.connect();
  let queued: number;
  try {
    // One job's batch has learned "zebra" (known, taken off the queue) but not committed yet...
    await holder.query('BEGIN');
    await saveLearned(holder, { tenant: 'delta', taskId: learner }, [{
      normalised: 'zebra', word: 'zebra', definition: 'An African wild horse with black and white stripes.',
      related_concepts: [], examples: [], category: 'noun.animal', source: 'test-source', references: [],
    }]);
    // ...when another job's round proposes it: its "not known" check reads the tables as they
    // were, and its insert waits for the batch's delete of the queued row.
    const round = recordRound(database.pool, { tenant: 'delta', taskId: rounder, round: 1 }, [], [{ word: 'zebra', normalised: 'zebra' }], (token) => token);
    await eventually(async () => (await database.pool.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rowCount);
    await holder.query('COMMIT');
    queued = (await round).queued;
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    holder.release();
  }
  // The race's leftover: known and queued at once.
  expect(queued).toBe(1);
  expect((await database.pool.query("SELECT 1 FROM unknown_words WHERE tenant = 'delta' AND normalised = 'zebra'")).rowCount).toBe(1);
  // It does not count as waiting (a quick job would propose no round while words wait)...
  expect((await lastQueuedId(database.pool, 'delta')).waiting).toBe(0);
  expect(await knowledgeCounts(database.pool, 'delta')).toMatchObject({ known: 1, queued: 0 });
  // ...and the first claim to reach it takes it off the queue and claims the words behind it.
  await database.pool.query("INSERT INTO unknown_words (tenant, normalised, word) VALUES ('delta', 'aardvark', 'aardvark')");
  const claimed = await claimQueuedWords(database.pool, 'delta', 5, { taskId: rounder, claimUntil: new Date(Date.now() + 60_000) });
  expect(claimed.map((word) => word.normalised)).toEqual(['aardvark']);
  expect((await database.pool.query("SELECT normalised FROM unknown_words WHERE tenant = 'delta'")).rows).toEqual([{ normalised: 'aardvark' }]);
});
