/**
 * Test databases: every test file gets a fresh database of its own on the run's PostgreSQL
 * (DATABASE_URL when set, else the embedded server started by global-setup.ts), so files run in
 * parallel without seeing each other's rows, pg-boss jobs or notifications. The implementation is
 * the pipeline test kit's (src/kit/testing.ts); here every pipeline's migrations are applied.
 */
import { createTestDatabase as createKitDatabase, testServerUrl, type TestDatabase } from '../../src/kit/testing.ts';
import { migrationSources } from '../../src/pipelines/index.ts';

export type { TestDatabase };
export const serverUrl = testServerUrl;

/** Creates a new database with every migration (core and pipelines). Call drop() in afterAll. */
export function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  return createKitDatabase({ ...options, migrations: migrationSources });
}
