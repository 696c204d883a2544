/**
 * Shared set-up of the learning tests: a config from overrides only (the machine's environment
 * and any real key in it are ignored), the real LLM gateway, the learning task types and routes
 * on the API harness (test/support/http.ts), and a research source wrapper that records which
 * words were researched and can slow each batch down so a test can act mid-round.
 */
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import type { Engine } from '../../src/engine/index.ts';
import { createLlmGateway, type LlmGateway } from '../../src/llm/index.ts';
import { createResearchSource, learningRoutes, learningTaskTypes, type ResearchSource } from '../../src/pipelines/learning/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, testLogger } from '../support/engine.ts';
import { startApiHarness, type ApiHarness } from '../support/http.ts';

export function learningConfig(overrides: ConfigOverrides = {}): Config {
  // The default 60 requests per minute per provider would make the provider tests wait for the
  // limiter; limits have their own tests.
  return loadConfig({ webhookAllowLoopback: true, llmMaxRetries: 0, llmRequestsPerMinute: 100_000, llmConcurrency: 16, ...overrides }, {});
}

export function learningGateway(database: Pick<TestDatabase, 'pool'>, config: Config): LlmGateway {
  return createLlmGateway({ config, pool: database.pool, logger: testLogger, privateLimiters: true, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
}

export interface LearningEngine {
  database: TestDatabase;
  engine: Engine;
  /** Stops the engine (its worker given 500 ms) and drops the database. */
  stop(): Promise<void>;
}

/**
 * A database of its own and an engine running the learning task types on `source`, with a worker
 * of two slots polling every `pollIntervalMs` (200).
 */
export async function startLearningEngine(source: ResearchSource, options: { config?: ConfigOverrides; retryBaseDelayMs?: number; deadlineGraceMs?: number; pollIntervalMs?: number } = {}): Promise<LearningEngine> {
  const database = await createTestDatabase();
  try {
    const config = learningConfig(options.config);
    const engine = await startTestEngine(database, learningTaskTypes({
      config, pool: database.pool, logger: testLogger, llm: learningGateway(database, config), source,
      retryBaseDelayMs: options.retryBaseDelayMs, deadlineGraceMs: options.deadlineGraceMs,
    }));
    await engine.startWorker({ concurrency: 2, pollIntervalMs: options.pollIntervalMs ?? 200 });
    return {
      database,
      engine,
      stop: async () => {
        await engine.stop({ graceMs: 500 });
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}

/** A real source that records every word it researched, optionally `delayMs` slower per batch. */
export function recordingSource(source: ResearchSource, options: { delayMs?: number; researched?: string[]; onResearch?: (words: string[]) => void } = {}): ResearchSource & { researched: string[] } {
  const researched = options.researched ?? [];
  return {
    kind: source.kind,
    name: source.name,
    batchSize: source.batchSize,
    researched,
    proposeWords: (request, researchOptions) => source.proposeWords(request, researchOptions),
    deepen: (entries, researchOptions) => source.deepen(entries, researchOptions),
    async research(words, researchOptions) {
      if (options.delayMs) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, options.delayMs);
          researchOptions.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(researchOptions.signal.reason);
          }, { once: true });
        });
      }
      const outcome = await source.research(words, researchOptions);
      researched.push(...words.map((word) => word.normalised));
      options.onResearch?.(words.map((word) => word.normalised));
      return outcome;
    },
  };
}

export interface LearningHarness extends ApiHarness {
  llm: LlmGateway;
}

/**
 * The API harness with the learning pipeline's task types and routes. `source` builds the
 * research source from the harness's gateway (default: per TASKLOOM_LEARNING_SOURCE).
 */
export async function startLearningHarness(options: { config?: ConfigOverrides; source?: (config: Config, llm: LlmGateway) => ResearchSource; worker?: boolean; retryBaseDelayMs?: number } = {}): Promise<LearningHarness> {
  const config = learningConfig(options.config);
  const attached: { engine?: Engine; llm?: LlmGateway } = {};
  const gateway = (database: TestDatabase): LlmGateway => {
    attached.llm ??= learningGateway(database, config);
    return attached.llm;
  };
  const harness = await startApiHarness({
    ...(options.config ? { config: options.config } : {}),
    ...(options.worker === undefined ? {} : { worker: options.worker }),
    taskTypesFor: (database) => {
      const llm = gateway(database);
      return learningTaskTypes({ config, pool: database.pool, logger: testLogger, llm, source: (options.source ?? createResearchSource)(config, llm), retryBaseDelayMs: options.retryBaseDelayMs ?? 20 });
    },
    // The harness starts its engine before the routes; they read it from here at request time.
    routePluginsFor: (database) => [learningRoutes({ config, pool: database.pool, logger: testLogger, llm: gateway(database), get engine(): Engine { return attached.engine!; } })],
  });
  attached.engine = harness.engine;
  return { ...harness, llm: attached.llm! };
}

/** A WebSocket URL of the harness with `key` as `?api_key=`. */
export function wsUrl(harness: Pick<ApiHarness, 'url'>, path: string, key: string): string {
  return `${harness.url.replace('http', 'ws')}${path}${path.includes('?') ? '&' : '?'}api_key=${key}`;
}

/**
 * A research source that proposes nothing (a job works only the queue the test seeds) and
 * deepens nothing, around the test's `research`.
 */
export function queueOnlySource(research: ResearchSource['research'], options: { kind?: ResearchSource['kind']; name?: string; batchSize?: number } = {}): ResearchSource {
  const name = options.name ?? 'test-source';
  return {
    kind: options.kind ?? 'wordnet',
    name,
    batchSize: options.batchSize ?? 10,
    proposeWords: async () => ({ tokens: [], source: name, calls: 0 }),
    deepen: async () => ({ deepened: [], unresolved: [], calls: 0 }),
    research,
  };
}
