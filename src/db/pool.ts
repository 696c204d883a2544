/**
 * The connection pool and the transaction helper every layer uses.
 */
import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** Anything that runs a query: the pool itself or a client inside a transaction. */
export interface Queryable {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
  /** A named statement is parsed and planned once per connection: for the hot paths. */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(statement: { name: string; text: string; values: unknown[] }): Promise<pg.QueryResult<Row>>;
}

// bigint (int8) columns such as event ids arrive as strings by default; they stay far below
// 2^53 in practice, and numbers keep every JSON contract (`id` as a number) simple.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

export interface PoolOptions {
  /** @default 10 */
  max?: number;
  /** @default 'taskloom' */
  applicationName?: string;
  /**
   * How long a checkout may wait (for a free client or a new connection) before it fails.
   * Without a bound, a request during a network cut would hang until TCP gives up (minutes)
   * instead of answering 503. @default 10000
   */
  connectionTimeoutMs?: number;
}

export function createPool(connectionString: string, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'taskloom',
    // Idle connections are kept ten minutes, not pg's usual thirty seconds: each carries the hot
    // statements prepared on it (the delivery statement takes 15 ms to parse and plan, a submit
    // 8 ms), and a service whose runs come minutes apart would otherwise reconnect and prepare
    // again at the start of each (bench/content-timeline.ts with PAUSE_MS=35000: 85 ms of a run).
    idleTimeoutMillis: 600_000,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    // A connection whose peer vanished (a failover, a cut cable) is found out by TCP keepalive
    // rather than by the next query hanging.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client that loses its connection (server restart) emits here; without a listener
  // it would crash the process. The pool replaces the client on the next checkout.
  pool.on('error', () => {});
  // A checked-out client has no pool listener: one whose backend is terminated between two
  // queries (a step's transaction awaiting the task's own work) emits `error` with nobody to
  // hear it, and Node exits. The query in flight, or the next one, rejects with the error, and
  // the holder's release(error) discards the client; this listener only keeps the process up.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

/**
 * Opens the pool's connections now (up to `count`, default its size), as a service starting its
 * worker does: otherwise the first burst of tasks opens them, each connection a new server
 * process and a login inside that burst's first statements. They stay open while used (the pool
 * closes a connection only after ten idle minutes). A connection that cannot be opened now is
 * not an error here: the pool opens it when it is needed, and reports then.
 *
 * Each connection opened here also loads the descriptions of the schema's tables and their
 * indexes (`primeCatalog`). A server process builds them on first use, for itself: a fresh
 * process's first month of content spent about 100 ms of server time on statements each
 * connection ran for the first time (a statement log of `bench/content-timeline.ts`), and one
 * statement over four tables took 2.6-4.3 ms the first time on a connection, 1.2-1.4 ms once its
 * tables were loaded. Priming costs 9-12 ms per connection at start (40 tables).
 */
export async function openConnections(pool: Pool, count: number = pool.options.max): Promise<void> {
  // The idle connections are checked out too, so that the pool opens new ones for the rest
  // instead of handing back an idle one.
  const missing = Math.max(0, count - pool.totalCount);
  const opening = Array.from({ length: missing === 0 ? 0 : missing + pool.idleCount }, () => pool.connect());
  const clients = await Promise.allSettled(opening);
  await Promise.all(clients.map(async (client) => {
    if (client.status !== 'fulfilled') return;
    if (primed.has(client.value)) return client.value.release();
    primed.add(client.value);
    const failure = await client.value.query(primeCatalog).then(() => undefined, (error: unknown) => error);
    // The server refusing a table (no privilege) leaves the connection good; a connection that
    // failed underneath is dropped, and the pool opens another when one is needed.
    client.value.release(failure instanceof Error && !(failure instanceof pg.DatabaseError) ? failure : undefined);
  }));
}

/** Connections that have run `primeCatalog`, so that opening more leaves them be. */
const primed = new WeakSet<pg.PoolClient>();

/**
 * Plans a statement over each table of the current schema (at most 200, so a database shared with
 * many other tables does not slow start-up), which loads the table's and its indexes' catalog
 * entries into this server process. On a failure the tables left load on first use, as without it.
 */
const primeCatalog = `DO $$
DECLARE relation regclass;
BEGIN
  FOR relation IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.oid LIMIT 200 LOOP
    EXECUTE format('SELECT 1 FROM %s LIMIT 0', relation);
  END LOOP;
END $$`;

let savepoints = 0;

/**
 * Runs `work` in the caller's open transaction inside a savepoint of its own: a statement that
 * fails in it is rolled back to the savepoint and leaves the transaction usable, which a failed
 * statement would otherwise have aborted. `failed` describes the error once the transaction is
 * usable again. Names are unique per process; calls on one transaction still go one after
 * another, as every statement on one connection does.
 */
export async function withSavepoint<Result>(transaction: Queryable, work: () => Promise<Result>, failed: (error: unknown) => Promise<unknown> = async (error) => error): Promise<Result> {
  savepoints += 1;
  const name = `taskloom_savepoint_${savepoints}`;
  await transaction.query(`SAVEPOINT ${name}`);
  try {
    const result = await work();
    await transaction.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await transaction.query(`ROLLBACK TO SAVEPOINT ${name}`);
    throw await failed(error);
  }
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
