/**
 * Engine benchmark. Prints progress lines, then one JSON line last:
 * {"latency_ms":{"p50","p99"},"drain_tasks_per_s","tasks","concurrency","step_overhead_ms","cancel_ms"}
 *
 * - latency: submit call to handler start, for single no-op tasks submitted one at a time
 * - drain: a backlog of N no-op tasks (task record, queue row and events each) run to completion
 * - step_overhead_ms: median cost of one checkpointed step with a small JSON result
 * - cancel_ms: p50 from the cancel call to the running handler's signal aborting
 *
 * Uses DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary folder; works
 * in a fresh database it drops afterwards. Options: BENCH_TASKS (5000), BENCH_CONCURRENCY (8).
 */
import { z } from 'zod';
import { defineTask, Engine } from '../src/engine/index.ts';
import { createLogger } from '../src/logger.ts';
import { openBenchDatabase } from './support/bench-database.ts';
import { measureDrain, measureSubmitToStart, noopTask } from './support/engine-drain.ts';
import { log, percentile, round } from './support/statistics.ts';

const taskCount = Number(process.env.BENCH_TASKS ?? 5000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const latencySamples = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);

const stepDurations: number[] = [];
const steps = defineTask({
  type: 'bench_steps',
  description: 'many small checkpointed steps',
  queue: 'default',
  input: z.object({ steps: z.number().int() }),
  async run(context) {
    for (let index = 0; index < context.input.steps; index += 1) {
      const before = performance.now();
      await context.step(`step-${index}`, async () => ({ index, note: 'small result' }));
      stepDurations.push(performance.now() - before);
    }
    return null;
  },
});
const abortedAt = new Map<string, number>();
const runningTasks = new Set<string>();
const runningWaiters = new Map<string, () => void>();
const cancellable = defineTask({
  type: 'bench_cancellable',
  description: 'waits for its signal',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    await new Promise<void>((resolve) => {
      context.signal.addEventListener('abort', () => {
        abortedAt.set(context.taskId, performance.now());
        resolve();
      }, { once: true });
      runningTasks.add(context.taskId);
      runningWaiters.get(context.taskId)?.();
    });
    return null;
  },
});

async function main(): Promise<void> {
  const database = await openBenchDatabase({ name: 'bench', poolSize: 20 });
  const { pool } = database;
  const engine = await Engine.start({ url: database.url, pool, logger: createLogger('warn'), taskTypes: [noopTask, steps, cancellable], maintenance: false });
  try {
    // Latency: one at a time, worker idle and waiting.
    const latency = await measureSubmitToStart(engine, { samples: latencySamples, concurrency });
    log(`latency: p50 ${latency.p50} ms, p99 ${latency.p99} ms over ${latency.samples} tasks`);
    const worker = await engine.startWorker({ concurrency });

    // Step overhead.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stepsTask = await engine.submit({ taskType: 'bench_steps', input: { steps: 300 } });
    while ((await engine.getTask(stepsTask.task.id)).status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 20));
    const stepOverhead = percentile(stepDurations, 0.5);
    log(`step overhead: median ${round(stepOverhead)} ms over ${stepDurations.length} steps`);

    // Cancel latency.
    const cancelLatencies: number[] = [];
    for (let index = 0; index < 30; index += 1) {
      const taskId = (await engine.submit({ taskType: 'bench_cancellable', input: {} })).task.id;
      // The handler may start before submit returns: waiting only for its call then would hang
      // until the hard timeout (as it did when the waiter was registered from a timer).
      if (!runningTasks.has(taskId)) await new Promise<void>((resolve) => runningWaiters.set(taskId, resolve));
      const before = performance.now();
      await engine.cancel(taskId);
      while (!abortedAt.has(taskId)) await new Promise((resolve) => setTimeout(resolve, 1));
      cancelLatencies.push(abortedAt.get(taskId)! - before);
    }
    log(`cancel: p50 ${round(percentile(cancelLatencies, 0.5))} ms`);
    await worker.stop();

    // Drain: build the backlog with no worker running, then time one worker emptying it.
    const drain = await measureDrain(engine, pool, { tasks: taskCount, concurrency });
    const eventsPerTask = await pool.query<{ count: number }>(`SELECT (count(*)::float / $1)::float AS count FROM task_events e JOIN tasks t ON t.id = e.task_id WHERE t.task_type = 'bench_noop'`, [taskCount + latencySamples + 20]);
    log(`drain: ${taskCount} tasks in ${drain.seconds} s with concurrency ${concurrency}; ${round(eventsPerTask.rows[0]!.count)} events stored per task`);

    process.stdout.write(`${JSON.stringify({
      latency_ms: { p50: latency.p50, p99: latency.p99 },
      drain_tasks_per_s: drain.tasksPerSecond,
      tasks: taskCount,
      concurrency,
      step_overhead_ms: round(stepOverhead),
      cancel_ms: round(percentile(cancelLatencies, 0.5)),
    })}\n`);
  } finally {
    await engine.stop({ graceMs: 100 });
    await database.drop();
  }
}

await main();
