/**
 * The seed's API around the jobs: the quick-mode throttle, one big job per tenant, cancel keeping
 * what was learned, tenant isolation and bad input. WordNet is the source, slowed per batch so a
 * job is still running when the test acts on it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultDeadlineGraceMs } from '../../src/pipelines/learning/big-learning-job.ts';
import { bigLearningJobInput, bigLearningTaskType, createWordNetSource, learningEvents, learningTaskTypes, maxBudgetSeconds, sharedWordNet } from '../../src/pipelines/learning/index.ts';
import { expectDeclaredPayloads } from '../support/declared-events.ts';
import { testLogger } from '../support/engine.ts';
import { createApiKey, revokeApiKey } from '../../src/api/keys.ts';
import { waitFor } from '../support/http.ts';
import { learningConfig, recordingSource, startLearningHarness, wsUrl, type LearningHarness } from './helpers.ts';

let harness: LearningHarness;

beforeAll(async () => {
  harness = await startLearningHarness({ config: { learningWordsPerRound: 100 }, source: () => recordingSource(createWordNetSource({ reader: sharedWordNet() }), { delayMs: 100 }) });
});

afterAll(async () => {
  await harness?.close();
});

const wsStatus = (path: string, key: string): Promise<number> => new Promise((resolve) => {
  const socket = new WebSocket(wsUrl(harness, path, key));
  socket.on('unexpected-response', (_request, response) => {
    resolve(response.statusCode ?? 0);
    socket.terminate();
  });
  socket.on('open', () => {
    resolve(101);
    socket.close();
  });
  // terminate() before the upgrade completes reports an error; the status is what is tested.
  socket.on('error', () => {});
});

describe('starting jobs', () => {
  it('allows one quick run per tenant per minute and answers 429 with Retry-After in between', async () => {
    const first = await harness.request('POST', '/jobs/start', { body: { mode: 'quick' } });
    expect(first.status).toBe(202);
    const second = await harness.request('POST', '/jobs/start', { body: { mode: 'quick' } });
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('learning_throttled');
    const retryAfter = Number(second.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(55);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another tenant has its own window; deep runs are not throttled.
    expect((await harness.request('POST', '/jobs/start', { body: { mode: 'quick' }, key: harness.keyB })).status).toBe(202);
    const deep = await harness.request('POST', '/jobs/start', { body: { mode: 'deep' } });
    expect(deep.status).toBe(202);
    for (const [jobId, key] of [[first.body.job_id, harness.keyA], [deep.body.job_id, harness.keyA]] as const) {
      await waitFor(() => harness.request('GET', `/jobs/${jobId}`, { key }), (response) => response.body.status === 'completed', 30_000);
    }
    // The first run is over, its window is not: the generic submit (the dashboard's form) is
    // throttled as well, and records nothing.
    const generic = await harness.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'learning_job', task_data: { mode: 'quick' } } });
    expect(generic.status).toBe(429);
    expect(generic.body.error.code).toBe('learning_throttled');
    expect(Number(generic.headers.get('retry-after'))).toBeGreaterThan(0);
    const quickRuns = await harness.db.pool.query("SELECT count(*)::int AS count FROM tasks WHERE tenant = 'alpha' AND task_type = 'learning_job' AND input->>'mode' = 'quick'");
    expect(quickRuns.rows[0].count).toBe(1);
  }, 60_000);

  it('runs one big job per tenant at a time: a second start answers 409 naming the running one', async () => {
    const first = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: 2 } });
    expect(first.status).toBe(202);
    const second = await harness.request('POST', '/jobs/start_big');
    expect(second.status).toBe(409);
    expect(second.body.error.details.running_task_id).toBe(first.body.job_id);
    await waitFor(() => harness.request('GET', `/jobs/${first.body.job_id}`), (response) => response.body.status === 'completed', 20_000);
    const third = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: 1 } });
    expect(third.status).toBe(202);
    await waitFor(() => harness.request('GET', `/jobs/${third.body.job_id}`), (response) => response.body.status === 'completed', 20_000);
  }, 60_000);
});

it('cancel stops a running big job and keeps every word it learned', async () => {
  const started = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: 60 }, key: harness.keyB });
  const jobId = started.body.job_id as string;
  const running = await waitFor(() => harness.request('GET', `/jobs/${jobId}`, { key: harness.keyB }), (response) => response.body.total_tokens >= 30, 20_000);
  expect(running.body.status).toBe('running');
  const cancelled = await harness.request('POST', `/jobs/${jobId}/cancel`, { key: harness.keyB });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.job_id).toBe(jobId);
  const done = await waitFor(() => harness.request('GET', `/jobs/${jobId}`, { key: harness.keyB }), (response) => response.body.status === 'cancelled', 10_000);
  expect(done.body.total_tokens).toBeGreaterThanOrEqual(running.body.total_tokens);
  const task = await harness.engine.getTask(jobId);
  expect(task.result).toMatchObject({ status: 'cancelled', total_tokens: done.body.total_tokens });
  // Everything counted is in the knowledge base, with its structured entry.
  const known = await harness.db.pool.query("SELECT 1 FROM known_words k JOIN solidified_knowledge s USING (tenant, normalised) WHERE k.tenant = 'beta' AND k.task_id = $1", [jobId]);
  expect(known.rowCount).toBe(done.body.total_tokens);
  const events = await harness.engine.readEvents({ taskId: jobId });
  expect(expectDeclaredPayloads(events, learningEvents)).toContain('learning_cancelled');
}, 40_000);

it('lets a supervisor read a job but not start or cancel one', async () => {
  const supervisor = (await createApiKey(harness.db.pool, { tenant: 'delta', role: 'supervisor' })).key;
  const marketer = (await createApiKey(harness.db.pool, { tenant: 'delta', role: 'marketer' })).key;
  const taskCount = async (): Promise<number> => (await harness.db.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM tasks WHERE tenant = 'delta'")).rows[0]!.count;
  for (const [path, body] of [['/jobs/start', { mode: 'quick' }], ['/jobs/start_big', { budget_seconds: 60 }]] as const) {
    const refused = await harness.request('POST', path, { body, key: supervisor });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'forbidden', details: { role: 'supervisor', required_roles: ['marketer'] } });
  }
  expect(await taskCount()).toBe(0);

  const started = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: 60 }, key: marketer });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id as string;
  expect((await harness.request('GET', `/jobs/${jobId}`, { key: supervisor })).status).toBe(200);
  expect((await harness.request('POST', `/jobs/${jobId}/cancel`, { key: supervisor })).status).toBe(403);
  expect((await harness.engine.getTask(jobId)).cancel_requested_at).toBeNull();
  expect((await harness.request('POST', `/jobs/${jobId}/cancel`, { key: marketer })).status).toBe(200);
  await waitFor(() => harness.request('GET', `/jobs/${jobId}`, { key: marketer }), (response) => response.body.status === 'cancelled', 10_000);
}, 30_000);

it('closes a job\'s WebSocket with 1008 within a second of its key being revoked', async () => {
  const created = await createApiKey(harness.db.pool, { tenant: 'epsilon', role: 'marketer' });
  const started = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: 60 }, key: created.key });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id as string;
  const socket = new WebSocket(wsUrl(harness, `/ws/jobs/${jobId}`, created.key));
  const closed = new Promise<{ code: number; at: number }>((resolve) => socket.on('close', (code) => resolve({ code, at: Date.now() })));
  await new Promise<void>((resolve, reject) => {
    socket.once('message', () => resolve());
    socket.once('error', reject);
  });
  const revokedAt = Date.now();
  expect(await revokeApiKey(harness.db.pool, created.id)).toHaveLength(1);
  const { code, at } = await closed;
  expect(code).toBe(1008);
  expect(at - revokedAt).toBeLessThan(1000);
  await harness.engine.cancel(jobId, { tenant: 'epsilon' });
  await waitFor(() => harness.engine.getTask(jobId), (task) => task.status === 'cancelled', 10_000);
}, 30_000);

it('sends every socket on one job the same documents, at most four a second', async () => {
  const created = await createApiKey(harness.db.pool, { tenant: 'eta', role: 'marketer' });
  const started = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: 3 }, key: created.key });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id as string;
  const follow = (): Promise<{ texts: string[]; at: number[]; closed: { code: number; reason: string } }> => new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(harness, `/ws/jobs/${jobId}`, created.key));
    const texts: string[] = [];
    const at: number[] = [];
    socket.on('message', (data) => {
      texts.push(String(data));
      at.push(Date.now());
    });
    socket.on('close', (code, reason) => resolve({ texts, at, closed: { code, reason: String(reason) } }));
    socket.on('error', reject);
  });
  const sockets = await Promise.all(Array.from({ length: 12 }, follow));
  const finished = JSON.parse(sockets[0]!.texts.at(-1)!);
  expect(finished).toMatchObject({ job_id: jobId, status: 'completed' });
  for (const { texts, at, closed } of sockets) {
    expect(closed).toEqual({ code: 1000, reason: 'job finished' });
    // One reader's documents: every socket ends on the same text.
    expect(texts.at(-1)).toBe(sockets[0]!.texts.at(-1));
    // The job sends ~10 events a second here; a socket got a document after each (and each socket
    // read it twice from the database). Now a change shows within 250 ms: the slack is for a
    // document delayed on its way while the next one was not. From the second document: a socket
    // that joins between two reads gets the last one at once, and the next read may follow soon.
    for (let index = 2; index < at.length; index += 1) expect(at[index]! - at[index - 1]!).toBeGreaterThanOrEqual(150);
    expect(texts.length).toBeGreaterThanOrEqual(3);
  }
}, 30_000);

describe('tenant isolation', () => {
  it('shows another tenant\'s job and words as not found', async () => {
    const started = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: 1 } });
    const jobId = started.body.job_id as string;
    await waitFor(() => harness.request('GET', `/jobs/${jobId}`), (response) => response.body.status === 'completed', 20_000);
    const missing = '00000000-0000-4000-8000-000000000000';
    const foreign = await harness.request('GET', `/jobs/${jobId}`, { key: harness.keyB });
    const absent = await harness.request('GET', `/jobs/${missing}`, { key: harness.keyB });
    expect(foreign.status).toBe(404);
    expect(absent.status).toBe(404);
    expect(JSON.stringify(foreign.body).replaceAll(jobId, missing)).toBe(JSON.stringify(absent.body));
    expect((await harness.request('POST', `/jobs/${jobId}/cancel`, { key: harness.keyB })).status).toBe(404);
    expect(await wsStatus(`/ws/jobs/${jobId}`, harness.keyB)).toBe(404);
    expect(await wsStatus(`/ws/jobs/${jobId}`, harness.keyA)).toBe(101);

    const alphaWords = await harness.db.pool.query<{ normalised: string }>("SELECT normalised FROM known_words WHERE tenant = 'alpha'");
    const betaWords = new Set((await harness.db.pool.query<{ normalised: string }>("SELECT normalised FROM known_words WHERE tenant = 'beta'")).rows.map((row) => row.normalised));
    const onlyAlpha = alphaWords.rows.find((row) => !betaWords.has(row.normalised))!.normalised;
    expect((await harness.request('GET', `/knowledge/${encodeURIComponent(onlyAlpha)}`)).status).toBe(200);
    expect((await harness.request('GET', `/knowledge/${encodeURIComponent(onlyAlpha)}`, { key: harness.keyB })).status).toBe(404);
    const listed = await harness.request('GET', '/knowledge?limit=200', { key: harness.keyB });
    expect(listed.body.total).toBe(betaWords.size);
    expect(listed.body.entries.every((entry: { normalised: string }) => betaWords.has(entry.normalised))).toBe(true);
    // A core task is not a learning job, even for its own tenant.
    const sleep = await harness.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 1 } } });
    expect((await harness.request('GET', `/jobs/${sleep.body.task_id}`)).status).toBe(404);
  }, 40_000);
});

describe('the knowledge browser', () => {
  it('filters by any category an entry can have, taken as text, not as a pattern', async () => {
    const key = (await createApiKey(harness.db.pool, { tenant: 'gamma' })).key;
    const categories = { kernel: 'computer science', bagel: 'food & drink', otter: 'noun.animal', thing: 'noun', odds: '100%_sure' };
    for (const [word, category] of Object.entries(categories)) {
      await harness.db.pool.query("INSERT INTO known_words (tenant, normalised, word, explanation, category, source) VALUES ('gamma', $1, $1, 'A word seeded for the test.', $2, 'test-source')", [word, category]);
    }
    const words = async (category: string): Promise<string[]> => {
      const listed = await harness.request('GET', `/knowledge?category=${encodeURIComponent(category)}`, { key });
      expect(listed.status, JSON.stringify(listed.body)).toBe(200);
      return (listed.body.entries as Array<{ normalised: string }>).map((entry) => entry.normalised);
    };
    expect(await words('computer science')).toEqual(['kernel']);
    expect(await words('food & drink')).toEqual(['bagel']);
    // A part of speech takes its categories in.
    expect(await words('noun')).toEqual(['otter', 'thing']);
    // `%` and `_` are themselves.
    expect(await words('100%_sure')).toEqual(['odds']);
    expect(await words('%')).toEqual([]);
    expect(await words('noun.anima_')).toEqual([]);
  });
});

describe('bad input', () => {
  it.each([
    ['POST', '/jobs/start', { mode: 'slow' }],
    ['POST', '/jobs/start', {}],
    ['POST', '/jobs/start', { mode: 'quick', extra: true }],
    ['POST', '/jobs/start_big', { budget_seconds: 0 }],
    ['POST', '/jobs/start_big', { budget_seconds: 3601 }],
    ['POST', '/jobs/start_big', { budget_seconds: 'ten' }],
    ['POST', '/jobs/start_big', { words_per_round: 100_000 }],
    ['GET', '/knowledge?limit=0', undefined],
    ['GET', `/knowledge?category=${'x'.repeat(61)}`, undefined],
    ['GET', '/knowledge?colour=blue', undefined],
  ])('%s %s %j answers 400 validation_failed', async (method, path, body) => {
    const response = await harness.request(method, path, body === undefined ? {} : { body });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
  });

  it('refuses a budget longer than the task\'s hard timeout allows at submit, naming the limit', async () => {
    for (const budget of [maxBudgetSeconds + 1, 86_400]) {
      const response = await harness.request('POST', '/jobs/start_big', { body: { budget_seconds: budget }, key: harness.keyB });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect(response.body.error.message).toContain(`budget_seconds: at most ${maxBudgetSeconds} seconds`);
      // The engine's own submit (the generic task API, the CLI) refuses it too.
      const submitted = await harness.request('POST', '/api/v1/tasks/submit', { body: { task_type: bigLearningTaskType, task_data: { budget_seconds: budget } }, key: harness.keyB });
      expect(submitted.status).toBe(400);
    }
    // The longest budget accepted fits in the attempt's hard timeout, with the grace and a model call to spare.
    const definition = learningTaskTypes({ config: learningConfig(), pool: harness.db.pool, logger: testLogger, llm: harness.llm, source: createWordNetSource({ reader: sharedWordNet() }) })
      .find((task) => task.type === bigLearningTaskType)!;
    expect(bigLearningJobInput.safeParse({ budget_seconds: maxBudgetSeconds }).success).toBe(true);
    expect(definition.hardTimeoutMs).toBeGreaterThanOrEqual(maxBudgetSeconds * 1000 + defaultDeadlineGraceMs + learningConfig().llmTimeoutMs);
  });

  it('answers 401 without a key, 404 for an unknown job or word, 415 for a non-JSON body', async () => {
    expect((await harness.request('POST', '/jobs/start_big', { key: null })).status).toBe(401);
    expect((await harness.request('GET', '/knowledge', { key: null })).status).toBe(401);
    expect((await harness.request('GET', '/jobs/not-a-job')).status).toBe(404);
    // Said as a learning job, whether no task has the id or one of another type does.
    const unknown = await harness.request('GET', '/jobs/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('Learning job 00000000-0000-4000-8000-000000000000 was not found.');
    expect((await harness.request('POST', '/jobs/not-a-job/cancel')).body.error.message).toBe('Learning job not-a-job was not found.');
    expect((await harness.request('GET', '/knowledge/zzzqxj')).status).toBe(404);
    expect((await harness.request('POST', '/jobs/start', { rawBody: 'mode=quick', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect(await wsStatus('/ws/jobs/00000000-0000-4000-8000-000000000000', harness.keyA)).toBe(404);
  });
});
