/**
 * The engine benchmark's two measurements run against BullMQ on Redis, the same way: submit-to-
 * start latency of single no-op jobs added one at a time to an idle worker, and the drain rate
 * of a backlog of no-op jobs added with no worker running. BullMQ keeps its defaults (completed
 * jobs are kept, as taskloom keeps its task records).
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { localRedisPid } from './process-cpu.ts';
import { DrainTimeline, latencyFigures, type DrainFigures, type LatencyFigures } from './statistics.ts';
import { taskResult } from './task-result.ts';

/** Redis at `url` answers PING, or this throws a message saying how to get one. */
export async function checkRedis(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The connection's own error (ECONNREFUSED) says more than the rejected connect ("closed").
  let connectionError: Error | undefined;
  client.on('error', (error: Error) => { connectionError ??= error; });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(`No Redis answers at ${url} (${(connectionError ?? (error as Error)).message}). bench:compare runs BullMQ on Redis: start one (for example \`redis-server --port 6379 --save ''\`) or set REDIS_URL.`, { cause: error });
  } finally {
    client.disconnect();
  }
}

/** The Redis server's pid when it runs on this machine, whose CPU a drain's figures include. */
async function redisServerPid(url: string): Promise<number | undefined> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    return await localRedisPid(await client.info('server'));
  } finally {
    client.disconnect();
  }
}

export interface BullmqBench {
  measureSubmitToStart(options: { samples: number; concurrency: number; warmUp?: number }): Promise<LatencyFigures>;
  measureDrain(options: { tasks: number; concurrency: number }): Promise<DrainFigures>;
  /** Removes the queue's keys and closes the connections. */
  close(): Promise<void>;
}

export function openBullmqBench(url: string): BullmqBench {
  const connection = { url, maxRetriesPerRequest: null };
  const name = `taskloom-compare-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection });
  const startedAt = new Map<string, number>();
  const startWaiters = new Map<string, () => void>();
  const startWorker = (concurrency: number): Worker => new Worker(name, async (job) => {
    startedAt.set(job.id!, performance.now());
    startWaiters.get(job.id!)?.();
    return taskResult;
  }, { connection, concurrency });

  return {
    async measureSubmitToStart(options) {
      const warmUp = options.warmUp ?? 20;
      const worker = startWorker(options.concurrency);
      await worker.waitUntilReady();
      const latencies: number[] = [];
      try {
        for (let index = 0; index < options.samples + warmUp; index += 1) {
          const begin = performance.now();
          const jobId = (await queue.add('noop', {})).id!;
          if (!startedAt.has(jobId)) {
            await new Promise<void>((resolve) => startWaiters.set(jobId, resolve));
            startWaiters.delete(jobId);
          }
          if (index >= warmUp) latencies.push(startedAt.get(jobId)! - begin);
        }
      } finally {
        await worker.close();
      }
      return latencyFigures(latencies);
    },

    async measureDrain(options) {
      const batch = 50;
      const submitStart = performance.now();
      for (let offset = 0; offset < options.tasks; offset += batch) {
        await Promise.all(Array.from({ length: Math.min(batch, options.tasks - offset) }, () => queue.add('noop', {})));
      }
      const submitSeconds = (performance.now() - submitStart) / 1000;
      const timeline = new DrainTimeline(options.tasks, await redisServerPid(url));
      await timeline.begin();
      let completed = 0;
      const worker = startWorker(options.concurrency);
      await new Promise<void>((resolve, reject) => {
        worker.once('active', () => timeline.started());
        worker.on('completed', () => {
          completed += 1;
          timeline.completed();
          if (completed >= options.tasks) resolve();
        });
        worker.on('failed', (job, error) => reject(new Error(`BullMQ job ${job?.id} failed during the drain: ${error.message}`)));
      });
      await timeline.end();
      await worker.close();
      const left = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      const remaining = Object.values(left).reduce((sum, count) => sum + count, 0);
      if (remaining !== 0) throw new Error(`${remaining} BullMQ jobs are not completed after the drain`);
      return timeline.figures(submitSeconds);
    },

    async close() {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    },
  };
}
