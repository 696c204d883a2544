/**
 * Opens the system of record: the PostgreSQL in DATABASE_URL, or the embedded one under
 * TASKLOOM_HOME, migrated and ready.
 */
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { ensureEmbeddedPostgres } from './embedded-postgres.ts';
import { coreMigrations, migrate, type MigrationSource } from './migrate.ts';
import { createPool, type Pool } from './pool.ts';

export interface Database {
  url: string;
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
  /** Apply pending migrations. @default true */
  migrate?: boolean;
  /** Which migrations: the core's and every pipeline's (src/pipelines/index.ts). @default the core's only */
  migrations?: readonly MigrationSource[];
  /** @default 'taskloom' */
  applicationName?: string;
}

export async function openDatabase(config: Config, logger: Logger, options: OpenDatabaseOptions = {}): Promise<Database> {
  let url = config.databaseUrl;
  let detach = async (): Promise<void> => {};
  let checkServer = (): void => {};
  if (!url) {
    const log = logger.child({ component: 'embedded-postgres' });
    const server = await ensureEmbeddedPostgres({
      homePath: config.homePath,
      port: config.embeddedPort,
      log: (message) => log.debug(message),
      warn: (message) => log.warn(message),
    });
    url = server.url;
    detach = server.stop;
    checkServer = () => void server.check();
    logger.debug({ url: server.url, owned: server.owned }, server.owned ? 'started embedded PostgreSQL' : 'using running embedded PostgreSQL');
  }
  const pool = createPool(url, { max: config.databasePoolSize, applicationName: options.applicationName ?? 'taskloom' });
  // A pooled connection that breaks is the first sign the embedded server has gone: look now
  // rather than at the watchdog's next round.
  pool.on('error', checkServer);
  try {
    if (options.migrate !== false) {
      const applied = await migrate(pool, options.migrations ?? [coreMigrations]);
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
