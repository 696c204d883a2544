/**
 * Test databases: every test file gets a fresh database of its own on the run's PostgreSQL
 * (DATABASE_URL when set, else the embedded server started by global-setup.ts), so files run in
 * parallel without seeing each other's rows, pg-boss jobs or notifications.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { migrate } from '../../src/db/migrate.ts';
import { migrationSources } from '../../src/pipelines/index.ts';

export function serverUrl(): string {
  const url = process.env.TASKLOOM_TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('No test PostgreSQL: global-setup.ts sets TASKLOOM_TEST_DATABASE_URL.');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  name: string;
  /** A migrated pool on it (closed by drop()). */
  pool: Pool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Creates a new, migrated database. Call drop() in afterAll. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `taskloom_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl(), name);
  const pool = createPool(url, { max: 10, applicationName: 'taskloom-test' });
  if (options.migrate !== false) await migrate(pool, migrationSources);
  return {
    url,
    name,
    pool,
    drop: async () => {
      await pool.end();
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
