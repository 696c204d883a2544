/**
 * Opens the system of record: the PostgreSQL in DATABASE_URL, or the embedded one under
 * TASKLOOM_HOME, migrated and ready.
 */
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { ensureEmbeddedPostgres } from './embedded-postgres.ts';
import { coreMigrations, migrate, migrationsApplied, type MigrationSource } from './migrate.ts';
import { createPool, type Pool } from './pool.ts';

export interface Database {
  url: string;
  /** The embedded server's data folder; undefined with DATABASE_URL. */
  embeddedDataPath?: string;
  pool: Pool;
  /**
   * Closes the pool, then detaches from the embedded server; the last taskloom process using it
   * stops it.
   */
  close(): Promise<void>;
  /**
   * Detaches from the embedded server without waiting for the pool (a second Ctrl-C: the process
   * exits next). The last process out still stops the server; nothing is left running.
   */
  abandon(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /**
   * Apply pending migrations. 'if-needed' (read commands) first asks, in one query, whether any
   * are pending, and migrates only then (a new database, or a newer build). @default true
   */
  migrate?: boolean | 'if-needed';
  /** Which migrations: the core's and every pipeline's (src/pipelines/index.ts). @default the core's only */
  migrations?: readonly MigrationSource[];
  /** The pool's application_name, and the embedded attach session's (`taskloom db status`). @default 'taskloom' */
  applicationName?: string;
}

export async function openDatabase(config: Config, logger: Logger, options: OpenDatabaseOptions = {}): Promise<Database> {
  let url = config.databaseUrl;
  let detach = async (): Promise<void> => {};
  let embeddedDataPath: string | undefined;
  if (!url) {
    const log = logger.child({ component: 'embedded-postgres' });
    const server = await ensureEmbeddedPostgres({
      homePath: config.homePath,
      port: config.embeddedPort,
      processName: options.applicationName ?? 'taskloom',
      log: (message) => log.debug(message),
      warn: (message) => log.warn(message),
    });
    url = server.url;
    detach = server.stop;
    embeddedDataPath = server.dataPath;
    logger.debug({ url: server.url, owned: server.owned, data_path: server.dataPath }, server.owned ? 'started embedded PostgreSQL' : 'using running embedded PostgreSQL');
  }
  const pool = createPool(url, { max: config.databasePoolSize, applicationName: options.applicationName ?? 'taskloom' });
  try {
    const sources = options.migrations ?? [coreMigrations];
    if (options.migrate !== false && (options.migrate !== 'if-needed' || !(await migrationsApplied(pool, sources)))) {
      const applied = await migrate(pool, sources);
      if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');
    }
  } catch (error) {
    await pool.end();
    await detach();
    throw error;
  }
  let closing: Promise<void> | undefined;
  let detaching: Promise<void> | undefined;
  const detachOnce = (): Promise<void> => {
    detaching ??= detach();
    return detaching;
  };
  return {
    url,
    embeddedDataPath,
    pool,
    // Idempotent: a command may close early and the runtime closes again on exit.
    close: () => {
      closing ??= (async () => {
        await pool.end();
        await detachOnce();
      })();
      return closing;
    },
    abandon: detachOnce,
  };
}
