export { openDatabase, type Database } from './database.ts';
export { ensureEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres.ts';
export { migrate, migrationsApplied, listMigrations } from './migrate.ts';
export { createPool, withTransaction, type Pool, type PoolClient, type Queryable } from './pool.ts';
