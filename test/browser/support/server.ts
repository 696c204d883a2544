/**
 * A real `taskloom serve` for browser tests: its own fresh database, a free port, a known API
 * key, and the dashboard built first (scripts/build-web.js is a no-op when web/dist is fresh).
 *
 * `taskloom serve` registers the built-in task types only, so tests that need the fixture types
 * (the waits: `test_approval`, `test_fan_out`, ...) use `startServerWithTaskTypes`: the same API
 * app serving the same `web/dist`, with an engine and worker in this process that know them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startApiServer } from '../../../src/api/index.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import { loadConfig } from '../../../src/config.ts';
import { Engine, type AnyTaskDefinition } from '../../../src/engine/index.ts';
import { createLogger } from '../../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { killChildren, spawnNode, type Child } from '../../support/processes.ts';

export interface BrowserTestServer {
  url: string;
  apiKey: string;
  database: TestDatabase;
  /** fetch on the API with the key. */
  api<T = any>(pathname: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export interface TestServer extends BrowserTestServer {
  child: Child;
}

function apiClient(url: string, apiKey: string): BrowserTestServer['api'] {
  return async (pathname, init = {}) => {
    const response = await fetch(new URL(pathname, url), {
      method: init.method ?? 'GET',
      headers: { 'x-api-key': apiKey, accept: 'application/json', ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
}

export function buildDashboard(): void {
  execFileSync(process.execPath, ['scripts/build-web.js'], { stdio: 'inherit' });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startServer(env: NodeJS.ProcessEnv = {}): Promise<TestServer> {
  buildDashboard();
  const database = await createTestDatabase();
  const home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-browser-'));
  const apiKey = `browser-test-key-${Math.random().toString(36).slice(2, 12)}`;
  let child: Child | undefined;
  try {
    // PORT must be 1-65535 (config), so a free port is picked here rather than 0.
    const port = await freePort();
    child = spawnNode('bin/taskloom.js', ['serve'], {
      env: {
        DATABASE_URL: database.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        TASKLOOM_API_KEY: apiKey,
        TASKLOOM_HOME: home,
        TASKLOOM_POLL_INTERVAL_MS: '200',
        TASKLOOM_API_RATE_LIMIT: '100000',
        TASKLOOM_LLM_RPM: '100000',
        TASKLOOM_LLM_CONCURRENCY: '16',
        LOG_LEVEL: 'warn',
        ...env,
      },
    });
    await child.waitForLine('taskloom serving', 60_000);
    const url = /taskloom serving (http:\/\/\S+)/.exec(child.output())?.[1] ?? `http://127.0.0.1:${port}`;
    const started = child;
    return {
      url,
      apiKey,
      database,
      child: started,
      api: apiClient(url, apiKey),
      async stop() {
        started.process.kill('SIGTERM');
        const exited = await Promise.race([started.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 5000))]);
        if (!exited) await killChildren();
        await database.drop();
        await rm(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await killChildren();
    await database.drop();
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The API and the dashboard on a fresh database with `taskTypes` registered and a worker
 * running them, all in this process (the browser is the separate process). `prepare` runs on the
 * database before the worker starts (fixture tables).
 */
export async function startServerWithTaskTypes(taskTypes: AnyTaskDefinition[], prepare?: (database: TestDatabase) => Promise<void>): Promise<BrowserTestServer> {
  buildDashboard();
  const database = await createTestDatabase();
  const logger = createLogger(process.env.TASKLOOM_TEST_LOG ?? 'silent');
  let engine: Engine | undefined;
  try {
    await prepare?.(database);
    engine = await Engine.start({ url: database.url, pool: database.pool, logger, taskTypes, maintenance: false });
    await engine.startWorker({ concurrency: 8, pollIntervalMs: 200 });
    const config = loadConfig({ apiRateLimitPerMinute: 100_000 }, {});
    const server = await startApiServer({ engine, config, logger, pool: database.pool, host: '127.0.0.1', port: 0 });
    const { key } = await createApiKey(database.pool, { tenant: 'default' });
    const started = engine;
    return {
      url: server.url,
      apiKey: key,
      database,
      api: apiClient(server.url, key),
      async stop() {
        await server.close();
        await started.stop({ graceMs: 0 });
        await database.drop();
      },
    };
  } catch (error) {
    await engine?.stop({ graceMs: 0 }).catch(() => {});
    await database.drop();
    throw error;
  }
}
