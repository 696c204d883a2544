/**
 * The connections a worker claims and settles on: up to three (two pipelined claims and a settle
 * beside them) borrowed from the engine's pool as they are needed, each with `deliverySettings`
 * set while the worker holds it and reset as it goes back. Nothing else runs on them meanwhile.
 * One the worker is not using goes back as soon as anything else waits for the pool (within
 * `lookEveryMs`), or after `lingerMs` unused.
 *
 * Borrowed rather than opened: a connection of the worker's own is a new server process, and its
 * first delivery statement loads the tables' catalog entries afresh. On a 2-core machine whose
 * PostgreSQL opens a connection in 11-17 ms, a worker with three of its own started its first task
 * 48-67 ms after its start, against 8-18 ms on connections the service had opened and primed
 * (db/pool.ts `openConnections`), and drained 5,000 tasks a fifth to a third faster
 * (docs/benchmarks.md, twenty-fourth session). The settings set around each statement instead
 * (`SET`, the statement, `RESET`) cost two more round trips a statement, each waiting behind the
 * worker's own work: drains of 5,000 were slower that way than with connections of its own.
 */
import pg from 'pg';
import type { Pool, PoolClient, Queryable } from '../db/pool.ts';

/**
 * What the delivery connections are set to. A claim must walk `task_queue_ready` in order and
 * stop after `limit` rows. Whenever the table's statistics are older than its contents, which is
 * what a burst of submits produces, the planner guesses a handful of ready rows and picks a bitmap
 * scan and a sort of the whole queue instead (measured with 5,000 queued: 3.8 ms per claim of 8
 * instead of 0.2, growing with the backlog). Likewise a statement prepared while `tasks` was small
 * joins it by a sequential scan, and the connection may keep that plan as the table grows (a
 * finish measured 2 ms slower per 5,000 tasks stored). These connections run only the delivery
 * statements (and the submits that carry their finishes), which look rows up by key and need none
 * of these. A plan that must sort anyway (a few leases put in key order) then costs over
 * `jit_above_cost`, and compiling it took 1.7 s, so JIT is off too: these statements touch a
 * handful of rows each.
 *
 * With those, a statement's plan does not depend on its parameters, so each is planned once per
 * connection (`force_generic_plan`). Left to choose, PostgreSQL planned the delivery statement
 * afresh for its first five executions on each connection, 1-3 ms each, at the very start of a
 * drain when the worker's cores are what its first tasks wait for. Drains of 5,000, twelve
 * alternating pairs: faster in ten, 9,125 -> 9,785 tasks/s (means), first task started 27.7 ->
 * 22.5 ms after the worker (docs/benchmarks.md, fifteenth session). The plan stays prepared on
 * the connection when it goes back, for the next time a worker borrows it.
 */
export const deliverySettings: Record<string, string> = { enable_bitmapscan: 'off', enable_seqscan: 'off', enable_sort: 'off', jit: 'off', plan_cache_mode: 'force_generic_plan' };

const settingsApplied = Object.entries(deliverySettings).map(([name, value]) => `SET ${name} TO '${value}'`).join('; ');
const settingsReset = Object.keys(deliverySettings).map((name) => `RESET ${name}`).join('; ');

type Statement = string | { name: string; text: string; values: unknown[] };

const closedMessage = 'The worker\'s delivery connections are closed: it has stopped.';

/**
 * How long a connection may sit unused here before it goes back to the pool, when nothing waits
 * for one. Long enough that a worker whose tasks come seconds apart keeps the connections its
 * statements are prepared on (a connection that never ran one plans it afresh, 1-3 ms).
 */
const lingerMs = 30_000;
/** How often the unused ones are looked at, and whether anyone waits for the pool. */
const lookEveryMs = 50;

export class DeliveryConnections implements Queryable {
  readonly #pool: Pool;
  readonly #size: number;
  /** Unused connections, the last used at the end, and since when each is unused. */
  readonly #idle: Array<{ client: PoolClient; since: number }> = [];
  /** Borrowed: unused, running a statement, or being borrowed. */
  #held = 0;
  /** Statements waiting for a connection, all `#size` being busy. */
  readonly #waiting: Array<{ resolve: (client: PoolClient) => void; reject: (error: unknown) => void }> = [];
  readonly #lostListeners = new Map<PoolClient, (error: Error) => void>();
  #looking: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  /** Set by `close` while statements still run: called once the last of them is done. */
  #allIdle: (() => void) | undefined;

  constructor(pool: Pool, size = 3) {
    this.#pool = pool;
    this.#size = size;
  }

  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(statement: { name: string; text: string; values: unknown[] }): Promise<pg.QueryResult<Row>>;
  async query<Row extends pg.QueryResultRow>(statement: Statement, values?: unknown[]): Promise<pg.QueryResult<Row>> {
    if (this.#closing) throw new Error(closedMessage);
    const client = await this.#acquire();
    try {
      const result = typeof statement === 'string' ? await client.query<Row>(statement, values) : await client.query<Row>(statement);
      this.#release(client);
      return result;
    } catch (error) {
      // An error the server reported leaves the connection as it was; any other (a lost
      // connection, a protocol error) may not, and the connection goes.
      if (error instanceof pg.DatabaseError) this.#release(client);
      else this.#drop(client, asError(error));
      throw error;
    }
  }

  /** A statement would find a connection unused now, or one it may borrow. */
  get available(): boolean {
    return this.#idle.length > 0 || this.#held < this.#size;
  }

  /**
   * Hands every connection back to the pool with its settings reset, once no statement runs on
   * it. Call it once nothing asks any more.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error(closedMessage));
      if (this.#held > this.#idle.length) await new Promise<void>((resolve) => { this.#allIdle = resolve; });
      clearInterval(this.#looking);
      await Promise.all(this.#idle.splice(0).map(({ client }) => this.#handBack(client)));
    })();
    return this.#closing;
  }

  async #acquire(): Promise<PoolClient> {
    const idle = this.#idle.pop();
    if (idle) return idle.client;
    if (this.#held >= this.#size) return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#held += 1;
    try {
      return await this.#borrow();
    } catch (error) {
      this.#gone();
      throw error;
    }
  }

  async #borrow(): Promise<PoolClient> {
    const client = await this.#pool.connect();
    try {
      await client.query(settingsApplied);
    } catch (error) {
      client.release(asError(error));
      throw error;
    }
    // A connection lost while unused here (a server restart, a terminated backend) goes at once,
    // as the pool's own unused ones do, rather than failing the next claim.
    const lost = (error: Error): void => {
      const index = this.#idle.findIndex((idle) => idle.client === client);
      if (index < 0) return;
      this.#idle.splice(index, 1);
      this.#close(client, error);
      this.#gone();
    };
    this.#lostListeners.set(client, lost);
    client.on('error', lost);
    return client;
  }

  /** A statement is done with `client`: to a statement waiting here, else kept a while. */
  #release(client: PoolClient): void {
    const waiter = this.#waiting.shift();
    if (waiter) return waiter.resolve(client);
    this.#idle.push({ client, since: performance.now() });
    this.#lookAtIdle();
    this.#noteIdle();
  }

  /**
   * Hands unused connections back to the pool: as soon as others wait for the pool (a worker
   * never keeps the service's requests or its tasks' steps waiting for a connection it is not
   * using), and otherwise once unused for `lingerMs`. The next claim borrows again.
   */
  #lookAtIdle(): void {
    if (this.#closing) return;
    let wanted = this.#pool.waitingCount;
    const now = performance.now();
    while (this.#idle.length > 0 && (wanted > 0 || now - this.#idle[0]!.since >= lingerMs)) {
      const { client } = this.#idle.shift()!;
      this.#held -= 1;
      wanted -= 1;
      void this.#handBack(client);
    }
    if (this.#idle.length === 0) {
      clearInterval(this.#looking);
      this.#looking = undefined;
    } else if (!this.#looking) {
      this.#looking = setInterval(() => this.#lookAtIdle(), lookEveryMs);
      this.#looking.unref();
    }
  }

  /** Resets the settings and returns `client` to the pool (closed if the reset fails). */
  async #handBack(client: PoolClient): Promise<void> {
    this.#close(client, await client.query(settingsReset).then(() => undefined, asError));
  }

  /** Returns `client` to the pool, which closes it when `error` says it failed. */
  #close(client: PoolClient, error?: Error): void {
    const lost = this.#lostListeners.get(client);
    if (lost) client.off('error', lost);
    this.#lostListeners.delete(client);
    client.release(error);
  }

  /** A connection failed: it is closed, and a statement waiting for one borrows another. */
  #drop(client: PoolClient, error: Error): void {
    this.#close(client, error);
    const waiter = this.#waiting.shift();
    if (!waiter) return this.#gone();
    // The waiter takes over the dropped connection's place in `#held`.
    this.#borrow().then(waiter.resolve, (borrowError: unknown) => {
      this.#gone();
      waiter.reject(borrowError);
    });
  }

  /** One connection fewer is held. */
  #gone(): void {
    this.#held -= 1;
    this.#noteIdle();
  }

  /** Lets a waiting `close` go on once no statement runs. */
  #noteIdle(): void {
    if (this.#allIdle && this.#held === this.#idle.length) this.#allIdle();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
