/**
 * taskloom's engine beside BullMQ on Redis, on the same machine in one run, with the same task
 * count and concurrency. Prints progress lines, then one JSON line last with both engines'
 * figures and the ratios (taskloom / BullMQ), which move less between machines than absolutes.
 *
 * For each engine: submit-to-start latency of single no-op tasks submitted one at a time to an
 * idle worker (BENCH_LATENCY_SAMPLES, 300), and the drain rate of a backlog of BENCH_TASKS
 * (5,000) no-op tasks with BENCH_CONCURRENCY (8) slots. Then, for taskloom, the drain rate of a
 * backlog of BENCH_BACKLOG (50,000; 0 skips it) in the same database, relative to the first:
 * whether the table layout slows as it fills.
 *
 * Redis from REDIS_URL, else redis://127.0.0.1:6379; exits non-zero with a message when none
 * answers. PostgreSQL from DATABASE_URL's server when set, else an embedded one in a temporary
 * folder; a fresh database either way, dropped afterwards.
 */
import os from 'node:os';
import { Engine } from '../src/engine/index.ts';
import { createLogger } from '../src/logger.ts';
import { openBenchDatabase } from './support/bench-database.ts';
import { checkRedis, openBullmqBench } from './support/bullmq-drain.ts';
import { measureDrain, measureSubmitToStart, noopTask } from './support/engine-drain.ts';
import { log, round } from './support/statistics.ts';

const taskCount = Number(process.env.BENCH_TASKS ?? 5000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const latencySamples = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);
const backlogCount = Number(process.env.BENCH_BACKLOG ?? 50_000);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function main(): Promise<void> {
  try {
    await checkRedis(redisUrl);
  } catch (error) {
    log((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const loadBefore = os.loadavg();

  const bullmq = openBullmqBench(redisUrl);
  let bullmqLatency;
  let bullmqDrain;
  try {
    bullmqLatency = await bullmq.measureSubmitToStart({ samples: latencySamples, concurrency });
    log(`bullmq latency: p50 ${bullmqLatency.p50} ms, p99 ${bullmqLatency.p99} ms`);
    bullmqDrain = await bullmq.measureDrain({ tasks: taskCount, concurrency });
    log(`bullmq drain: ${taskCount} jobs in ${bullmqDrain.seconds} s (${bullmqDrain.tasksPerSecond}/s)`);
  } finally {
    await bullmq.close();
  }

  const database = await openBenchDatabase({ name: 'compare', poolSize: 20 });
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: createLogger('warn'), taskTypes: [noopTask], maintenance: false });
  let taskloomLatency;
  let taskloomDrain;
  let backlog;
  let server: string | undefined;
  try {
    server = (await database.pool.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    taskloomLatency = await measureSubmitToStart(engine, { samples: latencySamples, concurrency });
    log(`taskloom latency: p50 ${taskloomLatency.p50} ms, p99 ${taskloomLatency.p99} ms`);
    taskloomDrain = await measureDrain(engine, database.pool, { tasks: taskCount, concurrency });
    log(`taskloom drain: ${taskCount} tasks in ${taskloomDrain.seconds} s (${taskloomDrain.tasksPerSecond}/s)`);
    if (backlogCount > 0) {
      backlog = await measureDrain(engine, database.pool, { tasks: backlogCount, concurrency });
      log(`taskloom backlog drain: ${backlogCount} tasks in ${backlog.seconds} s (${backlog.tasksPerSecond}/s; queued at ${backlog.submitsPerSecond}/s)`);
    }
  } finally {
    await engine.stop({ graceMs: 100 });
    await database.drop();
  }

  const ratio = (value: number, base: number): number => Math.round((value / base) * 1000) / 1000;
  const figures = (latency: typeof taskloomLatency, drain: typeof taskloomDrain) => ({
    drain_tasks_per_s: drain.tasksPerSecond,
    latency_ms: { p50: latency.p50, p99: latency.p99 },
  });
  process.stdout.write(`${JSON.stringify({
    tasks: taskCount,
    concurrency,
    latency_samples: latencySamples,
    postgresql: `${process.env.DATABASE_URL ? 'server' : 'embedded'} ${server ?? '?'}`,
    load_average: { start: loadBefore.map(round), end: os.loadavg().map(round) },
    bullmq: figures(bullmqLatency, bullmqDrain),
    taskloom: {
      ...figures(taskloomLatency, taskloomDrain),
      ...(backlog ? { backlog: { tasks: backlogCount, drain_tasks_per_s: backlog.tasksPerSecond } } : {}),
    },
    ratios: {
      drain: ratio(taskloomDrain.tasksPerSecond, bullmqDrain.tasksPerSecond),
      latency_p50: ratio(taskloomLatency.p50, bullmqLatency.p50),
      latency_p99: ratio(taskloomLatency.p99, bullmqLatency.p99),
      ...(backlog ? { backlog_vs_base: ratio(backlog.tasksPerSecond, taskloomDrain.tasksPerSecond) } : {}),
    },
  })}\n`);
}

await main();
