/**
 * pg-boss, the delivery layer. A pg-boss job is a delivery token for one attempt of a task: the
 * `tasks` row is the record users see, and the engine settles the job in the same transaction
 * that moves the task, so the two never disagree after a commit.
 *
 * pg-boss's own retry is kept for one case only: a worker that dies mid-task stops sending
 * heartbeats, the supervisor fails the job, and it is delivered again at once to resume the task.
 * Retries after a task's own failure are new jobs with the engine's backoff, so the task's
 * attempts count is exact and a graceful shutdown can hand a task back without spending one.
 */
import { PgBoss } from 'pg-boss';
import { isDatabaseConnectionError } from '../db/connection-errors.ts';
import type { Queryable } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { queueNames, queuePolicy } from './queues.ts';

export type Boss = PgBoss;

/** pg-boss statements run on the caller's transaction through this adapter. */
/** The adapter shape pg-boss accepts as `db` (its IDatabase). */
export interface BossDatabase {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

export function bossDatabase(transaction: Queryable): BossDatabase {
  return { executeSql: (text, values) => transaction.query(text, values) };
}

export const bossSchema = 'pgboss';

/** Crash redeliveries allowed per job before pg-boss gives up on it (attempts are capped by the engine). */
const crashRedeliveries = 50;

export interface BossOptions {
  url: string;
  heartbeatSeconds: number;
  superviseIntervalSeconds: number;
  logger: Logger;
  /** Run maintenance (abandoned-job detection, retention) in this process. @default true */
  supervise?: boolean;
  /** Run the cron scheduler in this process. @default true */
  schedule?: boolean;
  /** How often due cron slots are sent, seconds (1-45). @default 5 */
  cronIntervalSeconds?: number;
}

export async function startBoss(options: BossOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: options.url,
    schema: bossSchema,
    max: 4,
    application_name: 'taskloom-boss',
    supervise: options.supervise ?? true,
    schedule: options.schedule ?? true,
    superviseIntervalSeconds: options.superviseIntervalSeconds,
    // A supervision pass only looks at queues whose monitor time is older than this, so it must
    // match the supervise interval or abandoned tasks wait up to a minute to be noticed.
    monitorIntervalSeconds: options.superviseIntervalSeconds,
    ...(options.cronIntervalSeconds === undefined ? {} : { cronWorkerIntervalSeconds: options.cronIntervalSeconds, cronMonitorIntervalSeconds: options.cronIntervalSeconds }),
    // Workers fetch in their own loop (engine/worker.ts) and are woken by the queue NOTIFY that
    // pg-boss sends on insert; that listener lives in engine/listener.ts with the others.
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
  // Every queue this process knows: the built-in ones and those its pipelines declared.
  for (const name of queueNames()) {
    const policy = queuePolicy(name);
    const settings = {
      notify: true,
      retryLimit: crashRedeliveries,
      retryDelay: 0,
      heartbeatSeconds: options.heartbeatSeconds,
      // Backstop only: the worker stops an attempt at its hard timeout itself.
      expireInSeconds: Math.ceil(policy.hardTimeoutMs / 1000) + 60,
      deleteAfterSeconds: 24 * 3600,
    };
    if (await boss.getQueue(name)) {
      await boss.updateQueue(name, settings);
    } else {
      await boss.createQueue(name, settings).catch(async (error: unknown) => {
        // Another process created it between our check and our create.
        if (!(await boss.getQueue(name))) throw error;
      });
    }
  }
  return boss;
}

/** The channel pg-boss NOTIFYs on (payload: queue name) when a job becomes available. */
export async function bossNotifyChannel(database: Queryable): Promise<string> {
  // The same expression pg-boss derives its channel from (plans.notifyChannelSql).
  const result = await database.query<{ channel: string }>(`SELECT 'pgboss_' || left(encode(sha224($1::bytea), 'hex'), 24) AS channel`, [bossSchema]);
  return result.rows[0]!.channel;
}
