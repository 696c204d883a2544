/**
 * The connection pool and the transaction helper every layer uses.
 */
import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** Anything that runs a query: the pool itself or a client inside a transaction. */
export interface Queryable {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
}

// bigint (int8) columns such as event ids arrive as strings by default; they stay far below
// 2^53 in practice, and numbers keep every JSON contract (`id` as a number) simple.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

export function createPool(connectionString: string, options: { max?: number; applicationName?: string } = {}): Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'taskloom',
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection (server restart) emits here; without a listener
  // it would crash the process. The pool replaces the client on the next checkout.
  pool.on('error', () => {});
  return pool;
}

/**
 * Runs `work` in one transaction: commits when it resolves, rolls back when it throws.
 * A failed rollback destroys the connection rather than returning it dirty to the pool.
 */
export async function withTransaction<Result>(pool: Pool, work: (client: PoolClient) => Promise<Result>): Promise<Result> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
