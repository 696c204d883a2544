/**
 * Publishes events to Redis pub/sub on the seeds' channels: every event of an
 * `automated_gather_creation` task goes to `automated-gather:{projectId}` as JSON shaped like
 * the seed's messages (`{type, project_id, ...payload}`, plus tenant, task_id, event_id, created_at).
 *
 * Channels are per tenant (`tenantScoped`): the `default` tenant keeps the seed's channel, any
 * other tenant's is prefixed `tenant:{tenant}:`.
 *
 * It reads the event log through a durable consumer cursor, so exactly one process publishes
 * each event however many run, and events stored while Redis was down are published once it is
 * back (in order). Nothing here runs inside a task: a Redis outage never fails one.
 */
import { Redis } from 'ioredis';
import type { Pool } from '../db/pool.ts';
import { EventConsumer, type Engine, type TaskEvent } from '../engine/index.ts';
import type { Logger } from '../logger.ts';
import { taskloomMetrics } from '../metrics.ts';
import { PassRunner } from './pass-runner.ts';
import { tenantScoped } from './tenant-scope.ts';

/** Task type -> channel of one of its events (undefined: not published). */
export type ChannelMap = Record<string, (event: TaskEvent) => string | undefined>;

export const seedChannels: ChannelMap = {
  automated_gather_creation: (event) => (event.project_id ? `automated-gather:${event.project_id}` : undefined),
  // An evaluation is a task of its own (auto-triggered by a run, or asked for): its result, not
  // its lifecycle, belongs on the project's channel, where a client of the seed listens for it.
  evaluate_department: (event) => (event.type === 'department_evaluated' && event.project_id ? `automated-gather:${event.project_id}` : undefined),
};

/** The channel a tenant's event of seed channel `channel` is published on. */
export function tenantChannel(tenant: string, channel: string): string {
  return tenantScoped(tenant, channel);
}

export interface RedisEventSinkOptions {
  pool: Pool;
  logger: Logger;
  redisUrl: string;
  /** New events wake the sink at once instead of at the next poll. */
  engine?: Engine;
  /** @default seedChannels */
  channels?: ChannelMap;
  /** Poll interval when no event wakes the sink, and the retry interval while Redis is down. @default 1000 */
  pollIntervalMs?: number;
  /** Consumer cursor name (tests use their own). @default 'redis' */
  consumerName?: string;
  /**
   * How long a publish may wait for Redis's reply. A batch is published while its cursor row is
   * locked, so a Redis that accepts commands and never answers (blocked, or a half-open link)
   * would otherwise stop publishing in every process, and `stop()` with it. @default 5000
   */
  commandTimeoutMs?: number;
}

export function seedMessage(event: TaskEvent): Record<string, unknown> {
  return { ...event.payload, type: event.type, project_id: event.project_id, tenant: event.tenant, task_id: event.task_id, event_id: event.id, created_at: event.created_at };
}

export class RedisEventSink {
  readonly #options: RedisEventSinkOptions;
  readonly #redis: Redis;
  readonly #consumer: EventConsumer;
  readonly #channels: ChannelMap;
  readonly #runner: PassRunner;
  #lastWarning = 0;

  constructor(options: RedisEventSinkOptions) {
    this.#options = options;
    this.#channels = options.channels ?? seedChannels;
    // Fail fast while disconnected (no offline queue): the batch rolls back and is retried,
    // instead of piling commands up in memory.
    this.#redis = new Redis(options.redisUrl, {
      lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: options.commandTimeoutMs ?? 5000,
    });
    this.#redis.on('error', (error: Error) => this.#warn(error, 'redis connection error'));
    this.#runner = new PassRunner({ pass: () => this.#run(), intervalMs: options.pollIntervalMs ?? 1000, engine: options.engine });
    const types = Object.keys(this.#channels);
    this.#consumer = new EventConsumer({
      pool: options.pool,
      name: options.consumerName ?? 'redis',
      handle: async (events, transaction) => {
        const typed = await transaction.query<{ id: string; task_type: string }>(
          'SELECT id, task_type FROM tasks WHERE id = ANY($1::uuid[]) AND task_type = ANY($2::text[])',
          [[...new Set(events.map((event) => event.task_id))], types],
        );
        if (typed.rows.length === 0) return;
        const taskTypes = new Map(typed.rows.map((row) => [row.id, row.task_type]));
        const pipeline = this.#redis.pipeline();
        let count = 0;
        for (const event of events) {
          const taskType = taskTypes.get(event.task_id);
          const channel = taskType === undefined ? undefined : this.#channels[taskType]?.(event);
          if (!channel) continue;
          pipeline.publish(tenantChannel(event.tenant, channel), JSON.stringify(seedMessage(event)));
          count += 1;
        }
        if (count === 0) return;
        const results = await pipeline.exec();
        const failure = results?.find(([error]) => error)?.[0];
        if (failure) {
          taskloomMetrics().redisPublished.inc({ outcome: 'failed' }, count);
          throw failure;
        }
        taskloomMetrics().redisPublished.inc({ outcome: 'published' }, count);
      },
    });
  }

  async start(): Promise<void> {
    if (!this.#runner.stopped) return;
    // The cursor exists from now on, whether or not Redis is up: events stored before Redis is
    // reachable are published once it is.
    await this.#consumer.register();
    this.#redis.connect().catch((error: unknown) => this.#warn(error, 'redis connection failed; events are kept and published once it is reachable'));
    await this.#runner.start();
  }

  async stop(): Promise<void> {
    await this.#runner.stop();
    this.#redis.disconnect();
  }

  wake(): void {
    this.#runner.wake();
  }

  async #run(): Promise<void> {
    if (this.#redis.status !== 'ready') return;
    try {
      await this.#consumer.drain();
    } catch (error) {
      this.#warn(error, 'publishing events to redis failed; will retry');
    }
  }

  #warn(error: unknown, message: string): void {
    // One warning per 30 s while Redis stays down, not one per retry.
    if (Date.now() - this.#lastWarning < 30_000) return;
    this.#lastWarning = Date.now();
    this.#options.logger.warn({ err: error }, message);
  }
}
