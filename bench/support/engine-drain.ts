/**
 * The two engine measurements `bench:engine` and `bench:compare` share, on a running Engine:
 * submit-to-start latency of single no-op tasks submitted one at a time to an idle worker, and
 * the drain rate of a backlog of no-op tasks built with no worker running.
 */
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import type { Pool } from '../../src/db/pool.ts';
import { DrainTimeline, latencyFigures, type DrainFigures, type LatencyFigures } from './statistics.ts';
import { taskResult } from './task-result.ts';

export type { DrainFigures, LatencyFigures } from './statistics.ts';

const startedAt = new Map<string, number>();
const startWaiters = new Map<string, () => void>();

/** A task that only notes when it started, and returns `taskResult` (nothing unless BENCH_RESULT_BYTES is set). */
export const noopTask = defineTask({
  type: 'bench_noop',
  description: 'does nothing',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    startedAt.set(context.taskId, performance.now());
    startWaiters.get(context.taskId)?.();
    return taskResult;
  },
});

/**
 * Submit call to handler start, one task at a time with the worker idle; the first `warmUp`
 * samples are dropped. Starts and stops its own worker.
 */
export async function measureSubmitToStart(engine: Engine, options: { samples: number; concurrency: number; warmUp?: number }): Promise<LatencyFigures> {
  const warmUp = options.warmUp ?? 20;
  const worker = await engine.startWorker({ concurrency: options.concurrency });
  const latencies: number[] = [];
  try {
    for (let index = 0; index < options.samples + warmUp; index += 1) {
      const begin = performance.now();
      const taskId = (await engine.submit({ taskType: noopTask.type, input: {} })).task.id;
      // The handler may start before submit returns; otherwise wait for it to say so.
      if (!startedAt.has(taskId)) {
        await new Promise<void>((resolve) => startWaiters.set(taskId, resolve));
        startWaiters.delete(taskId);
      }
      if (index >= warmUp) latencies.push(startedAt.get(taskId)! - begin);
    }
  } finally {
    await worker.stop();
  }
  return latencyFigures(latencies);
}

/**
 * Queues `tasks` no-op tasks with no worker running, then times one worker of `concurrency`
 * slots emptying the queue, and checks afterwards that every one of them completed.
 */
export async function measureDrain(engine: Engine, pool: Pool, options: {
  tasks: number;
  concurrency: number;
  /** Runs once the backlog is queued, just before the worker starts (a profiler resets here). */
  beforeDrain?: () => Promise<void>;
  /** The PostgreSQL server's postmaster, when it runs on this machine: its CPU is measured too. */
  serverPid?: number;
}): Promise<DrainFigures> {
  const batch = 50;
  const ids: string[] = [];
  const submitStart = performance.now();
  for (let offset = 0; offset < options.tasks; offset += batch) {
    const submitted = await Promise.all(Array.from({ length: Math.min(batch, options.tasks - offset) }, () => engine.submit({ taskType: noopTask.type, input: {} })));
    for (const result of submitted) ids.push(result.task.id);
  }
  const submitSeconds = (performance.now() - submitStart) / 1000;
  // Statistics as autovacuum keeps them in a service that has run a while. A bench database is
  // new and never analyzed, and its plans were not production's: with real statistics the
  // delivery statement once read all of `tasks` per claim, which no benchmark here showed.
  await pool.query('ANALYZE tasks; ANALYZE task_queue; ANALYZE task_leases; ANALYZE task_events');
  await options.beforeDrain?.();
  // Completion is heard from the engine's settled hook (called after each settle commits), not
  // by polling a count over the tasks table, which on two cores took CPU from the drain.
  const waiting = new Set(ids);
  const timeline = new DrainTimeline(options.tasks, options.serverPid);
  let hook: ((settlements: Parameters<Parameters<typeof engine.hooks.settled.add>[0]>[0]) => void) | undefined;
  const allSettled = new Promise<void>((resolve) => {
    hook = (settlements) => {
      const before = waiting.size;
      for (const settlement of settlements) if (settlement.outcome.kind === 'completed') waiting.delete(settlement.task.id);
      timeline.completed(before - waiting.size);
      if (waiting.size === 0) resolve();
    };
    engine.hooks.settled.add(hook);
  });
  const started = (): void => timeline.started();
  engine.hooks.started.add(started);
  await timeline.begin();
  const worker = await engine.startWorker({ concurrency: options.concurrency });
  await allSettled;
  await timeline.end();
  engine.hooks.settled.delete(hook!);
  engine.hooks.started.delete(started);
  await worker.stop();
  const left = await pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM tasks WHERE id = ANY($1::uuid[]) AND status <> 'completed'`, [ids]);
  if (left.rows[0]!.count !== 0) throw new Error(`${left.rows[0]!.count} of the drained tasks are not completed after the drain`);
  return timeline.figures(submitSeconds);
}
