/**
 * Long-running commands: `serve`, `worker`, and `migrate`.
 */
import { Command, InvalidArgumentError } from 'commander';
import { isQueueName, queueNames, type Engine, type QueueName } from '../engine/index.ts';
import { migrate, openConnections, withTransaction, type Database } from '../db/index.ts';
import { ensureBootstrapKey, startApiServer } from '../api/index.ts';
import { WebhookDispatcher } from '../integrations/webhooks/index.ts';
import { RedisEventSink } from '../integrations/redis-sink.ts';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { builtinRoutes, migrationSources, type PipelineServices } from '../pipelines/index.ts';
import { redact } from './db-command.ts';
import { positiveIntegerOption } from './option-parsers.ts';
import type { Runtime } from './runtime.ts';

function parseQueues(value: string): QueueName[] {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !isQueueName(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`unknown queue(s) ${unknown.join(', ') || '(none given)'}; valid queues: ${queueNames().join(', ')}`);
  }
  return names as QueueName[];
}

/**
 * The queues TASKLOOM_QUEUES names, checked before the process starts anything: an unknown name
 * is a configuration error (exit code 2, naming the variable), as every other invalid setting.
 * Thrown from the worker's start instead, it ended the process with no message at all.
 */
function configuredQueues(config: Config): QueueName[] | undefined {
  if (!config.queueList) return undefined;
  try {
    return parseQueues(config.queueList.join(','));
  } catch (error) {
    throw new ConfigError(`TASKLOOM_QUEUES="${config.queueList.join(',')}" is invalid: ${error instanceof Error ? error.message : String(error)}.`, { variable: 'TASKLOOM_QUEUES' });
  }
}

/**
 * From now on the command itself stops gracefully on the first SIGINT or SIGTERM (the runtime's
 * generic handler, which closes and exits 130/143, leaves it alone); resolves with that signal.
 * `serve` and `worker` call it before their worker may claim a task, so a signal arriving while
 * the rest of start-up finishes still hands tasks back and exits 0.
 */
function takeOverSignals(runtime: Runtime): Promise<NodeJS.Signals> {
  runtime.handlesSignals = true;
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/**
 * Webhook delivery and the Redis event sink. Both read the durable event log through cursors
 * that one process at a time advances, so every `serve` and `worker` runs them: deliveries go
 * on while any taskloom process is up, and never twice.
 */
async function startDeliveries(runtime: Runtime, engine: Engine, database: Database): Promise<void> {
  const config = runtime.loadConfig();
  const webhooks = new WebhookDispatcher({
    pool: database.pool,
    logger: runtime.logger.child({ component: 'webhooks' }),
    engine,
    policy: { allowLoopback: config.webhookAllowLoopback, allowPrivate: config.webhookAllowPrivate },
    timeoutMs: config.webhookTimeoutMs,
    maxAttempts: config.webhookMaxAttempts,
    retryBaseMs: config.webhookRetryBaseMs,
    retryMaxMs: config.webhookRetryMaxMs,
  });
  await webhooks.start();
  runtime.onClose(() => webhooks.stop());
  if (config.redisUrl) {
    const sink = new RedisEventSink({ pool: database.pool, logger: runtime.logger.child({ component: 'redis-sink' }), redisUrl: config.redisUrl, engine });
    await sink.start();
    runtime.onClose(() => sink.stop());
  }
}

/** The start-up line's database: the URL without password and, when embedded, where the data is. */
function describeDatabase(database: Database): string {
  return `${redact(database.url)}${database.embeddedDataPath ? ` (embedded, data in ${database.embeddedDataPath})` : ''}`;
}

/**
 * The process's worker, as `worker` and `serve` start it; then the default models' providers load
 * and the main pool opens its connections, so the first tasks do neither inside their work.
 */
async function startProcessWorker(config: Config, opened: { engine: Engine; database: Database; services: PipelineServices }, options: { queues: QueueName[] | undefined; concurrency?: number | undefined }): Promise<{ queues: QueueName[] | undefined; concurrency: number }> {
  const { queues } = options;
  const concurrency = options.concurrency ?? config.workerConcurrency;
  await opened.engine.startWorker({ queues, concurrency, pollIntervalMs: config.pollIntervalMs, shutdownGraceMs: config.shutdownGraceMs, childWaitHoldMs: config.childWaitHoldMs });
  void opened.services.llm.warmUp();
  await openConnections(opened.database.pool);
  return { queues, concurrency };
}

export function serviceCommands(runtime: Runtime): Command[] {
  const worker = new Command('worker')
    .description('Run a worker: claim and run tasks until SIGTERM, then stop gracefully')
    .option('--queues <names>', `comma-separated queues to work (${queueNames().join(', ')})`, parseQueues)
    .option('--concurrency <n>', 'tasks to run at once (default TASKLOOM_WORKER_CONCURRENCY)', positiveIntegerOption)
    .action(async (options: { queues?: QueueName[]; concurrency?: number }) => {
      const config = runtime.loadConfig();
      const queues = options.queues ?? configuredQueues(config);
      const opened = await runtime.openEngine({ maintenance: true });
      const { engine, database } = opened;
      await startDeliveries(runtime, engine, database);
      const signalled = takeOverSignals(runtime);
      const { concurrency } = await startProcessWorker(config, opened, { queues, concurrency: options.concurrency });
      process.stderr.write(`taskloom worker started (queues ${(queues ?? queueNames()).join(', ')}, ${concurrency} at once) on database ${describeDatabase(database)}\n`);
      const signal = await signalled;
      runtime.logger.info({ signal }, 'stopping worker');
    });

  const serve = new Command('serve')
    .description('Run taskloom: the HTTP API and an in-process worker on one database')
    .option('--no-worker', 'serve the API only (run workers separately with `taskloom worker`)')
    .action(async (options: { worker: boolean }) => {
      const config = runtime.loadConfig();
      const queues = options.worker ? configuredQueues(config) : undefined;
      const opened = await runtime.openEngine({ maintenance: true });
      const { engine, database, services } = opened;
      const signalled = takeOverSignals(runtime);
      // Two servers starting together must not both create a bootstrap key.
      const bootstrap = await withTransaction(database.pool, async (transaction) => {
        await transaction.query('SELECT pg_advisory_xact_lock(7214221003)');
        return ensureBootstrapKey(transaction, { apiKey: config.apiKey });
      });
      if (bootstrap.generated) {
        process.stdout.write(`Created an API key for tenant "default" (shown once; store it now):\n  ${bootstrap.generated.key}\n`);
      } else if (bootstrap.imported) {
        process.stderr.write('registered TASKLOOM_API_KEY for tenant "default"\n');
      }
      // Listening comes before the worker and the deliveries: a port already taken (a second
      // `npm start` in the same folder) stops the process before it claims a single task.
      let server: Awaited<ReturnType<typeof startApiServer>>;
      try {
        server = await startApiServer({ engine, config, logger: runtime.logger, pool: database.pool, routePlugins: builtinRoutes({ ...services, engine }), migrations: migrationSources });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES') throw new ConfigError(`PORT=${config.port} cannot be listened on (${code === 'EADDRINUSE' ? 'another process is using it' : 'permission denied'}): set PORT to a free port, or stop the other server.`, { variable: 'PORT', port: config.port });
        throw error;
      }
      // Closers run last-registered first: the HTTP server stops before the engine.
      runtime.onClose(() => server.close());
      if (options.worker) await startProcessWorker(config, opened, { queues });
      await startDeliveries(runtime, engine, database);
      process.stderr.write(`taskloom serving ${server.url} (docs ${server.url}/docs) on database ${describeDatabase(database)}${options.worker ? ' with an in-process worker' : ''}\n`);
      const signal = await signalled;
      runtime.logger.info({ signal }, 'stopping');
    });

  const migrateCommand = new Command('migrate')
    .description('Apply pending database migrations and exit')
    .action(async () => {
      // Opened without migrating: opening would apply them itself, and this would then report
      // nothing applied on a database it had just migrated.
      const database = await runtime.openDatabase({ migrate: false });
      const applied = await migrate(database.pool, migrationSources);
      process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
    });

  return [serve, worker, migrateCommand];
}
