/**
 * Where submit-to-start goes: a profiling aid beside bench:engine and bench:compare, not a
 * benchmark with a target. One task at a time is submitted to an idle worker, and its way to the
 * handler is cut at the points the engine exposes:
 *
 * - submit: `engine.submit` called to its commit (the `submitted` hook): one statement (task row,
 *   queue row, `task_queued` event, NOTIFY) and its WAL flush;
 * - wake-up: that commit to the `taskloom_ready` notification, heard on a connection of its own;
 * - claim: the notification to the worker's start of the task (the `started` hook): the delivery
 *   statement and its commit;
 * - handler: the start to the handler's first line.
 *
 * That is the path through the queue, measured with eager start off. With it on (the default),
 * a task submitted beside an idle worker of the same engine skips the wake-up and the claim: its
 * submit writes it leased to the worker, which starts it when the submit commits; `eager` is
 * that submit-to-handler time, measured the same way on a second engine.
 *
 * Beside them, the floors of this server measured in the same run (server-floors.ts): a round trip
 * (`SELECT 1`), a durable commit (a one-row INSERT in autocommit, which waits for its WAL flush)
 * and a new connection. A task starts after two durable commits (its submit is acknowledged only
 * once stored, and a claim is committed before its handler runs), so twice the commit floor is the
 * least submit-to-start can be here.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bench/profile-latency.ts
 *
 * Options: BENCH_SAMPLES (300); BENCH_PAUSE_MS (0), a pause after each sample: with none, as in
 * bench:engine and bench:compare, the previous task's outcome commits while the next is submitted,
 * and the two commits queue on the event-order lock (decision 0003). Prints the table on stderr and one JSON line last.
 */
import pg from 'pg';
import { z } from 'zod';
import { defineTask, Engine } from '../src/engine/index.ts';
import { readyChannel } from '../src/engine/ready-queue.ts';
import { createLogger } from '../src/logger.ts';
import { openBenchDatabase } from './support/bench-database.ts';
import { measurePostgresFloors } from './support/server-floors.ts';
import { log, percentile, round } from './support/statistics.ts';

const samples = Number(process.env.BENCH_SAMPLES ?? 300);
/** A pause between samples, so the previous task's outcome has committed before the next submit. */
const pauseMs = Number(process.env.BENCH_PAUSE_MS ?? 0);
const warmUp = 30;

let handlerStarted: (() => void) | undefined;
const probe = defineTask({
  type: 'bench_latency_probe',
  description: 'notes when its handler starts',
  queue: 'default',
  input: z.object({}),
  async run() {
    handlerStarted?.();
    return null;
  },
});

const figures = (values: number[]): { p50: number; p90: number; p99: number } => ({
  p50: round(percentile(values, 0.5)),
  p90: round(percentile(values, 0.9)),
  p99: round(percentile(values, 0.99)),
});

async function main(): Promise<void> {
  const database = await openBenchDatabase({ name: 'latency', poolSize: 20 });
  const listener = new pg.Client({ connectionString: database.url });
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: createLogger('warn'), taskTypes: [probe], maintenance: false, eagerStart: false });
  try {
    await listener.connect();
    const floors = await measurePostgresFloors(database.url, database.pool, samples);

    let notified: (() => void) | undefined;
    listener.on('notification', () => notified?.());
    await listener.query(`LISTEN ${readyChannel}`);
    let submitted: (() => void) | undefined;
    let started: (() => void) | undefined;
    engine.hooks.submitted.add(() => submitted?.());
    engine.hooks.started.add(() => started?.());
    const worker = await engine.startWorker({ concurrency: 8 });
    const parts = { submit: [] as number[], wake_up: [] as number[], claim: [] as number[], handler: [] as number[], total: [] as number[] };
    try {
      for (let index = 0; index < samples + warmUp; index += 1) {
        const at = { submitted: 0, notified: 0, started: 0, handler: 0 };
        const reached = (key: keyof typeof at) => new Promise<void>((resolve) => {
          const mark = (): void => {
            at[key] ||= performance.now();
            resolve();
          };
          if (key === 'submitted') submitted = mark;
          else if (key === 'notified') notified = mark;
          else if (key === 'started') started = mark;
          else handlerStarted = mark;
        });
        const all = Promise.all([reached('submitted'), reached('notified'), reached('started'), reached('handler')]);
        const begin = performance.now();
        await engine.submit({ taskType: probe.type, input: {} });
        await all;
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
        if (index < warmUp) continue;
        parts.submit.push(at.submitted - begin);
        // The notification can be read before the submit's own answer is processed.
        parts.wake_up.push(Math.max(0, at.notified - at.submitted));
        parts.claim.push(at.started - Math.max(at.notified, at.submitted));
        parts.handler.push(at.handler - at.started);
        parts.total.push(at.handler - begin);
      }
    } finally {
      await worker.stop();
    }

    const eager: number[] = [];
    const eagerEngine = await Engine.start({ url: database.url, pool: database.pool, logger: createLogger('warn'), taskTypes: [probe], maintenance: false });
    const eagerWorker = await eagerEngine.startWorker({ concurrency: 8 });
    try {
      for (let index = 0; index < samples + warmUp; index += 1) {
        const handler = new Promise<number>((resolve) => { handlerStarted = () => resolve(performance.now()); });
        const begin = performance.now();
        await eagerEngine.submit({ taskType: probe.type, input: {} });
        const at = await handler;
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
        if (index >= warmUp) eager.push(at - begin);
      }
    } finally {
      await eagerWorker.stop();
      await eagerEngine.stop();
    }

    const result = {
      samples,
      submit_to_start_ms: Object.fromEntries(Object.entries(parts).map(([name, values]) => [name, figures(values)])),
      eager_ms: figures(eager),
      floors_ms: { round_trip: figures(floors.roundTrip), durable_commit: figures(floors.durableCommit), connection: figures(floors.connection) },
    };
    log('submit-to-start, one task at a time to an idle worker (ms):');
    for (const [name, values] of Object.entries(parts)) {
      const { p50, p90, p99 } = figures(values);
      log(`  ${name.padEnd(8)} p50 ${p50}  p90 ${p90}  p99 ${p99}`);
    }
    log(`  eager    p50 ${result.eager_ms.p50}  p90 ${result.eager_ms.p90}  p99 ${result.eager_ms.p99}  (submit to handler, no claim)`);
    log(`floors: round trip p50 ${result.floors_ms.round_trip.p50} ms, durable commit p50 ${result.floors_ms.durable_commit.p50} ms, new connection p50 ${result.floors_ms.connection.p50} ms`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await listener.end().catch(() => {});
    await engine.stop();
    await database.drop();
  }
}

await main();
