/**
 * Forward-only numbered SQL migrations (`migrations/NNNN_name.sql`). Each file runs once; pending
 * files run together in one transaction, recorded in `taskloom_migrations`. An advisory lock makes concurrent starts
 * (a worker and the API booting together) apply each migration exactly once.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from './pool.ts';
import { withTransaction } from './pool.ts';

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const migrationLockKey = 7_214_221_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function listMigrations(): Promise<Migration[]> {
  const files = (await readdir(migrationsFolder)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number.parseInt(file.slice(0, 4), 10),
      name: file.replace(/\.sql$/, ''),
      sql: await readFile(path.join(migrationsFolder, file), 'utf8'),
    })),
  );
}

/** Applies pending migrations; returns the names applied (empty when up to date). */
export async function migrate(pool: Pool): Promise<string[]> {
  const migrations = await listMigrations();
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS taskloom_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = new Set((await client.query<{ version: number }>('SELECT version FROM taskloom_migrations')).rows.map((row) => row.version));
    const appliedNow: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO taskloom_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      appliedNow.push(migration.name);
    }
    return appliedNow;
  });
}

/** True when every migration shipped with this build has been applied. */
export async function migrationsApplied(pool: Pool): Promise<boolean> {
  const migrations = await listMigrations();
  const result = await pool.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM taskloom_migrations WHERE version = ANY($1::int[])`,
    [migrations.map((migration) => migration.version)],
  ).catch(() => ({ rows: [{ count: -1 }] }));
  return result.rows[0]?.count === migrations.length;
}
