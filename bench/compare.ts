/**
 * taskloom's engine beside BullMQ on Redis, on the same machine in one run, with the same task
 * count and concurrency. Prints progress lines, then one JSON line last with both engines'
 * figures and the ratios (taskloom / BullMQ), which move less between machines than absolutes.
 *
 * For each engine: submit-to-start latency of single no-op tasks submitted one at a time to an
 * idle worker (BENCH_LATENCY_SAMPLES, 300), and the drain rate of a backlog of BENCH_TASKS
 * (5,000) no-op tasks with BENCH_CONCURRENCY (8) slots, from starting the worker to the last
 * completion (`drain_tasks_per_s`, the figure the target is set on), with two parts of it beside:
 * the start-up to the first task's start and the rate after the first fifth completed; and the
 * CPU each drain cost per task, in this process (the engine's client) and in its server when that
 * runs on this machine (PostgreSQL's processes, Redis's; null otherwise). The engines take turns
 * for BENCH_ROUNDS (3) rounds and the medians are compared, so a burst of load on a shared
 * machine lands on both rather than on whichever ran at that moment; each round's figures are
 * printed too. Before the rounds, each engine drains BENCH_WARMUP_TASKS (5,000; 0 skips it) once,
 * unmeasured: a worker runs for hours, and Node compiles each engine's hot code as it goes. Left
 * cold, BullMQ's drains sped up by half over the first 10,000-15,000 jobs of a process (its client
 * does more work in JavaScript per job), taskloom's by less, so the first rounds compared a cold
 * BullMQ. Then, for taskloom, the drain rate of a backlog of BENCH_BACKLOG (50,000; 0 skips it)
 * in the same database, relative to its median drain: whether the table layout slows as it
 * fills.
 *
 * taskloom's latency is measured twice: as a process submitting beside its own worker sees it
 * (`latency_ms`: eager start, the submit commits the task leased to the idle worker), and through
 * the queue, as a submit from another process goes (`latency_queued_ms`: a second engine on the
 * same database with eager start off, so a claim follows the submit's commit).
 *
 * Before the rounds, each server's floors on this machine (server-floors.ts, `floors_ms` in the
 * JSON): PostgreSQL's round trip, durable commit and new connection, Redis's round trip. They are
 * what the engines' figures are made of, and what moves most between machines.
 *
 * The tasks of both engines return nothing, or with BENCH_RESULT_BYTES a generated article of
 * that size (`result_bytes` in the JSON), as the content pipelines' tasks do.
 *
 * Redis from REDIS_URL, else redis://127.0.0.1:6379; exits non-zero with a message when none
 * answers. PostgreSQL from DATABASE_URL's server when set, else an embedded one in a temporary
 * folder; a fresh database either way, dropped afterwards. Its tables are analyzed before each
 * taskloom drain (`measureDrain`), as autovacuum keeps a service's.
 */
import os from 'node:os';
import { Engine } from '../src/engine/index.ts';
import { createLogger } from '../src/logger.ts';
import { openBenchDatabase } from './support/bench-database.ts';
import { checkRedis, openBullmqBench } from './support/bullmq-drain.ts';
import { localPostgresPid } from './support/process-cpu.ts';
import { measurePostgresFloors, measureRedisRoundTrip } from './support/server-floors.ts';
import { measureDrain, measureSubmitToStart, noopTask } from './support/engine-drain.ts';
import { resultBytes } from './support/task-result.ts';
import { log, percentile, round, type DrainFigures, type LatencyFigures } from './support/statistics.ts';

const taskCount = Number(process.env.BENCH_TASKS ?? 5000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const latencySamples = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);
const backlogCount = Number(process.env.BENCH_BACKLOG ?? 50_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const warmUpTasks = Number(process.env.BENCH_WARMUP_TASKS ?? 5000);
/** Samples of each server floor (server-floors.ts); a tenth as many new connections. */
const floorSamples = 200;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Figures {
  drain_tasks_per_s: number;
  /** CPU per drained task, this process's (client) and the server's (null when it is not local). */
  drain_cpu_us_per_task: { client: number; server: number | null };
  /** The drain after its first fifth, and the worker's start-up to its first task (DrainTimeline). */
  drain_steady_tasks_per_s: number;
  drain_first_start_ms: number;
  latency_ms: { p50: number; p99: number };
}

const figuresOf = (latency: LatencyFigures, drain: DrainFigures): Figures => ({
  drain_tasks_per_s: drain.tasksPerSecond,
  drain_cpu_us_per_task: { client: drain.cpu.client_us, server: drain.cpu.server_us },
  drain_steady_tasks_per_s: drain.steadyTasksPerSecond,
  drain_first_start_ms: drain.firstStartMs,
  latency_ms: { p50: latency.p50, p99: latency.p99 },
});

/** Each figure's median over the rounds. */
function medians(all: Figures[]): Figures {
  const median = (pick: (figures: Figures) => number): number => percentile(all.map(pick), 0.5);
  return {
    drain_tasks_per_s: median((figures) => figures.drain_tasks_per_s),
    drain_cpu_us_per_task: {
      client: median((figures) => figures.drain_cpu_us_per_task.client),
      server: all.some((figures) => figures.drain_cpu_us_per_task.server === null) ? null : median((figures) => figures.drain_cpu_us_per_task.server!),
    },
    drain_steady_tasks_per_s: median((figures) => figures.drain_steady_tasks_per_s),
    drain_first_start_ms: median((figures) => figures.drain_first_start_ms),
    latency_ms: { p50: median((figures) => figures.latency_ms.p50), p99: median((figures) => figures.latency_ms.p99) },
  };
}

async function main(): Promise<void> {
  try {
    await checkRedis(redisUrl);
  } catch (error) {
    log((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const loadBefore = os.loadavg();

  const database = await openBenchDatabase({ name: 'compare', poolSize: 20 });
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: createLogger('warn'), taskTypes: [noopTask], maintenance: false });
  const queuedEngine = await Engine.start({ url: database.url, pool: database.pool, logger: createLogger('warn'), taskTypes: [noopTask], maintenance: false, schedules: false, eagerStart: false });
  const perRound: Array<{ load_average: number; bullmq: Figures; taskloom: Figures & { latency_queued_ms: { p50: number; p99: number } } }> = [];
  let backlog: DrainFigures | undefined;
  let server: string | undefined;
  let floors: { postgresql: Record<string, number>; redis: Record<string, number> } | undefined;
  try {
    server = (await database.pool.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    const postgresPid = await localPostgresPid(database.pool);
    if (warmUpTasks > 0) {
      const bullmq = openBullmqBench(redisUrl);
      try {
        await bullmq.measureDrain({ tasks: warmUpTasks, concurrency });
      } finally {
        await bullmq.close();
      }
      await measureDrain(engine, database.pool, { tasks: warmUpTasks, concurrency });
      log(`warm-up: each engine drained ${warmUpTasks} tasks, unmeasured`);
    }
    const postgresFloors = await measurePostgresFloors(database.url, database.pool, floorSamples);
    const redisRoundTrip = await measureRedisRoundTrip(redisUrl, floorSamples);
    const p50 = (values: number[]): number => round(percentile(values, 0.5));
    floors = {
      postgresql: { round_trip_p50: p50(postgresFloors.roundTrip), durable_commit_p50: p50(postgresFloors.durableCommit), connection_p50: p50(postgresFloors.connection) },
      redis: { round_trip_p50: p50(redisRoundTrip) },
    };
    log(`floors: PostgreSQL round trip ${floors.postgresql.round_trip_p50} ms, durable commit ${floors.postgresql.durable_commit_p50} ms, new connection ${floors.postgresql.connection_p50} ms; Redis round trip ${floors.redis.round_trip_p50} ms (p50s)`);
    for (let index = 1; index <= rounds; index += 1) {
      // BullMQ's queue is opened and closed within its turn: left open beside taskloom's turn it
      // slowed taskloom (submit-to-start p50 2.2 -> 3.7-8.7 ms in one process).
      const bullmq = openBullmqBench(redisUrl);
      let bullmqLatency: LatencyFigures;
      let bullmqDrain: DrainFigures;
      try {
        bullmqLatency = await bullmq.measureSubmitToStart({ samples: latencySamples, concurrency });
        bullmqDrain = await bullmq.measureDrain({ tasks: taskCount, concurrency });
      } finally {
        await bullmq.close();
      }
      const taskloomLatency = await measureSubmitToStart(engine, { samples: latencySamples, concurrency });
      const queuedLatency = await measureSubmitToStart(queuedEngine, { samples: latencySamples, concurrency });
      const taskloomDrain = await measureDrain(engine, database.pool, { tasks: taskCount, concurrency, serverPid: postgresPid });
      log(`round ${index}: bullmq p50 ${bullmqLatency.p50} ms, p99 ${bullmqLatency.p99} ms, drain ${bullmqDrain.tasksPerSecond}/s (steady ${bullmqDrain.steadyTasksPerSecond}/s, first start ${bullmqDrain.firstStartMs} ms, CPU per task ${bullmqDrain.cpu.client_us} + ${bullmqDrain.cpu.server_us ?? '?'} us); `
        + `taskloom p50 ${taskloomLatency.p50} ms, p99 ${taskloomLatency.p99} ms (through the queue ${queuedLatency.p50} / ${queuedLatency.p99} ms), drain ${taskloomDrain.tasksPerSecond}/s (steady ${taskloomDrain.steadyTasksPerSecond}/s, first start ${taskloomDrain.firstStartMs} ms, CPU per task ${taskloomDrain.cpu.client_us} + ${taskloomDrain.cpu.server_us ?? '?'} us)`);
      perRound.push({
        load_average: round(os.loadavg()[0]!),
        bullmq: figuresOf(bullmqLatency, bullmqDrain),
        taskloom: { ...figuresOf(taskloomLatency, taskloomDrain), latency_queued_ms: { p50: queuedLatency.p50, p99: queuedLatency.p99 } },
      });
    }
    if (backlogCount > 0) {
      backlog = await measureDrain(engine, database.pool, { tasks: backlogCount, concurrency });
      log(`taskloom backlog drain: ${backlogCount} tasks in ${backlog.seconds} s (${backlog.tasksPerSecond}/s; queued at ${backlog.submitsPerSecond}/s)`);
    }
  } finally {
    await queuedEngine.stop({ graceMs: 100 });
    await engine.stop({ graceMs: 100 });
    await database.drop();
  }

  const ratio = (value: number, base: number): number => Math.round((value / base) * 1000) / 1000;
  const bullmqFigures = medians(perRound.map((entry) => entry.bullmq));
  const taskloomFigures = medians(perRound.map((entry) => entry.taskloom));
  const queuedP50 = percentile(perRound.map((entry) => entry.taskloom.latency_queued_ms.p50), 0.5);
  const queuedP99 = percentile(perRound.map((entry) => entry.taskloom.latency_queued_ms.p99), 0.5);
  process.stdout.write(`${JSON.stringify({
    tasks: taskCount,
    concurrency,
    result_bytes: resultBytes,
    latency_samples: latencySamples,
    rounds,
    warm_up_tasks: warmUpTasks,
    postgresql: `${process.env.DATABASE_URL ? 'server' : 'embedded'} ${server ?? '?'}`,
    load_average: { start: loadBefore.map(round), end: os.loadavg().map(round) },
    floors_ms: floors,
    bullmq: bullmqFigures,
    taskloom: {
      ...taskloomFigures,
      latency_queued_ms: { p50: queuedP50, p99: queuedP99 },
      ...(backlog ? { backlog: { tasks: backlogCount, drain_tasks_per_s: backlog.tasksPerSecond } } : {}),
    },
    ratios: {
      drain: ratio(taskloomFigures.drain_tasks_per_s, bullmqFigures.drain_tasks_per_s),
      drain_steady: ratio(taskloomFigures.drain_steady_tasks_per_s, bullmqFigures.drain_steady_tasks_per_s),
      latency_p50: ratio(taskloomFigures.latency_ms.p50, bullmqFigures.latency_ms.p50),
      latency_p99: ratio(taskloomFigures.latency_ms.p99, bullmqFigures.latency_ms.p99),
      latency_queued_p50: ratio(queuedP50, bullmqFigures.latency_ms.p50),
      ...(backlog ? { backlog_vs_base: ratio(backlog.tasksPerSecond, taskloomFigures.drain_tasks_per_s) } : {}),
    },
    per_round: perRound,
  })}\n`);
}

await main();
