/**
 * The research model as the source, over real HTTP against the local OpenAI-compatible server:
 * words are proposed and researched in batches (well under one call per word), and a failing
 * provider is retried, reported on the job and never stored as knowledge.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../support/openai-compatible-server.ts';
import { waitFor } from '../support/http.ts';
import type { ConfigOverrides } from '../../src/config.ts';
import { startLearningHarness, type LearningHarness } from './helpers.ts';

let server: OpenAiCompatibleServer;
let harness: LearningHarness;

beforeAll(async () => {
  server = await startOpenAiCompatibleServer();
  harness = await startLearningHarness({
    config: { openaiCompatibleBaseUrl: server.baseUrl, llmResearchModel: 'openai-compatible:test-chat', learningSource: 'auto', llmMaxRetries: 1, learningBatchSize: 5, learningWordsPerRound: 40 },
  });
});

afterAll(async () => {
  await harness?.close();
  await server?.close();
});

/**
 * A test with a model server and a learning harness of its own (its scripted answers and its
 * tenants' queues touch no other test), the research model that server's, closed after `body`.
 */
async function withOwnProvider(config: ConfigOverrides, body: (provider: OpenAiCompatibleServer, learning: LearningHarness) => Promise<void>): Promise<void> {
  const provider = await startOpenAiCompatibleServer();
  const learning = await startLearningHarness({ config: { openaiCompatibleBaseUrl: provider.baseUrl, llmResearchModel: 'openai-compatible:test-chat', learningSource: 'auto', ...config } });
  try {
    await body(provider, learning);
  } finally {
    await learning.close();
    await provider.close();
  }
}

it('learns through the research model, several words per call, naming the model as the source', async () => {
  const started = await harness.request('POST', '/jobs/start', { body: { mode: 'deep' } });
  expect(started.status).toBe(202);
  const done = await waitFor(() => harness.request('GET', `/jobs/${started.body.job_id}`), (response) => ['completed', 'failed'].includes(response.body.status), 30_000);
  expect(done.body).toMatchObject({ status: 'completed', mode: 'deep', last_round: 1 });
  // Several batches' worth queued, and every queued word researched: learned, or failed when the
  // model's answer for it did not fit (how many do varies with the proposal's random topic hints,
  // so the learned count alone can be as low as one batch's).
  expect(done.body.words_queued).toBeGreaterThan(5);
  expect(done.body.total_tokens + done.body.words_failed).toBe(done.body.words_queued);
  expect(done.body.total_tokens).toBeGreaterThan(0);

  const knowledge = await harness.request('GET', '/knowledge?limit=200');
  expect(knowledge.body.total).toBe(done.body.total_tokens);
  expect(knowledge.body.entries.every((entry: { source: string }) => entry.source === 'openai-compatible:test-chat')).toBe(true);
  // One proposal, one call per batch of 5 words (a fifth of a call per word), one deepening call.
  const calls = await harness.db.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM llm_calls WHERE task_id = $1', [started.body.job_id]);
  const researched = done.body.total_tokens + done.body.words_failed;
  expect(calls.rows[0]!.count).toBe(1 + Math.ceil(researched / 5) + 1);
  expect(done.body.entries_deepened).toBeGreaterThan(0);
}, 60_000);

it('never stores a failing provider\'s answer: the words stay queued and the job reports the error', async () => {
  const words = ['Lantern', 'harbour', 'ＱＵＩＬＬ'];
  await harness.db.pool.query("INSERT INTO unknown_words (tenant, normalised, word) SELECT 'beta', lower(normalize(w, NFKC)), w FROM unnest($1::text[]) AS w", [words]);
  // Every attempt's call and its one retry fail (4 attempts x 2 requests), and on the last attempt,
  // which no retry follows, each word's call alone too (3 words x 2 requests).
  server.script('chat', ...Array.from({ length: 14 }, () => ({ kind: 'status' as const, status: 503, message: 'I am having trouble accessing my knowledge base' })));
  const before = server.requests.length;

  const started = await harness.request('POST', '/jobs/start', { body: { mode: 'quick' }, key: harness.keyB });
  expect(started.status).toBe(202);
  const done = await waitFor(() => harness.request('GET', `/jobs/${started.body.job_id}`, { key: harness.keyB }), (response) => ['completed', 'failed'].includes(response.body.status), 30_000);
  expect(done.body.status).toBe('failed');
  expect(done.body.total_tokens).toBe(0);
  expect(server.requests.length - before).toBe(14);
  // Each failed attempt is on the document: code, provider message, the words it was for.
  const failures = done.body.errors.filter((entry: { code: string }) => entry.code === 'research_provider_failed');
  expect(failures.length).toBe(4);
  expect(failures[0].message).toContain('openai-compatible');
  expect(failures[0].words).toEqual(['lantern', 'harbour', 'quill']);
  expect(failures.slice(0, 3).every((entry: { message: string }) => entry.message.endsWith('(will retry)'))).toBe(true);

  const stored = await harness.db.pool.query("SELECT 1 FROM known_words WHERE tenant = 'beta' UNION ALL SELECT 1 FROM solidified_knowledge WHERE tenant = 'beta'");
  expect(stored.rowCount).toBe(0);
  // The words stay queued. The retried attempts charged them nothing; the last one's failure is
  // counted once on each, with the provider's message, so a batch that keeps failing cannot head
  // the queue for good (failing-batch.test.ts).
  const queued = await harness.db.pool.query<{ normalised: string; attempts: number; last_error: string | null; claimed_by: string | null }>("SELECT normalised, attempts, last_error, claimed_by FROM unknown_words WHERE tenant = 'beta' ORDER BY id");
  expect(queued.rows.map((row) => [row.normalised, row.attempts, row.claimed_by])).toEqual([['lantern', 1, null], ['harbour', 1, null], ['quill', 1, null]]);
  expect(queued.rows.every((row) => row.last_error?.includes('503'))).toBe(true);
  const missing = await harness.request('GET', '/knowledge/lantern', { key: harness.keyB });
  expect(missing.status).toBe(404);
}, 60_000);

it('never stores the offline fallback model\'s text as knowledge when the provider fails', async () => {
  // An operator's fallback to the offline model, which answers every call: when the provider
  // fails, its template text would otherwise pass for the words' definitions.
  await withOwnProvider({ llmFallbackModels: 'offline:default', llmMaxRetries: 1, learningBatchSize: 5 }, async (failing, withFallback) => {
    await withFallback.db.pool.query("INSERT INTO unknown_words (tenant, normalised, word) SELECT 'beta', w, w FROM unnest($1::text[]) AS w", [['lantern', 'harbour']]);
    failing.script('chat', ...Array.from({ length: 40 }, () => ({ kind: 'status' as const, status: 503, message: 'I am having trouble accessing my knowledge base' })));
    const started = await withFallback.request('POST', '/jobs/start', { body: { mode: 'quick' }, key: withFallback.keyB });
    expect(started.status).toBe(202);
    const done = await waitFor(() => withFallback.request('GET', `/jobs/${started.body.job_id}`, { key: withFallback.keyB }), (response) => ['completed', 'failed'].includes(response.body.status), 30_000);
    expect(done.body).toMatchObject({ status: 'failed', total_tokens: 0 });
    // The offline model did answer: that answer is what was refused.
    const offline = await withFallback.db.pool.query("SELECT count(*)::int AS count FROM llm_calls WHERE task_id = $1 AND provider = 'offline'", [started.body.job_id]);
    expect(offline.rows[0].count).toBeGreaterThan(0);
    const failures = done.body.errors.filter((entry: { code: string }) => entry.code === 'research_provider_failed');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0].message).toContain('only the offline fallback offline:default answered');
    const stored = await withFallback.db.pool.query("SELECT source FROM known_words WHERE tenant = 'beta' UNION ALL SELECT source FROM solidified_knowledge WHERE tenant = 'beta'");
    expect(stored.rows).toEqual([]);
    const queued = await withFallback.db.pool.query<{ normalised: string }>("SELECT normalised FROM unknown_words WHERE tenant = 'beta' ORDER BY id");
    expect(queued.rows.map((row) => row.normalised)).toEqual(['lantern', 'harbour']);
  });
}, 60_000);

it('says on the document when the deadline stopped a call the provider kept failing', async () => {
  // A provider down for the whole quick run: the gateway retries its one call (for up to
  // TASKLOOM_LLM_RETRY_WINDOW_MS) until the job's deadline cuts it off.
  await withOwnProvider({ llmMaxRetries: 1000, llmRetryWindowMs: 300_000, learningQuickBudgetSeconds: 1, learningBatchSize: 5 }, async (down, slow) => {
    await slow.db.pool.query("INSERT INTO unknown_words (tenant, normalised, word) SELECT 'beta', w, w FROM unnest($1::text[]) AS w", [['lantern', 'harbour']]);
    // The test gateway retries within milliseconds: enough failures for the whole budget and grace.
    down.script('chat', ...Array.from({ length: 5000 }, () => ({ kind: 'status' as const, status: 503, message: 'upstream unavailable' })));
    const started = await slow.request('POST', '/jobs/start', { body: { mode: 'quick' }, key: slow.keyB });
    expect(started.status).toBe(202);
    const done = await waitFor(() => slow.request('GET', `/jobs/${started.body.job_id}`, { key: slow.keyB }), (response) => ['completed', 'failed'].includes(response.body.status), 30_000);
    // The deadline is the stop: the job completes, with nothing learned and the provider's failure named.
    expect(done.body).toMatchObject({ status: 'completed', total_tokens: 0 });
    expect(done.body.errors).toEqual([expect.objectContaining({ code: 'research_provider_failed' })]);
    expect(done.body.errors[0].message).toContain('still failing when the deadline stopped it');
    expect(done.body.errors[0].message).toContain('503');
    // A cut-off call charges no word.
    const queued = await slow.db.pool.query<{ normalised: string; attempts: number }>("SELECT normalised, attempts FROM unknown_words WHERE tenant = 'beta' ORDER BY id");
    expect(queued.rows).toEqual([{ normalised: 'lantern', attempts: 0 }, { normalised: 'harbour', attempts: 0 }]);
  });
}, 60_000);

it('fails a run whose round proposal the provider keeps refusing, keeping nothing of it and charging no word', async () => {
  await withOwnProvider({ llmMaxRetries: 1, learningWordsPerRound: 40 }, async (failing, empty) => {
    // Nothing queued: the quick run must propose a round first, and every proposal call fails.
    failing.script('chat', ...Array.from({ length: 40 }, () => ({ kind: 'status' as const, status: 503, message: 'upstream unavailable' })));
    const started = await empty.request('POST', '/jobs/start', { body: { mode: 'quick' }, key: empty.keyB });
    const done = await waitFor(() => empty.request('GET', `/jobs/${started.body.job_id}`, { key: empty.keyB }), (response) => ['completed', 'failed'].includes(response.body.status), 30_000);
    expect(done.body).toMatchObject({ status: 'failed', total_tokens: 0, words_proposed: 0, words_queued: 0 });
    const failures = done.body.errors.filter((entry: { code: string }) => entry.code === 'research_provider_failed');
    // One per attempt (four), each the proposal's.
    expect(failures.length).toBe(4);
    expect(failures.every((entry: { message: string }) => entry.message.includes('could not propose'))).toBe(true);
    const kept = await empty.db.pool.query("SELECT 1 FROM raw_training WHERE tenant = 'beta' UNION ALL SELECT 1 FROM unknown_words WHERE tenant = 'beta'");
    expect(kept.rowCount).toBe(0);
  });
}, 60_000);
