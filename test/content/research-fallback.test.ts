/**
 * A company's DNA is research: when the research provider fails and the offline model answers in
 * its place (TASKLOOM_LLM_FALLBACK_MODELS), the stand-in's made-up facts are not stored.
 */
import { APICallError } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { advanceTime, waitForTask } from '../../src/kit/testing.ts';
import { startContentHarness, startJob, waitForEvent, type ContentHarness } from './helpers.ts';

let calls = 0;
const unavailable = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'writer',
  doGenerate: async () => {
    calls += 1;
    throw new APICallError({ message: 'service unavailable', url: 'http://research.test/v1', requestBodyValues: {}, statusCode: 503, isRetryable: true });
  },
});

let harness: ContentHarness;

beforeAll(async () => {
  harness = await startContentHarness({ writer: unavailable, config: { llmFallbackModels: 'offline:default' } });
});

afterAll(async () => {
  await harness?.close();
});

it('fails the DNA research the offline fallback answered, and stores none of it', async () => {
  const { request } = harness;
  const companyId = (await request('POST', '/api/v1/content/companies', { body: { name: 'Acme Research', plan: 'free' } })).body.id as string;
  const jobId = await startJob(harness, companyId, 'scrape-dna', {});
  const maxAttempts = (await harness.engine.getTask(jobId)).max_attempts;
  for (let attempt = 1; attempt < maxAttempts; attempt += 1) {
    await waitForEvent(harness.engine, jobId, (event) => event.type === 'task_retrying' && event.payload.attempt === attempt);
    await advanceTime(harness.engine, 15 * 60_000);
  }
  const task = await waitForTask(harness.engine, jobId, ['completed', 'failed', 'cancelled']);
  expect(task).toMatchObject({ status: 'failed', error: { code: 'llm_call_failed', details: { answered_by: 'offline:default' } } });
  expect(calls).toBeGreaterThan(0);
  expect((await request('GET', `/api/v1/content/companies/${companyId}/dna`)).status).toBe(404);
  expect((await harness.db.pool.query('SELECT 1 FROM content_company_dna')).rowCount).toBe(0);
});
