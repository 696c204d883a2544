/**
 * A worker process SIGKILLed in the middle of a big job's round: another worker resumes the job
 * from its checkpoints, no word a committed step learned is researched again, every word is
 * learned once, the job takes back the words its dead worker had claimed, and it still completes
 * at its deadline.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { createWordNetSource, learningTaskTypes, sharedWordNet } from '../../src/pipelines/learning/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, testLogger, waitForStatus } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { learningConfig, learningGateway, recordingSource } from './helpers.ts';

const batchDelayMs = 150;
let database: TestDatabase;
let engine: Engine;
const resumed = recordingSource(createWordNetSource({ reader: sharedWordNet() }), { delayMs: batchDelayMs });

beforeAll(async () => {
  database = await createTestDatabase();
  const config = learningConfig();
  engine = await startTestEngine(database, learningTaskTypes({ config, pool: database.pool, logger: testLogger, llm: learningGateway(database, config), source: resumed }));
});

afterAll(async () => {
  await killChildren();
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

it('resumes a SIGKILLed big job mid-round without researching a learned word again', async () => {
  const { task } = await engine.submit({ taskType: 'big_learning_job', tenant: 'alpha', input: { budget_seconds: 20, words_per_round: 200, words_learned_per_round: 40 } });
  const child = spawnNode('test/learning/fixtures/learning-worker.ts', [database.url, String(batchDelayMs)]);
  await child.waitForLine('ready');

  // Mid-round: the second round has committed two of its four batches, and the worker holds the
  // claims of the batch in hand.
  const claimed = async (): Promise<string[]> => (await database.pool.query<{ normalised: string }>('SELECT normalised FROM unknown_words WHERE claimed_by = $1', [task.id])).rows.map((row) => row.normalised);
  await eventually(async () => {
    const step = await database.pool.query("SELECT 1 FROM task_steps WHERE task_id = $1 AND key = 'round:2:batch:2'", [task.id]);
    return (step.rowCount ?? 0) > 0 && (await claimed()).length > 0;
  }, 30_000, 10);
  child.process.kill('SIGKILL');
  await child.exited;
  // The words the dead worker was researching, still claimed by the job (until its cut-off).
  const heldAtCrash = await claimed();
  expect(heldAtCrash.length).toBeGreaterThan(0);

  const learnedEvents = async (): Promise<string[][]> => (await engine.readEvents({ taskId: task.id }))
    .filter((event) => event.type === 'words_learned')
    .map((event) => (event.payload.words as Array<{ word: string }>).map((entry) => entry.word.toLowerCase()));
  const committedBeforeCrash = (await learnedEvents()).flat();
  expect(committedBeforeCrash.length).toBeGreaterThanOrEqual(60);
  const researchedByChild = child.output().split('\n').filter((line) => line.startsWith('researched: ')).flatMap((line) => line.slice(12).split(','));
  expect(researchedByChild).toEqual(expect.arrayContaining(committedBeforeCrash));

  await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
  const finished = await waitForStatus(engine, task.id, ['completed', 'failed', 'cancelled'], 60_000);
  expect(finished.status).toBe('completed');
  expect(finished.attempts).toBe(2);
  const started = (await engine.readEvents({ taskId: task.id })).filter((event) => event.type === 'task_started');
  expect(started.map((event) => event.payload.resumed)).toEqual([false, true]);

  // The resumed attempt researched no word the first attempt had committed.
  expect(resumed.researched.length).toBeGreaterThan(0);
  expect(resumed.researched.filter((word) => committedBeforeCrash.includes(word))).toEqual([]);

  // The resumed job was not locked out of the words it held when its worker died: it took them
  // again at once (long before their claims lapse at its cut-off) and learned them itself.
  expect(resumed.researched).toEqual(expect.arrayContaining(heldAtCrash));
  const heldLearned = await database.pool.query<{ normalised: string }>("SELECT normalised FROM known_words WHERE tenant = 'alpha' AND task_id = $1 AND normalised = ANY($2::text[])", [task.id, heldAtCrash]);
  expect(heldLearned.rows.map((row) => row.normalised).sort()).toEqual([...heldAtCrash].sort());
  expect(await claimed()).toEqual([]);

  // Every word learned exactly once, and the knowledge base holds exactly those words.
  const learned = (await learnedEvents()).flat();
  expect(new Set(learned).size).toBe(learned.length);
  const known = await database.pool.query<{ normalised: string }>("SELECT normalised FROM known_words WHERE tenant = 'alpha'");
  expect(known.rows.map((row) => row.normalised).sort()).toEqual([...learned].sort());
  expect(finished.result).toMatchObject({ status: 'completed', total_tokens: learned.length });

  // Each round's tokens were recorded once, whatever attempt proposed them.
  const rounds = await database.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM raw_training WHERE task_id = $1 GROUP BY round', [task.id]);
  expect(rounds.rows.every((row) => row.count === 200)).toBe(true);

  // The deadline held across the crash: the last step finished within one batch's work of it.
  const job = await database.pool.query<{ deadline_at: Date }>('SELECT deadline_at FROM learning_jobs WHERE task_id = $1', [task.id]);
  const longestBatch = (await database.pool.query<{ ms: number }>("SELECT max(duration_ms)::int AS ms FROM task_steps WHERE task_id = $1 AND key LIKE '%:batch:%'", [task.id])).rows[0]!.ms;
  expect(Date.parse(finished.completed_at!)).toBeGreaterThanOrEqual(job.rows[0]!.deadline_at.getTime());
  expect((finished.result as { past_deadline_ms: number }).past_deadline_ms).toBeLessThanOrEqual(longestBatch + 100);
}, 90_000);
