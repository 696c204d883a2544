/**
 * openConnections: a service opens its pool's connections as its worker starts, each loading the
 * schema's tables into its server process, and a database that does not answer then is not an
 * error (the pool reports it at the first real checkout), nor is a table it may not read.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPool, openConnections } from '../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});

afterAll(async () => {
  await database?.drop();
});

it('opens the pool up to its size, and only the connections it lacks', async () => {
  const pool = createPool(database.url, { max: 3, applicationName: 'taskloom-pool-test' });
  try {
    const held = await pool.connect();
    await openConnections(pool);
    expect(pool.totalCount).toBe(3);
    held.release();
    expect(pool.idleCount).toBe(3);
    const backends = await pool.query<{ count: number }>("SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = 'taskloom-pool-test'");
    expect(backends.rows[0]!.count).toBe(3);
    // The two connections this query did not take last ran the priming statement, and are idle.
    const primed = await pool.query<{ count: number }>("SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = 'taskloom-pool-test' AND state = 'idle' AND query LIKE 'DO $$%'");
    expect(primed.rows[0]!.count).toBe(2);
    await openConnections(pool);
    expect(pool.totalCount).toBe(3);
  } finally {
    await pool.end();
  }
});

it('resolves when the server does not answer, leaving the pool to report it at the first checkout', async () => {
  const pool = createPool('postgres://postgres@127.0.0.1:1/nowhere', { max: 2, connectionTimeoutMs: 500 });
  try {
    await openConnections(pool);
    expect(pool.totalCount).toBe(0);
    await expect(pool.query('SELECT 1')).rejects.toThrow(/ECONNREFUSED|connect/);
  } finally {
    await pool.end();
  }
});

it('keeps its connections when the priming meets a table the role may not read', async () => {
  const owner = createPool(database.url, { max: 1 });
  const role = `pool_test_${process.pid}`;
  try {
    await owner.query('CREATE TABLE IF NOT EXISTS pool_test_locked (id int)');
    // With a password: the embedded server the tests start without DATABASE_URL asks for one.
    await owner.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pool-test'`);
    const url = new URL(database.url);
    url.username = role;
    url.password = 'pool-test';
    const pool = createPool(url.toString(), { max: 2 });
    try {
      await openConnections(pool);
      expect(pool.totalCount).toBe(2);
      expect(pool.idleCount).toBe(2);
      await expect(pool.query('SELECT 1 FROM pool_test_locked')).rejects.toThrow(/permission denied/);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
  } finally {
    await owner.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await owner.end();
  }
});
