/**
 * Shared set-up of the gather tests: a config from overrides only (the machine's environment and
 * any real key in it are ignored), the real LLM gateway (offline model unless providers are
 * injected), an engine with the gather task types on a fresh database.
 */
import { APICallError, type ProviderV4 } from '@ai-sdk/provider';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import type { Engine, TaskEvent } from '../../src/engine/index.ts';
import { createLlmGateway, type LlmGateway } from '../../src/llm/index.ts';
import { automatedGatherTaskTypes, type GatherServices } from '../../src/pipelines/automated-gather/index.ts';
import type { TestDatabase } from '../support/database.ts';
import { startTestEngine, testLogger } from '../support/engine.ts';

export function gatherConfig(overrides: ConfigOverrides = {}): Config {
  // The default 60 requests per minute per provider would make a file of mock-model runs wait
  // for the limiter; limits have their own tests (test/llm/rate-limiter.test.ts).
  return loadConfig({ llmMaxRetries: 2, llmRequestsPerMinute: 100_000, llmConcurrency: 16, ...overrides }, {});
}

export function testGateway(database: Pick<TestDatabase, 'pool'>, config: Config, providers?: Record<string, ProviderV4>): LlmGateway {
  return createLlmGateway({
    config,
    pool: database.pool,
    logger: testLogger,
    privateLimiters: true,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...(providers ? { providers } : {}),
  });
}

export interface GatherHarness {
  engine: Engine;
  llm: LlmGateway;
  config: Config;
}

export async function startGatherEngine(
  database: TestDatabase,
  options: { config?: Config; llm?: LlmGateway; services?: Partial<GatherServices>; worker?: boolean; maintenance?: boolean } = {},
): Promise<GatherHarness> {
  const config = options.config ?? gatherConfig();
  const llm = options.llm ?? testGateway(database, config);
  const engine = await startTestEngine(database, automatedGatherTaskTypes({ config, pool: database.pool, logger: testLogger, llm, retryBaseDelayMs: 100, ...options.services }), { maintenance: options.maintenance ?? false });
  if (options.worker ?? true) await engine.startWorker({ concurrency: 4, pollIntervalMs: 200 });
  return { engine, llm, config };
}

export async function eventsOf(engine: Engine, taskId: string): Promise<TaskEvent[]> {
  return engine.readEvents({ taskId, limit: 100_000 });
}

export function ofType(events: TaskEvent[], type: string): Array<Record<string, unknown>> {
  return events.filter((event) => event.type === type).map((event) => event.payload);
}

/** A model answer at the LanguageModelV4 spec interface carrying `text`. */
export function textAnswer(text: string): import('@ai-sdk/provider').LanguageModelV4GenerateResult {
  return {
    content: [{ type: 'text', text }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: { inputTokens: { total: 20, noCache: 20, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 30, text: 30, reasoning: 0 } },
    warnings: [],
  };
}

export function jsonAnswer(value: unknown): import('@ai-sdk/provider').LanguageModelV4GenerateResult {
  return textAnswer(JSON.stringify(value));
}

/** What a provider's HTTP client throws for an error status. */
export function httpStatusError(statusCode: number, headers: Record<string, string> = {}): Error {
  return new APICallError({
    message: `mock provider answered ${statusCode}`,
    url: 'http://mock.invalid/v1/chat/completions',
    requestBodyValues: {},
    statusCode,
    responseHeaders: headers,
    responseBody: '{"error":"mock"}',
    isRetryable: statusCode === 429 || statusCode >= 500,
  });
}

