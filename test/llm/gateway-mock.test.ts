/**
 * The gateway against mock models at the LanguageModelV4 spec interface: retries, Retry-After,
 * fallback, invalid-output repair, cancellation, timeouts, usage rows, cost, cache hits, limits
 * and metrics. Real PostgreSQL, one database for the file.
 */
import { customProvider } from 'ai';
import { MockEmbeddingModelV4, MockLanguageModelV4 } from 'ai/test';
import client from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ConfigOverrides } from '../../src/config.ts';
import { createLlmGateway, LlmError, wordVectorEmbeddingVersion, type LlmGateway } from '../../src/llm/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { httpError, jsonResult, promptOf, silentLogger, testConfig, textResult, waitForAbort } from './helpers.ts';

const itemSchema = z.object({ title: z.string().min(3), score: z.number().int().min(0).max(100) });
const goodItem = { title: 'Lighting plan', score: 72 };
const taskId = '00000000-0000-4000-8000-000000000001';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.flushUsage()));
  await database.drop();
});

/** Every gateway a test made: usage rows are written in the background, flushed before reading. */
const gateways: LlmGateway[] = [];

beforeEach(async () => {
  // A previous test's usage rows may still be in flight: let them land before the table is emptied.
  await Promise.all(gateways.map((gateway) => gateway.flushUsage()));
  await database.pool.query('TRUNCATE llm_calls, llm_cache');
});

function gatewayWith(models: Record<string, MockLanguageModelV4>, overrides: ConfigOverrides = {}, embeddingModels: Record<string, MockEmbeddingModelV4> = {}): LlmGateway {
  return track(createLlmGateway({
    config: testConfig({ llmGenerationModel: 'mock:good', ...overrides }),
    pool: database.pool,
    logger: silentLogger,
    providers: { mock: customProvider({ languageModels: models, embeddingModels }) },
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    privateLimiters: true,
  }));
}

function track(gateway: LlmGateway): LlmGateway {
  gateways.push(gateway);
  return gateway;
}

interface CallRow {
  provider: string;
  model: string;
  attempt: number;
  cache_hit: boolean;
  error_code: string | null;
  error: string | null;
  input_tokens: number;
  output_tokens: number;
  task_id: string | null;
  step: string | null;
  purpose: string;
}

async function callRows(): Promise<CallRow[]> {
  await Promise.all(gateways.map((gateway) => gateway.flushUsage()));
  return (await database.pool.query<CallRow>('SELECT * FROM llm_calls ORDER BY id')).rows;
}

const request = { schema: itemSchema, instructions: 'You plan film shoots.', prompt: 'Plan the lighting.' };

describe('generateStructured with mock models', () => {
  it('returns the validated object and records one usage row', async () => {
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(goodItem, { input: 30, output: 9 }) });
    const gateway = gatewayWith({ good });
    const result = await gateway.generateStructured({ ...request, context: { taskId, step: 'plan' } });
    expect(result).toEqual({ object: goodItem, model: 'mock:good', cached: false, usage: { inputTokens: 30, outputTokens: 9 } });
    // The schema reached the model as a JSON response format.
    expect(good.doGenerateCalls[0]?.responseFormat).toMatchObject({ type: 'json', schema: { type: 'object', required: ['title', 'score'] } });
    expect(await callRows()).toMatchObject([{ provider: 'mock', model: 'good', attempt: 1, cache_hit: false, error: null, input_tokens: 30, output_tokens: 9, task_id: taskId, step: 'plan', purpose: 'generation' }]);
    expect(gateway.isOffline()).toBe(false);
  });

  it('retries 429 and 5xx, waiting as long as Retry-After says', async () => {
    let calls = 0;
    const flaky = new MockLanguageModelV4({
      provider: 'mock',
      modelId: 'good',
      doGenerate: async () => {
        calls += 1;
        if (calls === 1) throw httpError(429, { 'retry-after-ms': '150' });
        if (calls === 2) throw httpError(503);
        return jsonResult(goodItem);
      },
    });
    const gateway = gatewayWith({ good: flaky });
    const started = performance.now();
    const result = await gateway.generateStructured(request);
    expect(result.object).toEqual(goodItem);
    expect(calls).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    const rows = await callRows();
    expect(rows.map((row) => [row.attempt, row.error_code])).toEqual([[1, 'llm_call_failed'], [2, 'llm_call_failed'], [3, null]]);
    expect(rows[0]?.error).toContain('HTTP 429');
  });

  it('moves down the fallback chain when the primary keeps failing', async () => {
    const broken = new MockLanguageModelV4({ provider: 'mock', modelId: 'broken', doGenerate: async () => { throw httpError(500); } });
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(goodItem) });
    const gateway = gatewayWith({ broken, good }, { llmMaxRetries: 1, llmFallbackModels: 'mock:good' });
    const result = await gateway.generateStructured({ ...request, model: 'mock:broken' });
    expect(result.model).toBe('mock:good');
    expect(broken.doGenerateCalls).toHaveLength(2);
    expect(good.doGenerateCalls).toHaveLength(1);
  });

  it('does not wait out a Retry-After beyond the limit: the fallback answers at once', async () => {
    const limited = new MockLanguageModelV4({ provider: 'mock', modelId: 'limited', doGenerate: async () => { throw httpError(429, { 'retry-after': '3600' }); } });
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(goodItem) });
    const gateway = gatewayWith({ limited, good });
    const started = performance.now();
    const result = await gateway.generateStructured({ ...request, model: 'mock:limited', fallbackModels: ['mock:good'] });
    expect(result.model).toBe('mock:good');
    expect(limited.doGenerateCalls).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('fails a refused request at once with an error naming provider, model and cause', async () => {
    const refused = new MockLanguageModelV4({ provider: 'mock', modelId: 'refused', doGenerate: async () => { throw httpError(401); } });
    const gateway = gatewayWith({ refused });
    const error = await gateway.generateStructured({ ...request, model: 'mock:refused' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LlmError);
    const llmError = error as LlmError;
    expect(llmError.code).toBe('llm_call_failed');
    expect(llmError.retryable).toBe(false);
    expect(llmError.message).toMatch(/provider mock, model refused: HTTP 401/);
    expect(llmError.details).toMatchObject({ provider: 'mock', model: 'refused', statusCode: 401 });
    expect(refused.doGenerateCalls).toHaveLength(1);
  });

  it('repairs schema-invalid output once, feeding the validation error back', async () => {
    let calls = 0;
    const sloppy = new MockLanguageModelV4({
      provider: 'mock',
      modelId: 'good',
      doGenerate: async () => {
        calls += 1;
        return calls === 1 ? jsonResult({ title: 'Lighting plan', score: 'high' }) : jsonResult(goodItem);
      },
    });
    const gateway = gatewayWith({ good: sloppy });
    const result = await gateway.generateStructured(request);
    expect(result.object).toEqual(goodItem);
    const repairPrompt = promptOf(sloppy.doGenerateCalls[1]!);
    expect(repairPrompt).toContain('"score":"high"');
    expect(repairPrompt).toMatch(/did not match the required JSON schema: .*score/s);
    const rows = await callRows();
    expect(rows.map((row) => row.error_code)).toEqual(['llm_invalid_output', null]);
  });

  it('repairs malformed JSON too, and gives up with llm_invalid_output after the second failure', async () => {
    const broken = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: textResult('{"title": "Lighting') });
    const gateway = gatewayWith({ good: broken }, { llmCache: 'on' });
    const error = (await gateway.generateStructured(request).catch((caught: unknown) => caught)) as LlmError;
    expect(error).toBeInstanceOf(LlmError);
    expect(error.code).toBe('llm_invalid_output');
    expect(error.message).toMatch(/does not match the schema: provider mock, model good: No object generated: could not parse the response/);
    expect(broken.doGenerateCalls).toHaveLength(2);
    // Only validated outputs are cached.
    expect((await database.pool.query('SELECT count(*)::int AS count FROM llm_cache')).rows[0].count).toBe(0);
  });

  it('stops at once when the task signal aborts, throwing the signal reason', async () => {
    const slow = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: waitForAbort });
    const gateway = gatewayWith({ good: slow });
    const controller = new AbortController();
    const reason = new Error('task cancelled by user');
    setTimeout(() => controller.abort(reason), 30);
    const started = performance.now();
    await expect(gateway.generateStructured({ ...request, signal: controller.signal })).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await callRows()).toMatchObject([{ error_code: 'llm_cancelled' }]);
    // An already aborted signal never reaches the model.
    await expect(gateway.generateStructured({ ...request, signal: controller.signal })).rejects.toBe(reason);
    expect(slow.doGenerateCalls).toHaveLength(1);
  });

  it('cancels during a retry wait', async () => {
    const limited = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: async () => { throw httpError(429, { 'retry-after': '30' }); } });
    const gateway = gatewayWith({ good: limited });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await gateway.generateStructured({ ...request, signal: controller.signal }).catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('AbortError');
    expect(limited.doGenerateCalls).toHaveLength(1);
  });

  it('times out one request after TASKLOOM_LLM_TIMEOUT_MS and retries it', async () => {
    const hanging = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: waitForAbort });
    const gateway = gatewayWith({ good: hanging }, { llmTimeoutMs: 40, llmMaxRetries: 1 });
    const error = (await gateway.generateStructured(request).catch((caught: unknown) => caught)) as LlmError;
    expect(error.code).toBe('llm_call_failed');
    expect(error.message).toMatch(/timed out: provider mock, model good: no answer within 40 ms/);
    expect(hanging.doGenerateCalls).toHaveLength(2);
  });

  it('serves repeated calls from the cache when caching is on, keyed by model, schema and prompt', async () => {
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(goodItem) });
    const gateway = gatewayWith({ good }, { llmCache: 'on' });
    const first = await gateway.generateStructured({ ...request, context: { taskId } });
    const second = await gateway.generateStructured({ ...request, context: { taskId } });
    expect(first.cached).toBe(false);
    expect(second).toEqual({ object: goodItem, model: 'mock:good', cached: true, usage: { inputTokens: 0, outputTokens: 0 } });
    expect(good.doGenerateCalls).toHaveLength(1);
    await gateway.generateStructured({ ...request, prompt: 'Plan the sound.' });
    await gateway.generateStructured({ ...request, schema: itemSchema.extend({ note: z.string().optional() }) });
    expect(good.doGenerateCalls).toHaveLength(3);
    const usage = await gateway.usageForTask(taskId);
    expect(usage).toMatchObject({ calls: 2, cachedCalls: 1, inputTokens: 12, outputTokens: 7 });
  });

  it('hands back an answer with its NUL characters removed and lone surrogates replaced, storable as it is, cache included', async () => {
    const dirty = { title: 'Light\u0000ing plan \ud800 for act one', score: 72 };
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(dirty) });
    const gateway = gatewayWith({ good }, { llmCache: 'on' });
    const first = await gateway.generateStructured(request);
    expect(first.object).toEqual({ title: 'Lighting plan \ufffd for act one', score: 72 });
    // Written to the cache (jsonb would refuse the raw answer) and served from it.
    const second = await gateway.generateStructured(request);
    expect(second).toMatchObject({ object: first.object, cached: true });
    expect(good.doGenerateCalls).toHaveLength(1);
  });

  it('does not cache real models by default (TASKLOOM_LLM_CACHE=auto)', async () => {
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(goodItem) });
    const gateway = gatewayWith({ good });
    await gateway.generateStructured(request);
    const again = await gateway.generateStructured(request);
    expect(again.cached).toBe(false);
    expect(good.doGenerateCalls).toHaveLength(2);
  });

  it('totals usage and cost per task from the price table', async () => {
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(goodItem, { input: 1000, output: 500 }) });
    const cheap = new MockLanguageModelV4({ provider: 'mock', modelId: 'unpriced', doGenerate: jsonResult(goodItem, { input: 10, output: 10 }) });
    const gateway = gatewayWith({ good, unpriced: cheap }, { llmPriceTable: JSON.stringify({ 'mock:good': { inputPerMillion: 3, outputPerMillion: 15 } }) });
    await gateway.generateStructured({ ...request, context: { taskId, step: 'a' } });
    await gateway.generateStructured({ ...request, purpose: 'judging', context: { taskId, step: 'b' } });
    let usage = await gateway.usageForTask(taskId);
    expect(usage.calls).toBe(2);
    expect(usage.inputTokens).toBe(2000);
    expect(usage.outputTokens).toBe(1000);
    expect(usage.costUsd).toBeCloseTo(2 * (1000 * 3 + 500 * 15) / 1_000_000, 10);
    expect(usage.byModel['mock:good']).toMatchObject({ calls: 2, inputTokens: 2000 });
    // One unpriced model makes the task's cost unknown rather than wrong.
    await gateway.generateStructured({ ...request, model: 'mock:unpriced', context: { taskId } });
    usage = await gateway.usageForTask(taskId);
    expect(usage.costUsd).toBeNull();
    expect(usage.byModel['mock:unpriced']?.costUsd).toBeNull();
    expect(await gateway.usageForTask('00000000-0000-4000-8000-000000000999')).toMatchObject({ calls: 0, costUsd: 0 });
  });

  it('keeps at most TASKLOOM_LLM_CONCURRENCY requests in flight per provider', async () => {
    let inFlight = 0;
    let peak = 0;
    const good = new MockLanguageModelV4({
      provider: 'mock',
      modelId: 'good',
      doGenerate: async () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 15));
        inFlight -= 1;
        return jsonResult(goodItem);
      },
    });
    const gateway = gatewayWith({ good }, { llmConcurrency: 2 });
    await Promise.all(Array.from({ length: 8 }, (_, index) => gateway.generateStructured({ ...request, prompt: `Plan shot ${index}.` })));
    expect(peak).toBe(2);
    expect(good.doGenerateCalls).toHaveLength(8);
  });

  it('exports llm_calls_total, llm_tokens_total and llm_call_duration_seconds', async () => {
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(goodItem, { input: 4, output: 2 }) });
    await gatewayWith({ good }).generateStructured(request);
    const text = await client.register.metrics();
    expect(text).toMatch(/llm_calls_total\{provider="mock",model="good",purpose="generation",outcome="success"\} \d+/);
    expect(text).toMatch(/llm_tokens_total\{provider="mock",model="good",direction="input"\} \d+/);
    expect(text).toMatch(/llm_call_duration_seconds_count\{provider="mock",model="good",outcome="success"\} \d+/);
  });
});

describe('model resolution', () => {
  it('sends bare seed ids through OpenRouter when it is configured', async () => {
    const claude = new MockLanguageModelV4({ provider: 'openrouter', modelId: 'anthropic/claude-sonnet-4.5', doGenerate: jsonResult(goodItem) });
    const gateway = track(createLlmGateway({
      config: testConfig(),
      pool: database.pool,
      logger: silentLogger,
      providers: { openrouter: customProvider({ languageModels: { 'anthropic/claude-sonnet-4.5': claude } }) },
    }));
    const result = await gateway.generateStructured({ ...request, model: 'anthropic/claude-sonnet-4.5' });
    expect(result.model).toBe('openrouter:anthropic/claude-sonnet-4.5');
    expect(gateway.defaultModel('generation')).toBe('openrouter:anthropic/claude-sonnet-4.5');
  });

  it('runs bare seed ids on the offline model when nothing is configured', async () => {
    const gateway = track(createLlmGateway({ config: testConfig(), pool: database.pool, logger: silentLogger }));
    expect(gateway.isOffline()).toBe(true);
    const result = await gateway.generateStructured({ ...request, model: 'anthropic/claude-sonnet-4.5' });
    expect(result.model).toBe('offline:default');
    expect(itemSchema.parse(result.object)).toEqual(result.object);
    // The offline model is cached by default.
    expect((await gateway.generateStructured({ ...request, model: 'anthropic/claude-sonnet-4.5' })).cached).toBe(true);
  });

  it('refuses an id that is neither provider:model nor an OpenRouter id, with or without OpenRouter', async () => {
    const offline = track(createLlmGateway({ config: testConfig(), pool: database.pool, logger: silentLogger }));
    const withOpenRouter = track(createLlmGateway({
      config: testConfig(),
      pool: database.pool,
      logger: silentLogger,
      providers: { openrouter: customProvider({ languageModels: {} }) },
    }));
    for (const gateway of [offline, withOpenRouter]) {
      const misspelt = (() => { try { return gateway.resolveModel('generation', 'nosuch:model'); } catch (caught) { return caught; } })() as LlmError;
      expect(misspelt.code).toBe('llm_unknown_model');
      expect(misspelt.message).toContain('"nosuch" is not a provider');
      expect(misspelt.message).toContain('openai-compatible');
      const noVendor = (() => { try { return gateway.resolveModel('generation', 'gpt-4o'); } catch (caught) { return caught; } })() as LlmError;
      expect(noVendor.code).toBe('llm_unknown_model');
      expect(noVendor.message).toContain('"provider:model"');
    }
    // OpenRouter's variants keep their colon after the slash.
    expect(withOpenRouter.resolveModel('generation', 'meta-llama/llama-3.2-3b-instruct:free')).toBe('openrouter:meta-llama/llama-3.2-3b-instruct:free');
  });

  it('names the missing key for an unconfigured provider', async () => {
    const gateway = track(createLlmGateway({ config: testConfig(), pool: database.pool, logger: silentLogger }));
    const error = (await gateway.generateStructured({ ...request, model: 'openai:gpt-4.1-mini' }).catch((caught: unknown) => caught)) as LlmError;
    expect(error.code).toBe('llm_unknown_model');
    expect(error.message).toContain('OPENAI_API_KEY');
  });

  it('lists configured and available models', async () => {
    const gateway = track(createLlmGateway({ config: testConfig({ llmGenerationModel: 'offline:default' }), pool: database.pool, logger: silentLogger }));
    const models = await gateway.listModels();
    expect(models[0]).toMatchObject({ id: 'offline:default', provider: 'offline', configured: true, reachable: true });
    expect(models.find((model) => model.id === 'offline:default')?.purpose).toEqual(['generation', 'judging', 'research']);
    expect(models.find((model) => model.id === 'offline:embedding')?.purpose).toEqual(['embedding']);
    expect(models.find((model) => model.id === 'openrouter:anthropic/claude-sonnet-4.5')).toMatchObject({ configured: false });
  });
});

describe('embedTexts', () => {
  it('embeds with the offline model by default and records the call', async () => {
    const gateway = track(createLlmGateway({ config: testConfig(), pool: database.pool, logger: silentLogger }));
    const result = await gateway.embedTexts({ texts: ['lighting plan for the alley', 'camera rental budget'], context: { taskId, step: 'dedupe' } });
    expect(result.model).toBe('offline:embedding');
    // Word vectors (100 dimensions) + hashed n-grams of unknown words (156), and which embedding it was.
    expect(result.version).toBe(wordVectorEmbeddingVersion);
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings[0]).toHaveLength(256);
    expect(result.usage.tokens).toBeGreaterThan(0);
    expect(await callRows()).toMatchObject([{ provider: 'offline', model: 'embedding', purpose: 'embedding', step: 'dedupe' }]);
    expect((await gateway.embedTexts({ texts: [] })).embeddings).toEqual([]);
  });

  it('retries a failing embedding model', async () => {
    let calls = 0;
    const embedder = new MockEmbeddingModelV4({
      provider: 'mock',
      modelId: 'embed',
      doEmbed: async (options) => {
        calls += 1;
        if (calls === 1) throw httpError(500);
        return { embeddings: options.values.map(() => [1, 0]), usage: { tokens: 3 }, warnings: [] };
      },
    });
    const gateway = gatewayWith({}, { llmEmbeddingModel: 'mock:embed' }, { embed: embedder });
    const result = await gateway.embedTexts({ texts: ['a'] });
    expect(result).toEqual({ embeddings: [[1, 0]], model: 'mock:embed', version: null, usage: { tokens: 3 } });
    expect(calls).toBe(2);
  });
});

describe('warmUp', () => {
  it('builds each purpose\'s default model before the first call, which then uses it as built', async () => {
    const good = new MockLanguageModelV4({ provider: 'mock', modelId: 'good', doGenerate: jsonResult(goodItem) });
    const research = new MockLanguageModelV4({ provider: 'mock', modelId: 'research', doGenerate: jsonResult(goodItem) });
    const provider = customProvider({ languageModels: { good, research } });
    const built: string[] = [];
    const counting = { ...provider, languageModel: (id: string) => {
      built.push(id);
      return provider.languageModel(id);
    } };
    const gateway = track(createLlmGateway({
      config: testConfig({ llmGenerationModel: 'mock:good', llmResearchModel: 'mock:research' }),
      pool: database.pool,
      logger: silentLogger,
      providers: { mock: counting },
      privateLimiters: true,
    }));

    await gateway.warmUp();
    // generation and judging share mock:good; the embedding default is the offline model.
    expect(built.sort()).toEqual(['good', 'research']);
    const result = await gateway.generateStructured({ ...request, context: { taskId } });
    expect(result.object).toEqual(goodItem);
    expect(built.sort()).toEqual(['good', 'research']);
  });

  it('resolves when a default model cannot be built, and the call reports why', async () => {
    const gateway = track(createLlmGateway({
      config: testConfig({ llmGenerationModel: 'mock:missing' }),
      pool: database.pool,
      logger: silentLogger,
      providers: { mock: customProvider({ languageModels: {} }) },
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      privateLimiters: true,
    }));

    await expect(gateway.warmUp()).resolves.toBeUndefined();
    await expect(gateway.generateStructured(request)).rejects.toBeInstanceOf(LlmError);
  });
});
