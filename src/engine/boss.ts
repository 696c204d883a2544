/**
 * pg-boss, kept for one job only: the cron scheduler (decision 0008). Its timekeeper sends one
 * job per cron slot however many processes run it; that job carries the schedule, and the
 * engine turns it into a task (schedules.ts). Delivery of tasks is the engine's own
 * (ready-queue.ts), so pg-boss runs only in processes that keep schedules: those with
 * maintenance on, or registering schedules. It is imported when one starts, not with the engine:
 * with its date libraries (cron-parser, luxon, rrule-temporal) it is about fifty modules that a
 * CLI read, a submit or a worker without maintenance would load for nothing.
 */
import type { PgBoss } from 'pg-boss';
import { isDatabaseConnectionError } from '../db/connection-errors.ts';
import type { Logger } from '../logger.ts';

export type Boss = PgBoss;

export const bossSchema = 'pgboss';

export interface BossOptions {
  url: string;
  logger: Logger;
  /** Run the cron timekeeper (and pg-boss's own upkeep) in this process. */
  schedule: boolean;
  /** How often due cron slots are sent, seconds (1-45). @default 5 */
  cronIntervalSeconds?: number;
  /** Queues to create: the one schedule slots are sent to. */
  queues: string[];
}

export async function startBoss(options: BossOptions): Promise<PgBoss> {
  const { PgBoss } = await import('pg-boss');
  const boss = new PgBoss({
    connectionString: options.url,
    schema: bossSchema,
    max: 2,
    application_name: 'taskloom-boss',
    supervise: options.schedule,
    schedule: options.schedule,
    ...(options.cronIntervalSeconds === undefined ? {} : { cronWorkerIntervalSeconds: options.cronIntervalSeconds, cronMonitorIntervalSeconds: options.cronIntervalSeconds }),
    useListenNotify: false,
  });
  // pg-boss reports a lost connection (its pool's, or a failed maintenance query) here; it
  // reconnects by itself. Such errors carry the pg client object, so only what says what went
  // wrong is logged, and an outage is a warning, not a bug.
  boss.on('error', (error: unknown) => {
    const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
    if (isDatabaseConnectionError(error)) options.logger.warn({ err: { message, code } }, 'pg-boss lost its database connection; it reconnects');
    else options.logger.error({ err: error }, 'pg-boss error');
  });
  boss.on('warning', (warning: unknown) => options.logger.warn({ warning }, 'pg-boss warning'));
  await boss.start();
  for (const name of options.queues) {
    if (await boss.getQueue(name)) continue;
    await boss.createQueue(name, { retryLimit: 5, retryDelay: 5, deleteAfterSeconds: 24 * 3600 }).catch(async (error: unknown) => {
      // Another process created it between our check and our create.
      if (!(await boss.getQueue(name))) throw error;
    });
  }
  return boss;
}
