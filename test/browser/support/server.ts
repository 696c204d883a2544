/**
 * A real `taskloom serve` for browser tests: its own fresh database, a free port, a known API
 * key, and the dashboard built first (scripts/build-web.js is a no-op when web/dist is fresh).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { killChildren, spawnNode, type Child } from '../../support/processes.ts';

export interface TestServer {
  url: string;
  apiKey: string;
  database: TestDatabase;
  child: Child;
  /** fetch on the API with the key. */
  api<T = any>(pathname: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
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
      async api(pathname, init = {}) {
        const response = await fetch(new URL(pathname, url), {
          method: init.method ?? 'GET',
          headers: { 'x-api-key': apiKey, accept: 'application/json', ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
        });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : undefined };
      },
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
