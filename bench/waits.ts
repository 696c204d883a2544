/**
 * Waits benchmark. Prints progress lines, then one JSON line last:
 * {"resume_ms":{"p50","p99"},"fanout_100_ms","drain_tasks_per_s":{"none_waiting","with_1000_waiting"},"drain_ratio",...}
 *
 * - resume_ms: from the waitpoint completion call to the parked handler running again
 *   (targets: p50 <= 50 ms, p99 <= 200 ms)
 * - fanout_100_ms: a parent submits 100 no-op children and resumes with their results (target <= 1 s)
 * - drain: a backlog of ordinary no-op tasks run to completion with none waiting, then with 1,000
 *   tasks parked on waitpoints, then again with none (they are cancelled); the ratio compares the
 *   middle drain with the mean of the other two (target: within 10 %)
 *
 * Uses DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary folder; works
 * in a fresh database it drops afterwards. Options: BENCH_TASKS (3000), BENCH_CONCURRENCY (8),
 * BENCH_RESUME_SAMPLES (200), BENCH_WAITING (1000).
 */
import { z } from 'zod';
import { defineTask, Engine } from '../src/engine/index.ts';
import { createLogger } from '../src/logger.ts';
import { openBenchDatabase } from './support/bench-database.ts';
import { log, percentile, round } from './support/statistics.ts';

const taskCount = Number(process.env.BENCH_TASKS ?? 3000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const resumeSamples = Number(process.env.BENCH_RESUME_SAMPLES ?? 200);
const waitingCount = Number(process.env.BENCH_WAITING ?? 1000);

/**
 * Handlers report here; the benchmark waits on these instead of polling the database. A signal
 * may come before anyone waits for it (a task started eagerly starts before its submit returns),
 * so one nobody waited for yet is kept until someone does.
 */
const waiters = new Map<string, () => void>();
const fired = new Set<string>();
const signal = (key: string): void => {
  const waiter = waiters.get(key);
  if (waiter) waiter();
  else fired.add(key);
};
const when = (key: string): Promise<void> => new Promise((resolve) => {
  if (fired.delete(key)) return resolve();
  waiters.set(key, () => {
    waiters.delete(key);
    resolve();
  });
});

const resumedAt = new Map<string, number>();
const approval = defineTask({
  type: 'bench_approval',
  description: 'parks on a waitpoint, records when it resumes',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    signal(`started:${context.taskId}`);
    const outcome = await context.waitFor('go');
    resumedAt.set(context.taskId, performance.now());
    signal(`resumed:${context.taskId}`);
    return outcome.status;
  },
});
const noop = defineTask({ type: 'bench_noop', description: 'does nothing', queue: 'default', input: z.object({}), async run() { return null; } });
const fanOut = defineTask({
  type: 'bench_fan_out',
  description: 'submits children and waits for them',
  queue: 'default',
  input: z.object({ count: z.number().int() }),
  async run(context) {
    const outcomes = await context.submitAndWait('children', Array.from({ length: context.input.count }, () => ({ taskType: 'bench_noop', input: {} })));
    signal(`fanned:${context.taskId}`);
    return outcomes.filter((outcome) => outcome.status === 'completed').length;
  },
});

async function drain(engine: Engine, label: string): Promise<number> {
  // Build the backlog with no worker running (a stopped worker stays in engine.workers; stop is idempotent).
  for (const worker of engine.workers) await worker.stop();
  for (let offset = 0; offset < taskCount; offset += 100) {
    await Promise.all(Array.from({ length: Math.min(100, taskCount - offset) }, () => engine.submit({ taskType: 'bench_noop', input: {} })));
  }
  let settled = 0;
  const done = new Promise<void>((resolve) => {
    const hook = (settlements: Parameters<Parameters<typeof engine.hooks.settled.add>[0]>[0]): void => {
      settled += settlements.filter((settlement) => settlement.task.task_type === 'bench_noop').length;
      if (settled >= taskCount) {
        engine.hooks.settled.delete(hook);
        resolve();
      }
    };
    engine.hooks.settled.add(hook);
  });
  const started = performance.now();
  await engine.startWorker({ concurrency });
  await done;
  const rate = taskCount / ((performance.now() - started) / 1000);
  log(`drain (${label}): ${Math.round(rate)} tasks/s`);
  return rate;
}

async function main(): Promise<void> {
  const database = await openBenchDatabase({ name: 'bench-waits', poolSize: 20 });
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: createLogger('warn'), taskTypes: [approval, noop, fanOut], maintenance: false });
  try {
    await engine.startWorker({ concurrency });

    // Resume latency: park one task, complete its waitpoint, time until its handler runs again.
    const resumes: number[] = [];
    for (let index = 0; index < resumeSamples + 10; index += 1) {
      const { task } = await engine.submit({ taskType: 'bench_approval', input: {} });
      // Parked once its waitpoint is listed and its status is `waiting` (the settle committed).
      await when(`started:${task.id}`);
      let waitpointId: string | undefined;
      while (!waitpointId) {
        const current = await engine.getTask(task.id);
        if (current.status === 'waiting') waitpointId = (await engine.listWaitpoints({ tenant: 'default', taskId: task.id }))[0]?.id;
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const resumed = when(`resumed:${task.id}`);
      const before = performance.now();
      await engine.completeWaitpoint({ id: waitpointId, tenant: 'default', payload: null, completedBy: 'bench' });
      await resumed;
      if (index >= 10) resumes.push(resumedAt.get(task.id)! - before);
    }
    log(`resume: p50 ${round(percentile(resumes, 0.5))} ms, p99 ${round(percentile(resumes, 0.99))} ms over ${resumes.length}`);

    // Fan-out of 100 children with fan-in.
    const fanouts: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      const before = performance.now();
      const { task } = await engine.submit({ taskType: 'bench_fan_out', input: { count: 100 } });
      await when(`fanned:${task.id}`);
      fanouts.push(performance.now() - before);
    }
    log(`fan-out of 100: median ${round(percentile(fanouts, 0.5))} ms`);

    const baseline = await drain(engine, 'none waiting');
    const parked = await Promise.all(Array.from({ length: waitingCount }, () => engine.submit({ taskType: 'bench_approval', input: {} })));
    for (;;) {
      const waiting = await database.pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM tasks WHERE status = 'waiting'`);
      if (waiting.rows[0]!.count >= waitingCount) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    log(`${parked.length} tasks waiting`);
    const withWaiting = await drain(engine, `${waitingCount} waiting`);
    // Tables only grow during the run (dead tuples of every drained task), so a later drain is
    // slower for that alone: compare with a drain after the waiting tasks are gone, too.
    for (const { task } of parked) await engine.cancel(task.id);
    const after = await drain(engine, 'none waiting, after');

    process.stdout.write(`${JSON.stringify({
      resume_ms: { p50: round(percentile(resumes, 0.5)), p99: round(percentile(resumes, 0.99)) },
      fanout_100_ms: round(percentile(fanouts, 0.5)),
      drain_tasks_per_s: { none_waiting: Math.round(baseline), with_waiting: Math.round(withWaiting), none_waiting_after: Math.round(after) },
      // With waiting tasks against the mean of the drains before and after it.
      drain_ratio: round(withWaiting / ((baseline + after) / 2)),
      waiting: waitingCount,
      tasks: taskCount,
      concurrency,
    })}\n`);
  } finally {
    await engine.stop({ graceMs: 100 });
    await database.drop();
  }
}

await main();
