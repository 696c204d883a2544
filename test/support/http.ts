/**
 * An API server on a fresh database for HTTP tests: engine (+ optional worker), two tenants
 * with a key each, and a small fetch helper. `close()` stops everything it started.
 */
import type { FastifyPluginAsync } from 'fastify';
import { startApiServer, type ApiServer } from '../../src/api/index.ts';
import { createApiKey } from '../../src/api/keys.ts';
import { loadConfig, type ConfigOverrides, type Config } from '../../src/config.ts';
import { Engine, type AnyTaskDefinition } from '../../src/engine/index.ts';
import { createLogger } from '../../src/logger.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface HttpResponse<Body = any> {
  status: number;
  headers: Headers;
  body: Body;
  text: string;
}

export interface ApiHarness {
  db: TestDatabase;
  engine: Engine;
  server: ApiServer;
  config: Config;
  url: string;
  /** Key of tenant `alpha`. */
  keyA: string;
  /** Key of tenant `beta`. */
  keyB: string;
  request<Body = any>(method: string, path: string, options?: { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<HttpResponse<Body>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  config?: ConfigOverrides;
  /** Start an in-process worker. @default true */
  worker?: boolean;
  taskTypes?: AnyTaskDefinition[];
  /** Task types that need the harness's database (pipelines); wins over `taskTypes`. */
  taskTypesFor?: (database: TestDatabase) => AnyTaskDefinition[];
  routePlugins?: FastifyPluginAsync[];
  /** Route plugins that need the harness's database; wins over `routePlugins`. */
  routePluginsFor?: (database: TestDatabase) => FastifyPluginAsync[];
  keyCacheTtlMs?: number;
}

export const silentLogger = createLogger('silent');

export async function startApiHarness(options: HarnessOptions = {}): Promise<ApiHarness> {
  const db = await createTestDatabase();
  const config = loadConfig({ webhookAllowLoopback: true, ...options.config }, {});
  const engine = await Engine.start({ url: db.url, pool: db.pool, logger: silentLogger, taskTypes: options.taskTypesFor?.(db) ?? options.taskTypes ?? [sleepTask], maintenance: false });
  if (options.worker ?? true) await engine.startWorker({ concurrency: 4, pollIntervalMs: 200 });
  const server = await startApiServer({ engine, config, logger: silentLogger, pool: db.pool, host: '127.0.0.1', port: 0, webRoot: false, routePlugins: options.routePluginsFor?.(db) ?? options.routePlugins, keyCacheTtlMs: options.keyCacheTtlMs });
  const keyA = (await createApiKey(db.pool, { tenant: 'alpha' })).key;
  const keyB = (await createApiKey(db.pool, { tenant: 'beta' })).key;
  return {
    db,
    engine,
    server,
    config,
    url: server.url,
    keyA,
    keyB,
    async request(method, path, requestOptions = {}) {
      const headers: Record<string, string> = { ...requestOptions.headers };
      const key = requestOptions.key === undefined ? keyA : requestOptions.key;
      if (key !== null) headers['x-api-key'] = key;
      let body: string | undefined = requestOptions.rawBody;
      if (requestOptions.body !== undefined) {
        body = JSON.stringify(requestOptions.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${server.url}${path}`, { method, headers, body });
      const text = await response.text();
      let parsed: unknown = text;
      if ((response.headers.get('content-type') ?? '').includes('application/json') && text.length > 0) parsed = JSON.parse(text);
      return { status: response.status, headers: response.headers, body: parsed as any, text };
    },
    async close() {
      await server.close();
      await engine.stop({ graceMs: 0 });
      await db.drop();
    },
  };
}

/** Polls `read` until `done` accepts its value (or fails after `timeoutMs`). */
export async function waitFor<Value>(read: () => Promise<Value>, done: (value: Value) => boolean, timeoutMs = 10_000, intervalMs = 50): Promise<Value> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface SseMessage {
  id: number;
  data: any;
}

/** A minimal EventSource over fetch: `next()` resolves with each message; `close()` drops the connection. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<{ status: number; next(timeoutMs?: number): Promise<SseMessage | undefined>; close(): void }> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queue: SseMessage[] = [];
  let ended = false;
  const readMore = async (): Promise<void> => {
    if (!reader) {
      ended = true;
      return;
    }
    const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (chunk.done) {
      ended = true;
      return;
    }
    buffer += decoder.decode(chunk.value, { stream: true });
    let boundary = buffer.indexOf('\n\n');
    while (boundary >= 0) {
      const frame = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const fields = new Map<string, string>();
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) continue;
        const separator = line.indexOf(':');
        if (separator < 0) continue;
        fields.set(line.slice(0, separator), line.slice(separator + 1).trimStart());
      }
      if (fields.has('data')) queue.push({ id: Number(fields.get('id')), data: JSON.parse(fields.get('data')!) });
      boundary = buffer.indexOf('\n\n');
    }
  };
  return {
    status: response.status,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0 && !ended) {
        if (Date.now() > deadline) throw new Error('no SSE message in time');
        await readMore();
      }
      return queue.shift();
    },
    close() {
      controller.abort();
    },
  };
}
