/**
 * Where the engine's time goes per task in a drain: a profiling aid for the claim and settle
 * paths (decision 0008), not a benchmark with a target. Prints tables on stderr and one JSON
 * line last.
 *
 * - Server side: pg_stat_statements on a throwaway embedded PostgreSQL started with it preloaded
 *   (the shared server is never restarted for it), reset just before the drain: calls, rows and
 *   execution time of each statement per drained task.
 * - Client side: every statement sent through `pg` during the drain, timed from send to result
 *   (round trip, queueing on the connection included), grouped by its first words.
 * - CPU: the Node process's user+system time and the PostgreSQL server processes' (from /proc,
 *   taken before the worker stops and its backends exit with their CPU time), per task.
 *
 * Run it under `node --cpu-prof` to see the Node side by function. Options: BENCH_TASKS (5000),
 * BENCH_CONCURRENCY (8).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { Engine } from '../src/engine/index.ts';
import { createLogger } from '../src/logger.ts';
import { openBenchDatabase } from './support/bench-database.ts';
import { measureDrain, noopTask } from './support/engine-drain.ts';
import { localPostgresPid } from './support/process-cpu.ts';
import { log, round } from './support/statistics.ts';

const taskCount = Number(process.env.BENCH_TASKS ?? 5000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);

/** Statement text reduced to a label: whitespace collapsed, first 90 characters. */
const label = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 90);

/** Client-side timings, keyed by label; only recorded while `recording` is set. */
const clientTimings = new Map<string, { calls: number; milliseconds: number }>();
let recording = false;
const originalQuery = pg.Client.prototype.query as (...parameters: unknown[]) => unknown;
pg.Client.prototype.query = function timedQuery(this: pg.Client, ...parameters: unknown[]): unknown {
  const first = parameters[0];
  const text = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text;
  if (!recording || !text) return originalQuery.apply(this, parameters);
  const began = performance.now();
  const key = label(text);
  const note = (): void => {
    const entry = clientTimings.get(key) ?? { calls: 0, milliseconds: 0 };
    entry.calls += 1;
    entry.milliseconds += performance.now() - began;
    clientTimings.set(key, entry);
  };
  // pg-pool's query passes a callback (and gets no promise back); a client's own query does not.
  const callbackAt = parameters.findIndex((parameter) => typeof parameter === 'function');
  if (callbackAt >= 0) {
    const callback = parameters[callbackAt] as (...results: unknown[]) => unknown;
    parameters[callbackAt] = (...results: unknown[]): unknown => {
      note();
      return callback(...results);
    };
  }
  const result = originalQuery.apply(this, parameters);
  if (callbackAt < 0 && result instanceof Promise) void result.then(note, () => {});
  return result;
} as typeof pg.Client.prototype.query;

async function main(): Promise<void> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-profile-'));
  const port = 56_000 + Math.floor(Math.random() * 4000);
  let server = await ensureEmbeddedPostgres({ homePath: home, port });
  try {
    // pg_stat_statements must be preloaded: set it, restart this throwaway server once.
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
    // Planning too: a prepared statement whose custom plan keeps beating the generic one is
    // planned again at every execution, and that time is not in total_exec_time.
    await admin.query(`ALTER SYSTEM SET pg_stat_statements.track_planning = on`);
    await admin.end();
    await server.stop();
    server = await ensureEmbeddedPostgres({ homePath: home, port });
    process.env.DATABASE_URL = server.url;
    const database = await openBenchDatabase({ name: 'profile', poolSize: 20 });
    const engine = await Engine.start({ url: database.url, pool: database.pool, logger: createLogger('warn'), taskTypes: [noopTask], maintenance: false });
    try {
      await database.pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      // Warm up (plans, connections), then the measured drain. Its CPU figures are taken before
      // its worker stops: a backend that has exited is gone from /proc with its CPU time.
      await measureDrain(engine, database.pool, { tasks: 500, concurrency });
      const drain = await measureDrain(engine, database.pool, {
        tasks: taskCount,
        concurrency,
        serverPid: await localPostgresPid(database.pool),
        beforeDrain: async () => {
          await database.pool.query('SELECT pg_stat_statements_reset()');
          recording = true;
        },
      });
      recording = false;
      const statements = await database.pool.query<{ query: string; calls: string; rows: string; total: number; plans: string; planning: number }>(
        `SELECT query, calls, rows, total_exec_time AS total, plans, total_plan_time AS planning FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 25`,
      );
            log(`\nserver: pg_stat_statements over the drain of ${taskCount} tasks (ms per task, calls per task)`);
      for (const row of statements.rows) log(`${(row.total / taskCount).toFixed(4).padStart(8)} ms ${(Number(row.calls) / taskCount).toFixed(3).padStart(7)} calls  planning ${(row.planning / taskCount).toFixed(4).padStart(7)} ms in ${row.plans} plans  ${label(row.query)}`);
      const client = [...clientTimings.entries()].sort((left, right) => right[1].milliseconds - left[1].milliseconds).slice(0, 25);
      log(`\nclient: round trips over the drain (ms per task, calls per task)`);
      for (const [key, entry] of client) log(`${(entry.milliseconds / taskCount).toFixed(4).padStart(8)} ms ${(entry.calls / taskCount).toFixed(3).padStart(7)} calls  ${key}`);
      // Backends report table statistics within about a second of their last transaction.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const tables = await database.pool.query<{ name: string; updates: number; hot_updates: number; dead: number; live: number }>(
        `SELECT schemaname || '.' || relname AS name, n_tup_upd AS updates, n_tup_hot_upd AS hot_updates, n_dead_tup AS dead, n_live_tup AS live
         FROM pg_stat_user_tables WHERE relname IN ('tasks', 'task_events', 'task_queue', 'task_leases') ORDER BY name`,
      );
      log(`\ntables since start (submits, warm-up and drain): updates, of which HOT, dead and live tuples`);
      for (const row of tables.rows) log(`${row.name.padEnd(20)} ${String(row.updates).padStart(7)} updates ${String(row.hot_updates).padStart(7)} HOT ${String(row.dead).padStart(7)} dead ${String(row.live).padStart(7)} live`);
      log(`\ndrain: ${drain.tasksPerSecond} tasks/s; wall ${round((drain.seconds * 1000) / taskCount)} ms per task`);
      log(`CPU over the drain: node ${drain.cpu.client_us} us per task, postgresql ${drain.cpu.server_us ?? '?'} us per task`);
      process.stdout.write(`${JSON.stringify({
        tasks: taskCount,
        concurrency,
        drain_tasks_per_s: drain.tasksPerSecond,
        cpu_us_per_task: { node: drain.cpu.client_us, postgresql: drain.cpu.server_us },
        tables: tables.rows.map((row) => ({ name: row.name, updates: Number(row.updates), hot_updates: Number(row.hot_updates), dead: Number(row.dead) })),
        top_statements: statements.rows.slice(0, 10).map((row) => ({ query: label(row.query), calls_per_task: round(Number(row.calls) / taskCount), ms_per_task: Math.round((row.total / taskCount) * 10_000) / 10_000, planning_ms_per_task: Math.round((row.planning / taskCount) * 10_000) / 10_000, plans: Number(row.plans) })),
      })}\n`);
    } finally {
      await engine.stop({ graceMs: 100 });
      await database.drop();
    }
  } finally {
    await server.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
