/**
 * A big learning job with no key configured: WordNet proposes and defines, the job stops at its
 * short deadline, and the job document (HTTP and WebSocket) and knowledge routes show the result.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WordNetReader } from '../../src/pipelines/learning/index.ts';
import { waitFor } from '../support/http.ts';
import { startLearningHarness, wsUrl, type LearningHarness } from './helpers.ts';

let harness: LearningHarness;
const wordnet = new WordNetReader();

beforeAll(async () => {
  harness = await startLearningHarness();
});

afterAll(async () => {
  await harness?.close();
  await wordnet.close();
});

it('learns real WordNet words until its deadline, then completes on time and closes its stream', async () => {
  // Long enough that a loaded machine still finishes a round before the deadline (at 3 s, CI beside
  // two other test runs once stopped with no words learned).
  const budgetSeconds = 5;
  const started = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: budgetSeconds, words_per_round: 100, words_learned_per_round: 20 } });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id as string;

  const socket = new WebSocket(wsUrl(harness, `/ws/jobs/${jobId}`, harness.keyA));
  const messages: Array<{ at: number; document: any }> = [];
  socket.on('message', (data) => messages.push({ at: Date.now(), document: JSON.parse(String(data)) }));
  const closed = await new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));

  // The stream ends with the finished job's document and a normal close.
  expect(closed).toEqual({ code: 1000, reason: 'job finished' });
  const last = messages.at(-1)!.document;
  expect(last).toMatchObject({ job_id: jobId, status: 'completed', mode: 'big', progress: 100, errors: [] });
  expect(last.total_tokens).toBeGreaterThan(0);
  expect(last.last_round).toBeGreaterThanOrEqual(1);
  // At least one document a second while it ran (the slack is for a loaded machine's timers).
  for (let index = 1; index < messages.length; index += 1) expect(messages[index]!.at - messages[index - 1]!.at).toBeLessThan(2500);
  expect(messages.length).toBeGreaterThanOrEqual(budgetSeconds);

  // On time: the job's last step finished within one batch's work of the deadline (the longest
  // batch step it ran), and the task settled right after.
  const task = await harness.engine.getTask(jobId);
  expect(task.result).toMatchObject({ status: 'completed', mode: 'big', total_tokens: last.total_tokens });
  const deadline = Date.parse(last.deadline_at);
  const longestBatch = (await harness.db.pool.query<{ ms: number }>("SELECT max(duration_ms)::int AS ms FROM task_steps WHERE task_id = $1 AND key LIKE '%:batch:%'", [jobId])).rows[0]!.ms;
  expect(Date.parse(task.completed_at!)).toBeGreaterThanOrEqual(deadline);
  expect((task.result as { past_deadline_ms: number }).past_deadline_ms).toBeLessThanOrEqual(longestBatch + 100);
  expect(Date.parse(task.completed_at!) - deadline).toBeLessThan(longestBatch + 1000);

  // Every round's tokens are in raw_training; every learned word left the queue.
  const rows = await harness.db.pool.query<{ round: number; count: number }>('SELECT round, count(*)::int AS count FROM raw_training WHERE task_id = $1 GROUP BY round ORDER BY round', [jobId]);
  expect(rows.rows.map((row) => row.count)).toEqual(rows.rows.map(() => 100));
  const stillQueued = await harness.db.pool.query('SELECT 1 FROM unknown_words u JOIN known_words k USING (tenant, normalised)');
  expect(stillQueued.rowCount).toBe(0);

  // The knowledge base holds WordNet's definitions, named as such.
  const knowledge = await harness.request('GET', '/knowledge?limit=200');
  expect(knowledge.status).toBe(200);
  expect(knowledge.body.total).toBe(last.total_tokens);
  expect(knowledge.body.known_words).toBe(last.total_tokens);
  for (const entry of knowledge.body.entries.slice(0, 25)) {
    expect(entry.source).toBe('wordnet-3.1');
    const senses = await wordnet.lookup(entry.word);
    expect(senses.length).toBeGreaterThan(0);
    expect(entry.explanation).toContain(senses[0]!.definition);
    expect(entry.category).toBe(senses[0]!.category);
    expect(entry.related_concepts.length).toBeLessThanOrEqual(5);
    expect(entry.examples.length).toBeLessThanOrEqual(2);
    expect(entry.references[0]).toMatch(/^wordnet-3\.1:[nvar]:\d{8}$/);
    expect(entry.job_id).toBe(jobId);
  }
  const one = knowledge.body.entries[0];
  // Identity is case- and width-insensitive: any spelling finds the word.
  const shouted = await harness.request('GET', `/knowledge/${encodeURIComponent(one.normalised.toUpperCase())}`);
  expect(shouted.status).toBe(200);
  expect(shouted.body.normalised).toBe(one.normalised);
  const byCategory = await harness.request('GET', `/knowledge?category=${one.category.split('.')[0]}&limit=200`);
  expect(byCategory.body.entries.every((entry: { category: string }) => entry.category.startsWith(`${one.category.split('.')[0]}.`))).toBe(true);
  const searched = await harness.request('GET', `/knowledge?search=${encodeURIComponent(one.normalised.slice(0, 3))}`);
  expect(searched.body.entries.some((entry: { normalised: string }) => entry.normalised === one.normalised)).toBe(true);

  // GET /jobs/{id} answers the same document the stream ended with.
  const document = await harness.request('GET', `/jobs/${jobId}`);
  expect(document.body).toEqual(last);
}, 30_000);

it('quick learns the first queued words; deep learns the rest and deepens five entries', async () => {
  const before = (await harness.request('GET', '/knowledge?limit=1')).body;
  const queued = before.queued_words as number;
  expect(queued).toBeGreaterThan(5);

  const quick = await harness.request('POST', '/jobs/start', { body: { mode: 'quick' } });
  expect(quick.status).toBe(202);
  const quickDone = await waitFor(() => harness.request('GET', `/jobs/${quick.body.job_id}`), (response) => response.body.status === 'completed', 20_000);
  expect(quickDone.body).toMatchObject({ mode: 'quick', total_tokens: 5, progress: 100 });

  const deep = await harness.request('POST', '/jobs/start', { body: { mode: 'deep' } });
  expect(deep.status).toBe(202);
  const deepDone = await waitFor(() => harness.request('GET', `/jobs/${deep.body.job_id}`), (response) => ['completed', 'failed'].includes(response.body.status), 60_000);
  expect(deepDone.body).toMatchObject({ status: 'completed', mode: 'deep', entries_deepened: 5 });
  expect(deepDone.body.total_tokens + deepDone.body.words_failed).toBe(queued - 5);
  const after = (await harness.request('GET', '/knowledge?limit=1')).body;
  expect(after.queued_words).toBe(deepDone.body.words_failed);

  const deepened = await harness.db.pool.query<{ normalised: string; expanded_definition: string; applications: string[]; misconceptions: string[] }>(
    'SELECT normalised, expanded_definition, applications, misconceptions FROM solidified_knowledge WHERE deepened_at IS NOT NULL',
  );
  expect(deepened.rowCount).toBe(5);
  for (const row of deepened.rows) {
    expect(row.expanded_definition).toContain('WordNet 3.1');
    expect(row.applications.length).toBeGreaterThan(0);
  }
  const entry = await harness.request('GET', `/knowledge/${encodeURIComponent(deepened.rows[0]!.normalised)}`);
  expect(entry.body.expanded_definition).toBe(deepened.rows[0]!.expanded_definition);
}, 90_000);

it('completes early, after three rounds that found nothing to learn, once the tenant knows every word WordNet proposes', async () => {
  const lemmas = (await wordnet.lemmaFrequencies()).map((entry) => entry.lemma);
  await harness.db.pool.query(
    "INSERT INTO known_words (tenant, normalised, word, explanation, source) SELECT 'beta', lemma, lemma, 'Known before the job.', 'wordnet-3.1' FROM unnest($1::text[]) AS lemma ON CONFLICT DO NOTHING",
    [lemmas],
  );
  const budgetSeconds = 60;
  const started = await harness.request('POST', '/jobs/start_big', { key: harness.keyB, body: { budget_seconds: budgetSeconds, words_per_round: 100, words_learned_per_round: 20 } });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id as string;
  const task = await waitFor(() => harness.engine.getTask(jobId), (read) => read.status === 'completed', 30_000);
  expect(task.result).toMatchObject({ status: 'completed', mode: 'big', total_tokens: 0, rounds: 3, stopped_because: 'nothing_left_to_learn' });
  // Well before its deadline, having written three rounds of proposals and no more.
  expect(Date.parse(task.completed_at!) - Date.parse(task.started_at!)).toBeLessThan(budgetSeconds * 1000 / 2);
  const rows = await harness.db.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM raw_training WHERE task_id = $1', [jobId]);
  expect(rows.rows[0]!.count).toBe(300);
  const completed = (await harness.engine.readEvents({ taskId: jobId })).find((event) => event.type === 'learning_completed');
  expect(completed?.payload).toMatchObject({ stopped_because: 'nothing_left_to_learn', rounds: 3 });
}, 60_000);
