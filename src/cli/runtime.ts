/**
 * What every command needs: validated config, a logger, the database and (for commands that
 * submit or work) an engine with all built-in task types. Heavy layers (the engine with pg-boss,
 * the LLM gateway, the pipelines) are imported only by the commands that use them, so a read
 * answers in a fraction of the time. Closing is idempotent; main.ts runs it on SIGINT/SIGTERM.
 */
import { loadConfig, type Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { AnyTaskDefinition, Engine, TaskEvent, TaskRecord, TaskTypeSummary } from '../engine/index.ts';
import type { SubscribeOptions } from '../engine/event-hub.ts';
import { isDatabaseConnectionError } from '../db/connection-errors.ts';
import { isTaskloomError, NotFoundError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';
import type { PipelineServices } from '../pipelines/index.ts';

/** The read side of the engine, without pg-boss or workers: what `status` and `watch` need. */
export interface TaskReader {
  getTask(taskId: string): Promise<TaskRecord>;
  readEvents(query: { taskId: string; afterId: number; limit: number }): Promise<TaskEvent[]>;
  subscribe(options: SubscribeOptions): AsyncGenerator<TaskEvent, void, undefined>;
}

export interface Runtime {
  loadConfig(): Config;
  readonly logger: Logger;
  /** `--verbose`: log progress (debug and up) whatever LOG_LEVEL says. */
  verbose: boolean;
  /** The command running, for the database's `application_name` (`taskloom db status` lists it). */
  commandName: string;
  /** Opens the database. `migrate: 'if-needed'` (reads) migrates only a database never migrated. */
  openDatabase(options?: { migrate?: boolean | 'if-needed' }): Promise<Database>;
  /** Opens the database and an engine on it. `maintenance`: register and fire cron schedules here. */
  openEngine(options?: { maintenance?: boolean }): Promise<{ engine: Engine; database: Database; services: PipelineServices }>;
  /** The built-in task types as every process registers them, as declared: nothing is built or opened. */
  taskTypes(): Promise<readonly TaskTypeSummary[]>;
  /** Task reads and live events on the database, without starting the engine. */
  openReader(options?: { follow?: boolean }): Promise<TaskReader>;
  /** Runs `close` handlers (engine stop, database close) once. */
  close(): Promise<void>;
  /** The process is about to exit without a graceful close: detach from databases at once. */
  abandon(): Promise<void>;
  /** Set by commands that stop gracefully on their own at the first SIGINT/SIGTERM (serve, worker). */
  handlesSignals: boolean;
  /**
   * Set while a command runs a child in the foreground (`db psql`): the terminal's Ctrl-C reaches
   * the child, which acts on it (psql cancels the query), and the command passes SIGTERM on; this
   * process ignores both until the child exits, and then exits with the child's code.
   */
  childInForeground: boolean;
  onClose(handler: () => Promise<void>): void;
}

export function createRuntime(): Runtime {
  let config: Config | undefined;
  const closers: Array<() => Promise<void>> = [];
  /** Databases being opened: a signal during start-up waits for them, then closes them too. */
  const pending = new Set<Promise<Database>>();
  const databases: Database[] = [];
  let closed: Promise<void> | undefined;
  const resolveConfig = (): Config => {
    config ??= loadConfig();
    return config;
  };
  // Created on first use from the validated config, so a bad LOG_LEVEL is reported like any
  // other bad setting (exit code 2) instead of crashing inside pino.
  let processLogger: Logger | undefined;
  const getLogger = (): Logger => {
    processLogger ??= createLogger(runtime.verbose ? 'debug' : resolveConfig().logLevel);
    return processLogger;
  };
  /** The database, the LLM gateway and the pipelines' task types on them. */
  const pipelineServices = async (options: { migrate: boolean | 'if-needed' }): Promise<{ services: PipelineServices & { database: Database }; taskTypes: AnyTaskDefinition[] }> => {
    const current = resolveConfig();
    const database = await runtime.openDatabase(options);
    const [{ createLlmGateway }, { builtinTaskTypes }] = await Promise.all([import('../llm/index.ts'), import('../pipelines/index.ts')]);
    const logger = getLogger();
    const llm = createLlmGateway({ config: current, pool: database.pool, logger });
    // Runs after the engine stops and before the database closes: usage rows are written last.
    closers.unshift(() => llm.flushUsage());
    const services = { config: current, pool: database.pool, logger, llm, database };
    return { services, taskTypes: await builtinTaskTypes(services) };
  };
  const runtime: Runtime = {
    verbose: false,
    commandName: 'cli',
    loadConfig: resolveConfig,
    get logger() {
      return getLogger();
    },
    async openDatabase(options = {}) {
      const { openDatabase } = await import('../db/database.ts');
      const migrate = options.migrate ?? true;
      // Reads touch only the core's tables: they check (and, on a new database, apply) the core's
      // migrations without loading the pipelines; serve, worker and submit apply every pipeline's.
      const migrations = migrate === true ? (await import('../pipelines/index.ts')).migrationSources : undefined;
      const opening = (async () => {
        const database = await openDatabase(resolveConfig(), getLogger(), { migrate, migrations, applicationName: `taskloom ${runtime.commandName}` });
        databases.push(database);
        closers.unshift(() => database.close());
        return database;
      })();
      pending.add(opening);
      return opening.finally(() => pending.delete(opening));
    },
    async openEngine(options = {}) {
      const current = resolveConfig();
      const { services, taskTypes } = await pipelineServices({ migrate: true });
      const { Engine } = await import('../engine/index.ts');
      const engine = await Engine.start({
        url: services.database.url,
        pool: services.pool,
        logger: services.logger,
        taskTypes,
        heartbeatSeconds: current.heartbeatSeconds,
        maintenance: options.maintenance ?? false,
        schedules: options.maintenance ?? false,
      });
      closers.unshift(() => engine.stop({ graceMs: current.shutdownGraceMs }));
      return { engine, database: services.database, services };
    },
    async taskTypes() {
      // The pipelines declare their task types beside their definitions, which build from the same
      // declarations (and refuse to differ): listing loads no task module, database or LLM layer.
      return (await import('../pipelines/index.ts')).builtinTaskTypeSummaries;
    },
    async openReader(options = {}) {
      const database = await runtime.openDatabase({ migrate: 'if-needed' });
      const [{ getTask }, { readEvents }] = await Promise.all([import('../engine/task-store.ts'), import('../engine/event-log.ts')]);
      let hub: { subscribe: TaskReader['subscribe'] } | undefined;
      if (options.follow) {
        const [{ NotificationListener }, { EventHub }] = await Promise.all([import('../engine/listener.ts'), import('../engine/event-hub.ts')]);
        const listener = new NotificationListener(database.url, getLogger());
        await listener.start();
        const events = new EventHub(database.pool, listener, getLogger());
        closers.unshift(async () => {
          events.close();
          await listener.stop();
        });
        hub = events;
      }
      return {
        async getTask(taskId) {
          // A malformed id (22P02) is a task that does not exist, as in the API.
          const task = await getTask(database.pool, taskId).catch((error: unknown) => {
            if ((error as { code?: string }).code === '22P02') return undefined;
            throw error;
          });
          if (!task) throw new NotFoundError('Task', taskId);
          return task;
        },
        readEvents: (query) => readEvents(database.pool, query),
        subscribe(subscribeOptions) {
          if (!hub) throw new Error('openReader({ follow: true }) is needed to subscribe');
          return hub.subscribe(subscribeOptions);
        },
      };
    },
    handlesSignals: false,
    childInForeground: false,
    async abandon() {
      await Promise.all(databases.map((database) => database.abandon().catch(() => {})));
    },
    onClose(handler) {
      closers.unshift(handler);
    },
    close() {
      closed ??= (async () => {
        // Otherwise an embedded server being started now would come up after this process exits,
        // used by nobody.
        await Promise.allSettled([...pending]);
        for (const closer of closers) {
          try {
            await closer();
          } catch (error) {
            getLogger().warn({ err: error }, 'error while shutting down');
          }
        }
      })();
      return closed;
    },
  };
  return runtime;
}

/** Refusals that also mean "this database cannot be used as configured": no such database, wrong credentials. */
const unusableDatabaseCodes = new Set(['3D000', '28P01', '28000']);

/**
 * Prints an error the way a user can act on (`error [code]: message`, then a hint), never a
 * stack unless `verbose`; returns the exit code.
 */
export function reportError(error: unknown, options: { verbose?: boolean } = {}): number {
  if (isTaskloomError(error)) {
    process.stderr.write(`error [${error.code}]: ${error.message}\n`);
    return error.code === 'config_invalid' ? 2 : 1;
  }
  const failure = error instanceof Error ? (error as Error & { code?: string; address?: string; port?: number }) : undefined;
  const code = failure?.code ?? (failure instanceof AggregateError ? (failure.errors[0] as { code?: string } | undefined)?.code : undefined);
  if (isDatabaseConnectionError(error) || (code !== undefined && unusableDatabaseCodes.has(code))) {
    const where = failure?.address ? ` at ${failure.address}${failure.port ? `:${failure.port}` : ''}` : '';
    process.stderr.write(`error [dependency_failed]: cannot use the database${where}: ${failure?.message || code}${code ? ` (${code})` : ''}\n`);
    process.stderr.write('  hint: check that PostgreSQL runs and that DATABASE_URL is right (`taskloom db status` shows which database is used); unset DATABASE_URL to use the embedded PostgreSQL.\n');
  } else {
    process.stderr.write(`error [internal_error]: ${failure?.message ?? String(error)}\n`);
    process.stderr.write(options.verbose ? `${failure?.stack ?? ''}\n` : '  hint: run again with --verbose for the stack trace, and report it if it looks like a bug.\n');
  }
  return 1;
}
