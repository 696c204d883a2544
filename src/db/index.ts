export { openDatabase, type Database, type OpenDatabaseOptions } from './database.ts';
export { ensureEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres.ts';
export { coreMigrations, migrate, migrationsApplied, listMigrations, type MigrationSource } from './migrate.ts';
export { createPool, openConnections, withTransaction, type Pool, type PoolClient, type Queryable } from './pool.ts';
export { isDatabaseConnectionError } from './connection-errors.ts';
