/**
 * LLM usage over HTTP: GET /api/v1/tasks/{id}/llm-calls and GET /api/v1/llm/usage against a
 * started server, with a task type that calls mock models through the real gateway (so the
 * rows are the ones the gateway writes, in the background), on a real database.
 *
 * Tenants `alpha` and `beta` come with the harness; tests that assert exact tenant totals make a
 * tenant of their own, since every test's calls count in the tenant they ran under.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { customProvider } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../../src/api/keys.ts';
import { defineTask } from '../../src/engine/index.ts';
import { PermanentError } from '../../src/errors.ts';
import { createLlmGateway, type LlmGateway } from '../../src/llm/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { httpError, jsonResult, silentLogger, testConfig } from '../llm/helpers.ts';
import { startApiHarness, waitFor, type ApiHarness } from '../support/http.ts';

/** Tokens of one `mock:good` and one `mock:unpriced` call, and the price of `mock:good`. */
const goodUsage = { input: 30, output: 9 };
const goodCostUsd = (30 * 1000 + 9 * 2000) / 1_000_000;

let api: ApiHarness;
/** Made after the harness (it needs the harness's pool); tasks only run once submitted. */
let gateway: LlmGateway;

const answerSchema = z.object({ answer: z.string() });

/**
 * Calls the models its input asks for, then completes, fails or waits to be cancelled. Its
 * result carries no `llm_usage`: the routes must not depend on one.
 */
const llmProbeTask = defineTask({
  type: 'test_llm_probe',
  description: 'calls mock models through the gateway',
  queue: 'default',
  maxAttempts: 1,
  input: z.object({
    good: z.number().int().min(0).max(5).default(0),
    broken: z.number().int().min(0).max(3).default(0),
    unpriced: z.number().int().min(0).max(3).default(0),
    /** Two identical calls with the cache on: one model call, then one cache hit. */
    cached: z.boolean().default(false),
    then: z.enum(['complete', 'fail', 'wait']).default('complete'),
  }).strict(),
  async run(context) {
    const call = (model: string, step: string, cache = false) => gateway.generateStructured({
      model,
      schema: answerSchema,
      instructions: 'Answer briefly.',
      prompt: `${step} of task ${context.taskId}`,
      signal: context.signal,
      context: { taskId: context.taskId, step },
      cache,
    });
    for (let index = 1; index <= context.input.good; index += 1) await call('mock:good', `good-${index}`);
    for (let index = 1; index <= context.input.broken; index += 1) await call('mock:broken', `broken-${index}`).catch(() => undefined);
    for (let index = 1; index <= context.input.unpriced; index += 1) await call('mock:unpriced', `unpriced-${index}`);
    if (context.input.cached) {
      await call('mock:good', 'cached', true);
      await call('mock:good', 'cached', true);
    }
    if (context.input.then === 'fail') throw new PermanentError('planned failure after the LLM calls');
    if (context.input.then === 'wait') await sleep(60_000, undefined, { signal: context.signal });
    return { done: true };
  },
});

beforeAll(async () => {
  api = await startApiHarness({ taskTypes: [sleepTask, llmProbeTask] });
  gateway = createLlmGateway({
    config: testConfig({
      llmGenerationModel: 'mock:good',
      // A 400 is not retried: one failed row per broken call.
      llmMaxRetries: 0,
      llmPriceTable: JSON.stringify({ 'mock:good': { inputPerMillion: 1000, outputPerMillion: 2000 } }),
    }),
    pool: api.db.pool,
    logger: silentLogger,
    providers: {
      mock: customProvider({
        languageModels: {
          good: new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: async () => jsonResult({ answer: 'yes' }, goodUsage) }),
          unpriced: new MockLanguageModelV4({ provider: 'mock', modelId: 'unpriced', doGenerate: async () => jsonResult({ answer: 'maybe' }, goodUsage) }),
          broken: new MockLanguageModelV4({
            provider: 'mock',
            modelId: 'broken',
            doGenerate: async () => {
              throw httpError(400);
            },
          }),
        },
      }),
    },
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    privateLimiters: true,
  });
});

afterAll(async () => {
  // Usage rows are written in the background; they must land before the database is dropped.
  await gateway?.flushUsage();
  await api?.close();
});

async function submitProbe(taskData: Record<string, unknown>, key = api.keyA): Promise<string> {
  const submitted = await api.request('POST', '/api/v1/tasks/submit', { key, body: { task_type: 'test_llm_probe', task_data: taskData } });
  expect(submitted.status, submitted.text).toBe(202);
  return submitted.body.task_id as string;
}

async function waitForStatus(taskId: string, status: string, key = api.keyA): Promise<void> {
  await waitFor(() => api.request('GET', `/api/v1/tasks/${taskId}`, { key }), (response) => response.body.status === status, 20_000);
}

/**
 * Polls the task's calls until `calls` of them have ended and are listed. A row is written when a
 * request starts and finished when it ends, both in the background: a task may complete while
 * its last call's row still says in_flight, with no tokens yet.
 */
async function callsOf(taskId: string, calls: number, key = api.keyA) {
  return waitFor(() => api.request('GET', `/api/v1/tasks/${taskId}/llm-calls`, { key }), (response) => response.status === 200
    && response.body.totals.calls >= calls
    && (response.body.calls as Array<{ state: string }>).filter((call) => call.state !== 'in_flight').length >= calls);
}

async function newTenantKey(tenant: string): Promise<string> {
  return (await createApiKey(api.db.pool, { tenant })).key;
}

describe('GET /api/v1/tasks/{id}/llm-calls', () => {
  it('lists every call of a completed task, failed ones included, with exact totals', async () => {
    const taskId = await submitProbe({ good: 2, broken: 1 });
    await waitForStatus(taskId, 'completed');
    const response = await callsOf(taskId, 3);
    expect(response.body.task_id).toBe(taskId);
    expect(response.body.truncated).toBe(false);
    const calls = response.body.calls as Array<Record<string, unknown>>;
    expect(calls.map((call) => call.step)).toEqual(['good-1', 'good-2', 'broken-1']);
    expect(Object.keys(calls[0]!).sort()).toEqual(['attempt', 'cache_hit', 'cost_usd', 'created_at', 'error_code', 'id', 'input_tokens', 'latency_ms', 'model', 'output_tokens', 'provider', 'purpose', 'state', 'step'].sort());
    expect(calls[0]).toMatchObject({ purpose: 'generation', provider: 'mock', model: 'good', input_tokens: 30, output_tokens: 9, cache_hit: false, attempt: 1, error_code: null });
    expect(calls[0]!.cost_usd).toBeCloseTo(goodCostUsd, 10);
    expect(calls[0]!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(calls[2]).toMatchObject({ provider: 'mock', model: 'broken', input_tokens: 0, output_tokens: 0, error_code: 'llm_call_failed', cost_usd: 0 });
    // The ids increase in the order the calls were made.
    expect((calls[0]!.id as number) < (calls[1]!.id as number) && (calls[1]!.id as number) < (calls[2]!.id as number)).toBe(true);
    expect(response.body.totals).toEqual({ calls: 3, failed_calls: 1, cached_calls: 0, input_tokens: 60, output_tokens: 18, cost_usd: expect.closeTo(2 * goodCostUsd, 10) });
    // The task result reports no llm_usage: the calls come from llm_calls, not from the result.
    const task = await api.request('GET', `/api/v1/tasks/${taskId}`);
    expect(task.body.result).toEqual({ done: true });
  });

  it('shows the calls of a failed task and of a task that is still running', async () => {
    const failed = await submitProbe({ good: 1, then: 'fail' });
    await waitForStatus(failed, 'failed');
    expect((await callsOf(failed, 1)).body.totals).toMatchObject({ calls: 1, input_tokens: 30, output_tokens: 9 });

    const running = await submitProbe({ good: 2, then: 'wait' });
    const during = await callsOf(running, 2);
    expect(during.body.calls.map((call: { step: string }) => call.step)).toEqual(['good-1', 'good-2']);
    expect((await api.request('GET', `/api/v1/tasks/${running}`)).body.status).toBe('running');
    await api.request('POST', `/api/v1/tasks/${running}/cancel`);
    await waitForStatus(running, 'cancelled');
  });

  it('counts cache hits and reports a null cost when a call has no price', async () => {
    const taskId = await submitProbe({ unpriced: 1, cached: true });
    await waitForStatus(taskId, 'completed');
    const response = await callsOf(taskId, 3);
    const calls = response.body.calls as Array<{ step: string; model: string; cache_hit: boolean; cost_usd: number | null; input_tokens: number }>;
    expect(calls.map((call) => [call.step, call.model, call.cache_hit])).toEqual([['unpriced-1', 'unpriced', false], ['cached', 'good', false], ['cached', 'good', true]]);
    expect(calls[0]!.cost_usd).toBeNull();
    // A cache hit costs nothing and spends no tokens.
    expect(calls[2]).toMatchObject({ input_tokens: 0, cost_usd: 0 });
    expect(response.body.totals).toEqual({ calls: 3, failed_calls: 0, cached_calls: 1, input_tokens: 60, output_tokens: 18, cost_usd: null });
  });

  it('answers a task with no call with empty calls and zero totals', async () => {
    const taskId = await submitProbe({});
    await waitForStatus(taskId, 'completed');
    const response = await api.request('GET', `/api/v1/tasks/${taskId}/llm-calls`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ task_id: taskId, calls: [], truncated: false, totals: { calls: 0, failed_calls: 0, cached_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 } });
  });

  it('answers another tenant\'s task exactly like a missing one: 404 not_found', async () => {
    const taskId = await submitProbe({ good: 1 });
    await callsOf(taskId, 1);
    const asBeta = await api.request('GET', `/api/v1/tasks/${taskId}/llm-calls`, { key: api.keyB });
    expect(asBeta.status).toBe(404);
    expect(asBeta.body.error).toEqual({ code: 'not_found', message: `Task ${taskId} was not found.`, details: { id: taskId } });
    // Byte for byte what GET /api/v1/tasks/{id} answers beta for the same id.
    const taskAsBeta = await api.request('GET', `/api/v1/tasks/${taskId}`, { key: api.keyB });
    expect(asBeta.text).toBe(taskAsBeta.text);
    const missing = '00000000-0000-4000-8000-00000000abcd';
    const missingAnswer = await api.request('GET', `/api/v1/tasks/${missing}/llm-calls`);
    expect(missingAnswer.status).toBe(404);
    expect(missingAnswer.text).toBe((await api.request('GET', `/api/v1/tasks/${missing}`)).text);
    const notUuid = await api.request('GET', '/api/v1/tasks/not-a-uuid/llm-calls');
    expect(notUuid.status).toBe(404);
    expect(notUuid.body.error.code).toBe('not_found');
  });

  it('needs a key and refuses query parameters', async () => {
    const taskId = await submitProbe({});
    expect((await api.request('GET', `/api/v1/tasks/${taskId}/llm-calls`, { key: null })).status).toBe(401);
    const unknown = await api.request('GET', `/api/v1/tasks/${taskId}/llm-calls?limit=5`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'validation_failed', details: { location: 'query' } });
  });
});

describe('GET /api/v1/llm/usage', () => {
  it('sums the tenant\'s calls per model, whatever the task\'s outcome, and nothing of other tenants', async () => {
    const gammaKey = await newTenantKey('gamma');
    const completed = await submitProbe({ good: 2, broken: 1 }, gammaKey);
    const failed = await submitProbe({ good: 1, unpriced: 1, then: 'fail' }, gammaKey);
    await waitForStatus(completed, 'completed', gammaKey);
    await waitForStatus(failed, 'failed', gammaKey);
    await callsOf(completed, 3, gammaKey);
    await callsOf(failed, 2, gammaKey);

    const usage = await api.request('GET', '/api/v1/llm/usage', { key: gammaKey });
    expect(usage.status).toBe(200);
    const today = new Date();
    expect(usage.body.since).toBe(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())).toISOString());
    expect(usage.body.totals).toEqual({ calls: 5, failed_calls: 1, cached_calls: 0, input_tokens: 120, output_tokens: 36, cost_usd: null });
    // Most tokens first; the unpriced model has a null cost, the priced ones their sum.
    expect(usage.body.by_model).toEqual([
      { model: 'mock:good', calls: 3, input_tokens: 90, output_tokens: 27, cost_usd: expect.closeTo(3 * goodCostUsd, 10) },
      { model: 'mock:unpriced', calls: 1, input_tokens: 30, output_tokens: 9, cost_usd: null },
      { model: 'mock:broken', calls: 1, input_tokens: 0, output_tokens: 0, cost_usd: 0 },
    ]);

    // A tenant with no call gets zeros, not another tenant's usage.
    const deltaKey = await newTenantKey('delta');
    const empty = await api.request('GET', '/api/v1/llm/usage', { key: deltaKey });
    expect(empty.status).toBe(200);
    expect(empty.body.totals).toEqual({ calls: 0, failed_calls: 0, cached_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });
    expect(empty.body.by_model).toEqual([]);
  });

  it('gives tenant beta zero usage while alpha has calls', async () => {
    const taskId = await submitProbe({ good: 1 });
    await callsOf(taskId, 1);
    const alpha = await api.request('GET', '/api/v1/llm/usage');
    expect(alpha.body.totals.calls).toBeGreaterThan(0);
    const beta = await api.request('GET', '/api/v1/llm/usage', { key: api.keyB });
    expect(beta.status).toBe(200);
    expect(beta.body.totals).toEqual({ calls: 0, failed_calls: 0, cached_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });
    expect(beta.body.by_model).toEqual([]);
  });

  it('counts only calls made at or after `since`, and never calls outside a task', async () => {
    const epsilonKey = await newTenantKey('epsilon');
    const old = await submitProbe({ good: 1 }, epsilonKey);
    const recent = await submitProbe({ good: 2 }, epsilonKey);
    await callsOf(old, 1, epsilonKey);
    await callsOf(recent, 2, epsilonKey);
    // Time is moved by editing rows: the first task's call happened three days ago.
    await api.db.pool.query(`UPDATE llm_calls SET created_at = now() - interval '3 days' WHERE task_id = $1`, [old]);
    // A call made outside any task (the CLI's `llm try`) belongs to no tenant.
    await gateway.generateStructured({ model: 'mock:good', schema: answerSchema, instructions: 'Answer briefly.', prompt: 'no task' });
    await gateway.flushUsage();

    const today = await api.request('GET', '/api/v1/llm/usage', { key: epsilonKey });
    expect(today.body.totals).toMatchObject({ calls: 2, input_tokens: 60 });
    const fourDaysAgo = new Date(Date.now() - 4 * 86_400_000);
    const since = fourDaysAgo.toISOString();
    const week = await api.request('GET', `/api/v1/llm/usage?since=${encodeURIComponent(since)}`, { key: epsilonKey });
    expect(week.status).toBe(200);
    expect(week.body.since).toBe(since);
    expect(week.body.totals).toMatchObject({ calls: 3, input_tokens: 90 });
    // A date alone is midnight UTC; an offset is honoured.
    const dateOnly = fourDaysAgo.toISOString().slice(0, 10);
    const byDate = await api.request('GET', `/api/v1/llm/usage?since=${dateOnly}`, { key: epsilonKey });
    expect(byDate.body.since).toBe(`${dateOnly}T00:00:00.000Z`);
    expect(byDate.body.totals.calls).toBe(3);
    const withOffset = await api.request('GET', `/api/v1/llm/usage?since=${encodeURIComponent('2020-01-01T02:00:00+02:00')}`, { key: epsilonKey });
    expect(withOffset.body.since).toBe('2020-01-01T00:00:00.000Z');
    const future = await api.request('GET', `/api/v1/llm/usage?since=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`, { key: epsilonKey });
    expect(future.body.totals.calls).toBe(0);
  });

  it('refuses bad queries with 400 validation_failed', async () => {
    const cases = [
      'since=yesterday',
      'since=',
      'since=2026-01-01T00:00:00',
      'since=2026-02-30',
      'since=2026-13-01T00:00:00Z',
      'since=0000-01-01',
      'since=2026-01-01&since=2026-01-02',
      `since=${'9'.repeat(100)}`,
      'from=2026-01-01',
      'since=2026-01-01&tenant=beta',
    ];
    for (const search of cases) {
      const response = await api.request('GET', `/api/v1/llm/usage?${search}`);
      expect(response.status, search).toBe(400);
      expect(response.body.error.code, search).toBe('validation_failed');
      expect(response.body.error.details.location, search).toBe('query');
    }
    const message = (await api.request('GET', '/api/v1/llm/usage?since=yesterday')).body.error;
    expect(message.details.issues).toEqual([{ path: 'since', message: expect.stringContaining('ISO 8601') }]);
    expect((await api.request('GET', '/api/v1/llm/usage', { key: null })).status).toBe(401);
  });

  it('is documented in the OpenAPI document', async () => {
    const document = await api.request('GET', '/openapi.json');
    expect(document.body.paths['/api/v1/llm/usage'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(['since']);
    expect(document.body.paths['/api/v1/tasks/{id}/llm-calls'].get.responses['200']).toBeDefined();
    expect(document.body.paths['/api/v1/tasks/{id}/llm-calls'].get.responses['404']).toBeDefined();
  });
});
