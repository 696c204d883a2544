/**
 * Forward-only numbered SQL migrations (`NNNN_name.sql`), from several sources: the core's
 * (`src/db/migrations`, namespace `core`) and each pipeline's own folder (namespace = the
 * pipeline's name), applied core first, then pipelines in registration order. Each file runs once;
 * pending files run together in one transaction, recorded in `taskloom_migrations` by namespace and
 * version. An advisory lock makes concurrent starts (a worker and the API booting together) apply
 * each migration exactly once.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from './pool.ts';
import { withTransaction } from './pool.ts';

const migrationLockKey = 7_214_221_001;

/** A folder of numbered migrations owned by one layer or pipeline. */
export interface MigrationSource {
  /** `core` for the engine's own tables; a pipeline's name for its tables. */
  namespace: string;
  folder: string;
}

export const coreMigrations: MigrationSource = {
  namespace: 'core',
  folder: path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations'),
};

export interface Migration {
  namespace: string;
  version: number;
  name: string;
  sql: string;
}

const migrationFile = /^\d{4}_[a-z0-9_]+\.sql$/;

export async function listMigrations(sources: readonly MigrationSource[] = [coreMigrations]): Promise<Migration[]> {
  const lists = await Promise.all(sources.map(async (source) => {
    const files = (await readdir(source.folder)).filter((file) => migrationFile.test(file)).sort();
    return Promise.all(files.map(async (file) => ({
      namespace: source.namespace,
      version: Number.parseInt(file.slice(0, 4), 10),
      name: file.replace(/\.sql$/, ''),
      sql: await readFile(path.join(source.folder, file), 'utf8'),
    })));
  }));
  return lists.flat();
}

/** Applies pending migrations; returns the names applied (empty when up to date). */
export async function migrate(pool: Pool, sources: readonly MigrationSource[] = [coreMigrations]): Promise<string[]> {
  const namespaces = new Set(sources.map((source) => source.namespace));
  if (namespaces.size !== sources.length) throw new Error(`Two migration sources share a namespace: ${sources.map((source) => source.namespace).join(', ')}`);
  const migrations = await listMigrations(sources);
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS taskloom_migrations (
      namespace text NOT NULL DEFAULT 'core',
      version integer NOT NULL,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (namespace, version)
    )`);
    // Databases made before pipelines had migrations of their own: every row there is the core's.
    await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'taskloom_migrations' AND column_name = 'namespace' AND table_schema = current_schema()) THEN
        ALTER TABLE taskloom_migrations ADD COLUMN namespace text NOT NULL DEFAULT 'core';
        ALTER TABLE taskloom_migrations DROP CONSTRAINT taskloom_migrations_pkey;
        ALTER TABLE taskloom_migrations ADD PRIMARY KEY (namespace, version);
      END IF;
    END $$`);
    const rows = await client.query<{ namespace: string; version: number }>('SELECT namespace, version FROM taskloom_migrations');
    const applied = new Set(rows.rows.map((row) => `${row.namespace}/${row.version}`));
    const appliedNow: string[] = [];
    for (const migration of migrations) {
      if (applied.has(`${migration.namespace}/${migration.version}`)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO taskloom_migrations (namespace, version, name) VALUES ($1, $2, $3)', [migration.namespace, migration.version, migration.name]);
      appliedNow.push(migration.namespace === 'core' ? migration.name : `${migration.namespace}/${migration.name}`);
    }
    return appliedNow;
  });
}

/** True when every migration of these sources has been applied. */
export async function migrationsApplied(pool: Pool, sources: readonly MigrationSource[] = [coreMigrations]): Promise<boolean> {
  const migrations = await listMigrations(sources);
  const result = await pool.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM taskloom_migrations m JOIN unnest($1::text[], $2::int[]) AS shipped (namespace, version)
       ON m.namespace = shipped.namespace AND m.version = shipped.version`,
    [migrations.map((migration) => migration.namespace), migrations.map((migration) => migration.version)],
  ).catch(() => ({ rows: [{ count: -1 }] }));
  return result.rows[0]?.count === migrations.length;
}
