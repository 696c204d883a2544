/**
 * Set-up of the content tests: a fresh database, an engine with the content task types and a
 * worker, the real API server with the content routes, and keys with roles: a marketer and a
 * supervisor of tenant `alpha`, a marketer of tenant `beta`. The LLM gateway is the real one on
 * the offline model unless mock providers are injected; the machine's environment is ignored.
 */
import type { ImageModelV4, ProviderV4 } from '@ai-sdk/provider';
import { startApiServer, type ApiServer } from '../../src/api/index.ts';
import { createApiKey } from '../../src/api/keys.ts';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import type { Engine, TaskEvent } from '../../src/engine/index.ts';
import { createTestDatabase, startTestEngine, testLogger, type TestDatabase } from '../../src/kit/testing.ts';
import { createLlmGateway, type LlmGateway } from '../../src/llm/index.ts';
import { contentRoutePlugins, contentTaskTypes } from '../../src/pipelines/content/index.ts';
import { migrationSources } from '../../src/pipelines/index.ts';

export interface ContentHarness {
  db: TestDatabase;
  engine: Engine;
  server: ApiServer;
  config: Config;
  llm: LlmGateway;
  keys: { marketer: string; supervisor: string; admin: string; otherMarketer: string; otherSupervisor: string };
  request<Body = any>(method: string, path: string, options?: { key?: string; body?: unknown }): Promise<{ status: number; body: Body; headers: Headers }>;
  /** Stops the engine (worker included) and starts a new one on the same database. */
  restartEngine(): Promise<void>;
  close(): Promise<void>;
}

export interface ContentHarnessOptions {
  config?: ConfigOverrides;
  providers?: Record<string, ProviderV4>;
  imageModel?: ImageModelV4;
  /** @default true */
  worker?: boolean;
}

export function contentConfig(overrides: ConfigOverrides = {}): Config {
  return loadConfig({ llmMaxRetries: 1, llmRequestsPerMinute: 100_000, llmConcurrency: 32, ...overrides }, {});
}

export async function startContentHarness(options: ContentHarnessOptions = {}): Promise<ContentHarness> {
  const db = await createTestDatabase({ migrations: migrationSources });
  const config = contentConfig(options.config);
  const llm = createLlmGateway({ config, pool: db.pool, logger: testLogger, privateLimiters: true, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...(options.providers ? { providers: options.providers } : {}) });
  const services = { config, pool: db.pool, logger: testLogger, llm, ...(options.imageModel ? { imageModel: options.imageModel } : {}) };
  const startEngine = async (): Promise<Engine> => {
    const started = await startTestEngine(db, contentTaskTypes(services));
    if (options.worker ?? true) await started.startWorker({ concurrency: 16, pollIntervalMs: 200 });
    return started;
  };
  let engine = await startEngine();
  // The routes hold the engine they were given: a restart swaps what this proxy points at.
  const engineProxy = new Proxy({} as Engine, {
    get: (_target, property) => {
      const value = Reflect.get(engine, property, engine);
      return typeof value === 'function' ? value.bind(engine) : value;
    },
  });
  const server = await startApiServer({ engine: engineProxy, config, logger: testLogger, pool: db.pool, host: '127.0.0.1', port: 0, webRoot: false, routePlugins: [contentRoutePlugins({ ...services, engine: engineProxy })], keyCacheTtlMs: 0 });
  const key = async (tenant: string, role: string): Promise<string> => (await createApiKey(db.pool, { tenant, role })).key;
  const keys = { marketer: await key('alpha', 'marketer'), supervisor: await key('alpha', 'supervisor'), admin: await key('alpha', 'admin'), otherMarketer: await key('beta', 'marketer'), otherSupervisor: await key('beta', 'supervisor') };
  return {
    db,
    get engine() {
      return engine;
    },
    server,
    config,
    llm,
    keys,
    async request(method, path, requestOptions = {}) {
      const headers: Record<string, string> = { 'x-api-key': requestOptions.key ?? keys.marketer };
      let body: string | undefined;
      if (requestOptions.body !== undefined) {
        body = JSON.stringify(requestOptions.body);
        headers['content-type'] = 'application/json';
      }
      const response = await fetch(`${server.url}${path}`, { method, headers, body });
      const text = await response.text();
      const parsed = (response.headers.get('content-type') ?? '').includes('application/json') && text.length > 0 ? JSON.parse(text) : text;
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async restartEngine() {
      await engine.stop({ graceMs: 0 });
      engine = await startEngine();
    },
    async close() {
      await server.close();
      await engine.stop({ graceMs: 0 });
      await db.drop();
    },
  };
}

/** Row counts of every content table, to assert that a refused request wrote nothing. */
export async function contentRowCounts(db: TestDatabase): Promise<Record<string, number>> {
  const tables = ['content_companies', 'content_company_dna', 'content_personas', 'content_topics', 'content_blog_posts', 'content_social_posts', 'content_edits', 'content_gates', 'content_images', 'tasks'];
  const counts: Record<string, number> = {};
  for (const table of tables) counts[table] = (await db.pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM ${table}`)).rows[0]!.count;
  return counts;
}

/** Resolves with the first event of the task matching `predicate` (stored or live): no polling. */
export async function waitForEvent(engine: Engine, taskId: string, predicate: (event: TaskEvent) => boolean, timeoutMs = 60_000): Promise<TaskEvent> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for await (const event of engine.subscribe({ taskId, afterId: 0, signal: controller.signal })) {
      if (predicate(event)) return event;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  throw new Error(`no matching event of task ${taskId} within ${timeoutMs} ms`);
}

/** The run parked on a decision wait (`decisions:<phase>:<round>`) of `phase`. */
export async function waitForDecisionWait(engine: Engine, taskId: string, phase: string, timeoutMs = 60_000): Promise<TaskEvent> {
  return waitForEvent(engine, taskId, (event) => event.type === 'task_waiting' && String((event.payload as Record<string, unknown>).key ?? '').startsWith(`decisions:${phase}:`), timeoutMs);
}
