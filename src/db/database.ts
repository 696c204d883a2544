/**
 * Opens the system of record: the PostgreSQL in DATABASE_URL, or the embedded one under
 * TASKLOOM_HOME, migrated and ready.
 */
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { ensureEmbeddedPostgres } from './embedded-postgres.ts';
import { migrate } from './migrate.ts';
import { createPool, type Pool } from './pool.ts';

export interface Database {
  url: string;
  pool: Pool;
  /** Closes the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}

export async function openDatabase(config: Config, logger: Logger, options: { migrate?: boolean; applicationName?: string } = {}): Promise<Database> {
  let url = config.databaseUrl;
  let stopServer = async (): Promise<void> => {};
  if (!url) {
    const server = await ensureEmbeddedPostgres({
      homePath: config.homePath,
      port: config.embeddedPort,
      log: (message) => logger.debug({ component: 'embedded-postgres' }, message),
    });
    url = server.url;
    stopServer = server.stop;
    logger.debug({ url: server.url, owned: server.owned }, server.owned ? 'started embedded PostgreSQL' : 'using running embedded PostgreSQL');
  }
  const pool = createPool(url, { max: config.databasePoolSize, applicationName: options.applicationName ?? 'taskloom' });
  try {
    if (options.migrate !== false) {
      const applied = await migrate(pool);
      if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');
    }
  } catch (error) {
    await pool.end();
    await stopServer();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    url,
    pool,
    // Idempotent: a command may close early and the runtime closes again on exit.
    close: () => {
      closing ??= (async () => {
        await pool.end();
        await stopServer();
      })();
      return closing;
    },
  };
}
