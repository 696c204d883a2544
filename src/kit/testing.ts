/**
 * The test kit for pipeline authors: a throwaway database with every migration, an engine on
 * it, a wait for a task's status that listens to the engine's own event stream instead of
 * polling, and a way to move time forward for durable sleeps, wait timeouts and retries.
 *
 * Framework-agnostic (no test runner imported). The PostgreSQL used is TASKLOOM_TEST_DATABASE_URL
 * (set by the repository's vitest global setup) or DATABASE_URL; each database is created fresh
 * and dropped by `drop()`.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate, type MigrationSource } from '../db/migrate.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { Engine, failureHandlerPassed, type AnyTaskDefinition, type TaskRecord, type TaskStatus } from '../engine/index.ts';
import { readyChannel } from '../engine/ready-queue.ts';
import { sweepWaitpoints } from '../engine/waitpoints.ts';
import { createLogger, type Logger } from '../logger.ts';

export function testServerUrl(): string {
  const url = process.env.TASKLOOM_TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('No test PostgreSQL: set DATABASE_URL (or TASKLOOM_TEST_DATABASE_URL) to a server the tests may create databases on.');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  name: string;
  /** A pool on it (closed by drop()). */
  pool: Pool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A new database on the test server, migrated with `migrations` (pass the composition root's
 * `migrationSources` for every pipeline's tables) unless `migrate` is false.
 */
export async function createTestDatabase(options: { migrate?: boolean; migrations?: readonly MigrationSource[] } = {}): Promise<TestDatabase> {
  const name = `taskloom_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: testServerUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(testServerUrl(), name);
  const pool = createPool(url, { max: 10, applicationName: 'taskloom-test' });
  if (options.migrate !== false) await migrate(pool, options.migrations);
  return {
    url,
    name,
    pool,
    drop: async () => {
      await pool.end();
      const client = new pg.Client({ connectionString: testServerUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Silent unless TASKLOOM_TEST_LOG names a level. */
export const testLogger: Logger = createLogger(process.env.TASKLOOM_TEST_LOG ?? 'silent');

export interface TestEngineOptions {
  /** Fire cron schedules here. @default false */
  maintenance?: boolean;
  /** @default 10 */
  heartbeatSeconds?: number;
  cronIntervalSeconds?: number;
  /** Register cron schedules. @default false */
  schedules?: boolean;
  /** Start tasks submitted beside an idle worker of this engine without a claim. @default true */
  eagerStart?: boolean;
}

export async function startTestEngine(database: Pick<TestDatabase, 'url' | 'pool'>, taskTypes: AnyTaskDefinition[], options: TestEngineOptions = {}): Promise<Engine> {
  return Engine.start({
    url: database.url,
    pool: database.pool,
    logger: testLogger,
    taskTypes,
    maintenance: options.maintenance ?? false,
    schedules: options.schedules ?? false,
    heartbeatSeconds: options.heartbeatSeconds ?? 10,
    cronIntervalSeconds: options.cronIntervalSeconds,
    eagerStart: options.eagerStart,
  });
}

/**
 * Resolves when the task reaches one of `statuses`. Follows the task's durable event stream
 * (LISTEN/NOTIFY), re-reading the task at each event: no polling, no sleeping.
 */
export async function waitForTask(engine: Engine, taskId: string, statuses: TaskStatus[], timeoutMs = 20_000): Promise<TaskRecord> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`task ${taskId} did not reach ${statuses.join(' or ')} within ${timeoutMs} ms`)), timeoutMs);
  try {
    let task = await engine.getTask(taskId);
    if (statuses.includes(task.status)) return task;
    for await (const event of engine.subscribe({ taskId, afterId: 0, signal: controller.signal })) {
      if (!event.type.startsWith('task_')) continue;
      task = await engine.getTask(taskId);
      if (statuses.includes(task.status)) return task;
    }
    throw controller.signal.reason ?? new Error(`the event stream of task ${taskId} ended`);
  } catch (error) {
    if (controller.signal.aborted) {
      const last = await engine.getTask(taskId).catch(() => undefined);
      throw new Error(`${(controller.signal.reason as Error).message}; it is ${last?.status ?? 'unknown'}`, { cause: error });
    }
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/**
 * Resolves once the task has ended without success and its type's `onFailure` has run for it (at
 * once if it already has), heard from the engine's `failureHandled` hook; a worker of `engine`
 * runs the handler.
 */
export async function waitForFailureHandled(engine: Engine, taskId: string, timeoutMs = 20_000): Promise<void> {
  let hook: ((task: TaskRecord) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const heard = new Promise<void>((resolve, reject) => {
    hook = (task) => { if (task.id === taskId) resolve(); };
    engine.hooks.failureHandled.add(hook);
    timer = setTimeout(() => reject(new Error(`the failure handler of task ${taskId} did not run within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    // Listening first: a handler that runs between the check and the wait is still heard.
    if (await failureHandlerPassed(engine.pool, taskId)) return;
    await heard;
  } finally {
    clearTimeout(timer);
    engine.hooks.failureHandled.delete(hook!);
  }
}

/**
 * Moves time forward by `ms` for everything the engine schedules: pending waitpoint timeouts and
 * durable sleeps become due that much sooner, and so do delayed deliveries (retries, snoozes);
 * then the waitpoint sweep runs at once. The database clock itself is not touched.
 */
export async function advanceTime(engine: Engine, ms: number): Promise<void> {
  const interval = `${Math.round(ms)} milliseconds`;
  await engine.pool.query(`UPDATE waitpoints SET timeout_at = timeout_at - $1::interval WHERE status = 'pending' AND timeout_at IS NOT NULL`, [interval]);
  await engine.pool.query(`UPDATE task_queue SET run_at = run_at - $1::interval WHERE run_at > now()`, [interval]);
  await engine.pool.query(`UPDATE tasks SET next_attempt_at = next_attempt_at - $1::interval WHERE next_attempt_at IS NOT NULL`, [interval]);
  await sweepWaitpoints(engine);
  // Delayed deliveries that just came due: wake the workers instead of waiting for their poll.
  for (const queue of new Set(engine.registry.list().map((definition) => definition.queue))) {
    await engine.pool.query('SELECT pg_notify($1, $2)', [readyChannel, queue]);
  }
}
