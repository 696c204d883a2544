/**
 * What every command needs: validated config, a logger, the database and (for most) an engine
 * with all built-in task types. Closing is idempotent; main.ts runs it on SIGINT/SIGTERM.
 */
import { loadConfig, type Config } from '../config.ts';
import { openDatabase, type Database } from '../db/index.ts';
import { Engine } from '../engine/index.ts';
import { isTaskloomError } from '../errors.ts';
import { createLlmGateway, type LlmGateway } from '../llm/index.ts';
import { createLogger, type Logger } from '../logger.ts';
import { builtinTaskTypes, migrationSources, type PipelineServices } from '../pipelines/index.ts';

export interface Runtime {
  loadConfig(): Config;
  readonly logger: Logger;
  openDatabase(): Promise<Database>;
  /** Opens the database and an engine on it. `maintenance`: run pg-boss supervision and cron here. */
  openEngine(options?: { maintenance?: boolean }): Promise<{ engine: Engine; database: Database; services: PipelineServices }>;
  /** Runs `close` handlers (engine stop, database close) once. */
  close(): Promise<void>;
  /** The process is about to exit without a graceful close: detach from databases at once. */
  abandon(): Promise<void>;
  /** Set by commands that stop gracefully on their own at the first SIGINT/SIGTERM (serve, worker). */
  handlesSignals: boolean;
  onClose(handler: () => Promise<void>): void;
}

export function createRuntime(): Runtime {
  let config: Config | undefined;
  const closers: Array<() => Promise<void>> = [];
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
    processLogger ??= createLogger(resolveConfig().logLevel);
    return processLogger;
  };
  const runtime: Runtime = {
    loadConfig: resolveConfig,
    get logger() {
      return getLogger();
    },
    async openDatabase() {
      const database = await openDatabase(resolveConfig(), getLogger(), { migrations: migrationSources });
      databases.push(database);
      closers.unshift(() => database.close());
      return database;
    },
    async openEngine(options = {}) {
      const current = resolveConfig();
      const database = await runtime.openDatabase();
      const logger = getLogger();
      const llm: LlmGateway = createLlmGateway({ config: current, pool: database.pool, logger });
      // Runs after the engine stops and before the database closes: usage rows are written last.
      closers.unshift(() => llm.flushUsage());
      const services: PipelineServices = { config: current, pool: database.pool, logger, llm };
      const engine = await Engine.start({
        url: database.url,
        pool: database.pool,
        logger,
        taskTypes: builtinTaskTypes(services),
        heartbeatSeconds: current.heartbeatSeconds,
        superviseIntervalSeconds: current.superviseIntervalSeconds,
        maintenance: options.maintenance ?? false,
        schedules: options.maintenance ?? false,
      });
      closers.unshift(() => engine.stop({ graceMs: current.shutdownGraceMs }));
      return { engine, database, services };
    },
    handlesSignals: false,
    async abandon() {
      await Promise.all(databases.map((database) => database.abandon().catch(() => {})));
    },
    onClose(handler) {
      closers.unshift(handler);
    },
    close() {
      closed ??= (async () => {
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

/** Prints an error the way a user can act on, and returns the exit code. */
export function reportError(error: unknown): number {
  if (isTaskloomError(error)) {
    process.stderr.write(`error [${error.code}]: ${error.message}\n`);
    return error.code === 'config_invalid' ? 2 : 1;
  }
  process.stderr.write(`error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  return 1;
}
