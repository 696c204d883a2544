/**
 * Gives the test run a PostgreSQL: the one in DATABASE_URL when set, else an embedded server
 * started for the run in a temporary folder and stopped after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.DATABASE_URL) {
    process.env.TASKLOOM_TEST_DATABASE_URL = process.env.DATABASE_URL;
    return async () => {};
  }
  const home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-test-pg-'));
  const port = 55_000 + Math.floor(Math.random() * 5000);
  const server = await ensureEmbeddedPostgres({ homePath: home, port });
  process.env.TASKLOOM_TEST_DATABASE_URL = server.url;
  return async () => {
    await server.stop();
    await rm(home, { recursive: true, force: true });
  };
}
