/**
 * A fresh database for one benchmark run: on DATABASE_URL's server when it is set, else on an
 * embedded PostgreSQL in a temporary folder; migrated, its pool's connections opened, and dropped
 * (with the embedded server and its folder) by `drop`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrate } from '../../src/db/migrate.ts';
import { migrationSources } from '../../src/pipelines/index.ts';
import { createPool, openConnections, type Pool } from '../../src/db/pool.ts';

export interface BenchDatabase {
  url: string;
  pool: Pool;
  /** Closes the pool, drops the database, and stops the embedded server if one was started. */
  drop(): Promise<void>;
}

export async function openBenchDatabase(options: { name: string; poolSize: number }): Promise<BenchDatabase> {
  let serverUrl = process.env.DATABASE_URL;
  let stopServer = async (): Promise<void> => {};
  let home: string | undefined;
  if (!serverUrl) {
    home = await mkdtemp(path.join(os.tmpdir(), `taskloom-${options.name}-`));
    // A random port, so a benchmark never meets the embedded server of a `taskloom serve`.
    const server = await ensureEmbeddedPostgres({ homePath: home, port: 56_000 + Math.floor(Math.random() * 4000) });
    serverUrl = server.url;
    stopServer = server.stop;
  }
  const name = `taskloom_${options.name.replaceAll('-', '_')}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  let pool: Pool | undefined;
  // Whatever fails, the database, the embedded server and its folder go.
  const cleanUp = async (): Promise<void> => {
    try {
      await pool?.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end().catch(() => {});
    } finally {
      await stopServer();
      if (home) await rm(home, { recursive: true, force: true });
    }
  };
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    pool = createPool(url.toString(), { max: options.poolSize });
    await migrate(pool, migrationSources);
    // Opened and primed as a service's pool is when it starts (cli/service-commands.ts): a
    // worker's claims run on these connections.
    await openConnections(pool);
    return { url: url.toString(), pool, drop: cleanUp };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
