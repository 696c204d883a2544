/**
 * Webhook delivery from the event log. Two steps, both safe to run in every process at once:
 *
 * 1. Discovery (an EventConsumer): for each new event of a task with a `callback_url`, make sure
 *    the task has a delivery cursor row and raise its `latest_event_id`.
 * 2. Delivery: lease due cursor rows (FOR UPDATE SKIP LOCKED, then a lease that outlives the
 *    transaction so no connection is held during HTTP), post the task's events after the cursor
 *    one at a time in id order, and move the cursor after each acknowledged one. A failure
 *    schedules the same event again with exponential backoff; after the last attempt the event
 *    is dropped (recorded) and the next one is sent, so a dead receiver still gets the terminal
 *    event once it recovers. Event ids in the body let a receiver spot a dropped one.
 *
 * Delivery is at-least-once: a process that dies after the POST but before moving the cursor
 * sends that event again once its lease expires. Receivers deduplicate on the event id.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from '../../db/pool.ts';
import { EventConsumer, readEvents, type Engine, type TaskEvent } from '../../engine/index.ts';
import type { Logger } from '../../logger.ts';
import { taskloomMetrics } from '../../metrics.ts';
import { PassRunner } from '../pass-runner.ts';
import { sendWebhook, type SendResult } from './sender.ts';
import type { TargetPolicy } from './target-policy.ts';
import { ensureTenant } from './tenant-secret.ts';

export interface WebhookDispatcherOptions {
  pool: Pool;
  logger: Logger;
  /** When given, new events wake the dispatcher at once instead of at the next poll. */
  engine?: Engine;
  policy: TargetPolicy;
  /** Time a receiver gets to answer. @default 10000 */
  timeoutMs?: number;
  /** Attempts per event before it is dropped. @default 8 */
  maxAttempts?: number;
  /** First retry delay, doubling per attempt. @default 1000 */
  retryBaseMs?: number;
  /** @default 300000 */
  retryMaxMs?: number;
  /** How often due retries are looked for when no event wakes the dispatcher. @default 1000 */
  pollIntervalMs?: number;
  /** Tasks delivered to at once by this process. @default 16 */
  concurrency?: number;
}

interface DeliveryRow {
  task_id: string;
  tenant: string;
  url: string;
  delivered_event_id: number;
  attempts: number;
}

/** Events read per round trip while a task's backlog is delivered. */
const eventsPerRead = 50;

export function webhookRetryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  // ±20 % jitter keeps receivers that failed together from being retried together.
  return Math.round(exponential * (0.8 + random() * 0.4));
}

export class WebhookDispatcher {
  readonly id = `webhooks:${randomUUID().slice(0, 8)}`;
  readonly #options: Required<Omit<WebhookDispatcherOptions, 'engine'>> & { engine?: Engine };
  readonly #discovery: EventConsumer;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #runner: PassRunner;

  constructor(options: WebhookDispatcherOptions) {
    this.#options = {
      timeoutMs: 10_000,
      maxAttempts: 8,
      retryBaseMs: 1000,
      retryMaxMs: 300_000,
      pollIntervalMs: 1000,
      concurrency: 16,
      ...options,
    };
    this.#discovery = new EventConsumer({
      pool: options.pool,
      name: 'webhooks',
      handle: async (events, transaction) => {
        const latest = new Map<string, number>();
        for (const event of events) latest.set(event.task_id, event.id);
        await transaction.query(
          `INSERT INTO webhook_deliveries (task_id, tenant, url, latest_event_id)
           SELECT t.id, t.tenant, t.callback_url, l.latest
           FROM unnest($1::uuid[], $2::bigint[]) AS l (task_id, latest)
           JOIN tasks t ON t.id = l.task_id AND t.callback_url IS NOT NULL
           ON CONFLICT (task_id) DO UPDATE SET latest_event_id = GREATEST(webhook_deliveries.latest_event_id, EXCLUDED.latest_event_id)`,
          [[...latest.keys()], [...latest.values()]],
        );
      },
    });
    this.#runner = new PassRunner({ pass: () => this.#tick(), intervalMs: this.#options.pollIntervalMs, engine: options.engine });
  }

  /** Lease: long enough for one POST plus the write after it; renewed after every event. */
  get #leaseMs(): number {
    return this.#options.timeoutMs * 2 + 5000;
  }

  async start(): Promise<void> {
    await this.#discovery.register();
    await this.#runner.start();
  }

  /** Stops polling and waits for deliveries in flight to finish (each is bounded by the timeout). */
  async stop(): Promise<void> {
    await this.#runner.stop();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Runs a pass soon (new events, or a delivery finished and freed a slot). */
  wake(): void {
    this.#runner.wake();
  }

  async #tick(): Promise<void> {
    try {
      await this.#discovery.drain();
      const free = this.#options.concurrency - this.#inFlight.size;
      if (free <= 0) return;
      const claimed = await this.#options.pool.query<DeliveryRow>(
        `UPDATE webhook_deliveries d SET leased_by = $1, lease_expires_at = now() + $2 * interval '1 millisecond'
         WHERE d.task_id IN (
           SELECT task_id FROM webhook_deliveries
           WHERE delivered_event_id < latest_event_id AND state = 'active' AND next_attempt_at <= now()
             AND (lease_expires_at IS NULL OR lease_expires_at < now())
             -- Not one this process is still sending: its lease can lapse while a POST and the
             -- writes around it wait, and a second delivery of the same task would send its
             -- events twice, out of order, under the same lease holder.
             AND NOT task_id = ANY($4::uuid[])
           ORDER BY next_attempt_at
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
         RETURNING d.task_id, d.tenant, d.url, d.delivered_event_id, d.attempts`,
        [this.id, this.#leaseMs, free, [...this.#inFlight.keys()]],
      );
      for (const row of claimed.rows) {
        const delivery = this.#deliver(row)
          .catch((error: unknown) => this.#options.logger.error({ err: error, taskId: row.task_id }, 'webhook delivery failed unexpectedly'))
          .finally(() => {
            this.#inFlight.delete(row.task_id);
            this.wake();
          });
        this.#inFlight.set(row.task_id, delivery);
      }
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'webhook dispatch pass failed; retrying at the next poll');
    }
  }

  /** Sends the task's pending events in order until caught up, a failure, or the lease is lost. */
  async #deliver(row: DeliveryRow): Promise<void> {
    const { pool } = this.#options;
    const metrics = taskloomMetrics();
    const { webhookSecret } = await ensureTenant(pool, row.tenant);
    let cursor = row.delivered_event_id;
    let attempts = row.attempts;
    for (;;) {
      if (this.#runner.stopped) return this.#release(row.task_id);
      const events = await readEvents(pool, { taskId: row.task_id, tenant: row.tenant, afterId: cursor, limit: eventsPerRead });
      if (events.length === 0) return this.#release(row.task_id);
      for (const event of events) {
        if (this.#runner.stopped) return this.#release(row.task_id);
        const attempt = attempts + 1;
        const result = await sendWebhook({ url: row.url, secret: webhookSecret, event, attempt, timeoutMs: this.#options.timeoutMs, policy: this.#options.policy });
        metrics.webhookDuration.observe(result.durationMs / 1000);
        if (result.outcome === 'delivered') {
          metrics.webhookDeliveries.inc({ outcome: 'delivered' });
          if (!(await this.#advance(row.task_id, event, attempt, result, 'delivered'))) return;
          cursor = event.id;
          attempts = 0;
          continue;
        }
        if (result.outcome === 'refused') {
          metrics.webhookDeliveries.inc({ outcome: 'refused' });
          this.#options.logger.warn({ taskId: row.task_id, url: row.url, reason: result.error }, 'webhook target refused; no further deliveries for this task');
          await pool.query(
            `WITH updated AS (
               UPDATE webhook_deliveries SET state = 'refused', last_error = $3, last_status = NULL, last_attempt_at = now(), leased_by = NULL, lease_expires_at = NULL
               WHERE task_id = $1 AND leased_by = $2 RETURNING task_id
             )
             INSERT INTO webhook_attempts (task_id, event_id, attempt, outcome, status_code, error, duration_ms)
             SELECT task_id, $4, $5, 'refused', NULL, $3, $6 FROM updated`,
            [row.task_id, this.id, result.error, event.id, attempt, result.durationMs],
          );
          return;
        }
        if (attempt >= this.#options.maxAttempts) {
          metrics.webhookDeliveries.inc({ outcome: 'dropped' });
          this.#options.logger.warn({ taskId: row.task_id, eventId: event.id, attempts: attempt, error: result.error }, 'webhook event dropped after its last attempt');
          if (!(await this.#advance(row.task_id, event, attempt, result, 'dropped'))) return;
          cursor = event.id;
          attempts = 0;
          continue;
        }
        metrics.webhookDeliveries.inc({ outcome: 'failed' });
        const delayMs = webhookRetryDelayMs(attempt, this.#options.retryBaseMs, this.#options.retryMaxMs);
        await pool.query(
          `WITH updated AS (
             UPDATE webhook_deliveries SET attempts = $3, next_attempt_at = now() + $4 * interval '1 millisecond', last_status = $5, last_error = $6,
               last_attempt_at = now(), leased_by = NULL, lease_expires_at = NULL
             WHERE task_id = $1 AND leased_by = $2 RETURNING task_id
           )
           INSERT INTO webhook_attempts (task_id, event_id, attempt, outcome, status_code, error, duration_ms)
           SELECT task_id, $7, $3, 'failed', $5, $6, $8 FROM updated`,
          [row.task_id, this.id, attempt, delayMs, result.statusCode, result.error, event.id, result.durationMs],
        );
        return;
      }
    }
  }

  /** Moves the cursor past `event` and renews the lease. False when the lease was lost. */
  async #advance(taskId: string, event: TaskEvent, attempt: number, result: SendResult, outcome: 'delivered' | 'dropped'): Promise<boolean> {
    const statusCode = 'statusCode' in result ? result.statusCode : null;
    const error = result.outcome === 'delivered' ? null : result.error;
    const updated = await this.#options.pool.query(
      `WITH updated AS (
         UPDATE webhook_deliveries SET delivered_event_id = GREATEST(delivered_event_id, $3), latest_event_id = GREATEST(latest_event_id, $3), attempts = 0,
           delivered_count = delivered_count + $4, dropped_count = dropped_count + (1 - $4), last_status = $5, last_error = $6,
           last_attempt_at = now(), next_attempt_at = now(), lease_expires_at = now() + $7 * interval '1 millisecond'
         WHERE task_id = $1 AND leased_by = $2 RETURNING task_id
       )
       INSERT INTO webhook_attempts (task_id, event_id, attempt, outcome, status_code, error, duration_ms)
       SELECT task_id, $3, $8, $9, $5, $6, $10 FROM updated RETURNING id`,
      [taskId, this.id, event.id, outcome === 'delivered' ? 1 : 0, statusCode, error, this.#leaseMs, attempt, outcome, result.durationMs],
    );
    return (updated.rowCount ?? 0) > 0;
  }

  async #release(taskId: string): Promise<void> {
    await this.#options.pool.query(
      'UPDATE webhook_deliveries SET leased_by = NULL, lease_expires_at = NULL WHERE task_id = $1 AND leased_by = $2',
      [taskId, this.id],
    );
  }
}
