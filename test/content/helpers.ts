/**
 * Set-up of the content tests: a fresh database, an engine with the content task types and a
 * worker, the real API server with the content routes, and keys with roles: a marketer and a
 * supervisor of tenant `alpha`, a marketer of tenant `beta`. The LLM gateway is the real one on
 * the offline model unless mock providers are injected; the machine's environment is ignored.
 */
import type { ImageModelV4, LanguageModelV4, ProviderV4 } from '@ai-sdk/provider';
import { customProvider } from 'ai';
import { expect } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.ts';
import { createApiKey } from '../../src/api/keys.ts';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import type { Engine, TaskEvent } from '../../src/engine/index.ts';
import { createTestDatabase, startTestEngine, testLogger, waitForFailureHandled, waitForTask, type TestDatabase } from '../../src/kit/testing.ts';
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
  /**
   * A scripted model: the content jobs write and research with it (as `mock:writer`). Without
   * one, the research of a company's DNA finds nothing (the offline model reads nothing).
   */
  writer?: LanguageModelV4;
  imageModel?: ImageModelV4;
  /** @default true */
  worker?: boolean;
}

export function contentConfig(overrides: ConfigOverrides = {}): Config {
  return loadConfig({ llmMaxRetries: 1, llmRequestsPerMinute: 100_000, llmConcurrency: 32, ...overrides }, {});
}

export async function startContentHarness(options: ContentHarnessOptions = {}): Promise<ContentHarness> {
  const db = await createTestDatabase({ migrations: migrationSources });
  const config = contentConfig({ ...(options.writer ? { contentWritingModel: 'mock:writer', llmResearchModel: 'mock:writer' } : {}), ...options.config });
  const providers = { ...options.providers, ...(options.writer ? { mock: customProvider({ languageModels: { writer: options.writer } }) } : {}) };
  const llm = createLlmGateway({ config, pool: db.pool, logger: testLogger, privateLimiters: true, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...(Object.keys(providers).length > 0 ? { providers } : {}) });
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

/** Starts a job through `/api/v1/ai/` for the company (202, `queued`) and returns its id. */
export async function startJob(harness: ContentHarness, companyId: string, path: string, body: unknown): Promise<string> {
  const started = await harness.request('POST', `/api/v1/ai/companies/${companyId}/${path}/`, { body });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body.status).toBe('queued');
  // The seed's key for the same id.
  expect(started.body.jobId).toBe(started.body.job_id);
  return started.body.job_id as string;
}

/**
 * Waits for a job to end as `expected` and returns its view (`GET /api/v1/ai/jobs/{id}/`). A
 * failed job whose type has an `onFailure` has had it run by then (it puts a post back).
 */
export async function jobEnded(harness: ContentHarness, jobId: string, expected: 'completed' | 'failed' = 'completed'): Promise<any> {
  const task = await waitForTask(harness.engine, jobId, ['completed', 'failed', 'cancelled'], 60_000);
  expect(task.status, JSON.stringify(task.error)).toBe(expected);
  if (expected === 'failed' && harness.engine.registry.get(task.task_type).onFailure) await waitForFailureHandled(harness.engine, jobId);
  return (await harness.request('GET', `/api/v1/ai/jobs/${jobId}/`)).body;
}

/** Runs a job through `/api/v1/ai/` to its end as `expected`; returns its view. */
export async function runJob(harness: ContentHarness, companyId: string, path: string, body: unknown, expected: 'completed' | 'failed' = 'completed'): Promise<any> {
  return jobEnded(harness, await startJob(harness, companyId, path, body), expected);
}

/**
 * A new company of tenant `alpha` with its DNA researched, its personas written, three of them
 * selected, and `count` topics of a month that no run waits for: pending approval, or approved by
 * the supervisor.
 */
export async function companyWithTopics(harness: ContentHarness, options: { name: string; year: number; month: number; count: number; approved?: boolean }): Promise<{ companyId: string; topicIds: string[] }> {
  const { request } = harness;
  const companyId = (await request('POST', '/api/v1/content/companies', { body: { name: options.name, plan: 'free' } })).body.id as string;
  await runJob(harness, companyId, 'scrape-dna', {});
  await runJob(harness, companyId, 'generate-personas', {});
  const personas = (await request('GET', `/api/v1/content/companies/${companyId}/personas`)).body.personas as Array<{ id: string }>;
  expect((await request('POST', '/api/v1/content/personas/select/', { body: { company_id: companyId, persona_ids: personas.slice(0, 3).map((persona) => persona.id) } })).status).toBe(200);
  const topicIds = (await runJob(harness, companyId, 'generate-topics', { year: options.year, month: options.month, posts_count: options.count })).result_data.topic_ids as string[];
  if (options.approved) {
    for (const id of topicIds) expect((await request('POST', `/api/v1/content/topics/${id}/approve`, { key: harness.keys.supervisor })).status).toBe(200);
  }
  return { companyId, topicIds };
}

/** The company's blog post of `topicId`, as the API lists it; undefined when it has none. */
export async function postOfTopic(harness: ContentHarness, companyId: string, topicId: string): Promise<any> {
  const posts = (await harness.request('GET', `/api/v1/content/posts?company_id=${companyId}`)).body.posts as Array<{ topic_id: string }>;
  return posts.find((post) => post.topic_id === topicId);
}
