/**
 * A consumer of the event log that must see every event exactly once across all processes
 * (webhook discovery, the Redis sink, a task type's failure handler), with its position stored in
 * `event_consumers`.
 *
 * Each pass locks the consumer's row with FOR UPDATE SKIP LOCKED: one process works a batch
 * while the others skip, and the cursor moves in the same transaction as the batch's effects.
 * A handler that throws rolls the batch back; the next pass tries the same events again.
 * Following `id > cursor` never skips an event because ids become visible in commit order
 * (engine/event-log.ts).
 */
import { withTransaction, type Pool, type PoolClient } from '../db/pool.ts';
import { eventColumns, readEvents, type TaskEvent } from './event-log.ts';

export interface EventConsumerOptions {
  pool: Pool;
  /** Row name in `event_consumers`. A new name starts after the newest stored event (see `register`). */
  name: string;
  /** Events per pass. @default 500 */
  batchSize?: number;
  /**
   * Only events of these types are handled; the cursor still passes over the others. A pass then
   * looks at up to `scanSize` events after the cursor and handles up to `batchSize` of them: a
   * consumer of rare events (task failures) keeps up with a log that grows by thousands a second.
   */
  types?: readonly string[];
  /** With `types`: events a pass looks at. @default 20000 */
  scanSize?: number;
  /** Applies a batch (in id order) inside the transaction that advances the cursor. */
  handle(events: TaskEvent[], transaction: PoolClient): Promise<void>;
  /** Called once a pass that handled `events` has committed. Must not throw. */
  committed?(events: TaskEvent[]): void;
}

// A new consumer starts after the newest stored event: it handles what happens from now on.
const createCursor = `INSERT INTO event_consumers (name, last_event_id) VALUES ($1, (SELECT coalesce(max(id), 0) FROM task_events))
  ON CONFLICT (name) DO NOTHING RETURNING last_event_id`;

export class EventConsumer {
  readonly #options: EventConsumerOptions;

  constructor(options: EventConsumerOptions) {
    this.#options = options;
  }

  /** Its row's name in `event_consumers`. */
  get name(): string {
    return this.#options.name;
  }

  /**
   * Creates the cursor if this consumer has none. Call it when the reader starts, before its
   * first pass: a cursor created by a later pass would start after the events stored in between,
   * and skip them (the Redis sink's first pass waits for Redis to be reachable).
   */
  async register(): Promise<void> {
    await this.#options.pool.query(createCursor, [this.#options.name]);
  }

  /**
   * Handles the next batch. Returns how many events it handled: 0 when there is nothing new or
   * another process holds the cursor right now.
   */
  async runOnce(): Promise<number> {
    return (await this.#pass()).handled;
  }

  /** Runs passes until the consumer has caught up (or another process holds it). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const { handled, more } = await this.#pass();
      total += handled;
      if (!more) return total;
    }
  }

  async #pass(): Promise<{ handled: number; more: boolean }> {
    const { pool, name } = this.#options;
    const pass = await withTransaction(pool, async (transaction) => {
      const locked = await transaction.query<{ last_event_id: number }>(
        'SELECT last_event_id FROM event_consumers WHERE name = $1 FOR UPDATE SKIP LOCKED',
        [name],
      );
      let cursor = locked.rows[0]?.last_event_id;
      if (cursor === undefined) {
        const created = await transaction.query<{ last_event_id: number }>(createCursor, [name]);
        cursor = created.rows[0]?.last_event_id;
        // Someone else created it (and may hold it): skip this pass.
        if (cursor === undefined) return { events: [], more: false };
      }
      const { events, passedTo, more } = await this.#next(transaction, cursor);
      if (passedTo === undefined) return { events: [], more: false };
      if (events.length > 0) await this.#options.handle(events, transaction);
      await transaction.query('UPDATE event_consumers SET last_event_id = $2, updated_at = now() WHERE name = $1', [name, passedTo]);
      return { events, more };
    });
    if (pass.events.length > 0) this.#options.committed?.(pass.events);
    return { handled: pass.events.length, more: pass.more };
  }

  /**
   * The events to handle after `cursor`, the id the cursor moves to once they are handled
   * (undefined: nothing new), and whether more may follow it. With a type filter two statements
   * suffice: every id up to the highest one the first sees has committed or rolled back
   * (event-log.ts), so the second finds exactly what the first passed over.
   */
  async #next(transaction: PoolClient, cursor: number): Promise<{ events: TaskEvent[]; passedTo: number | undefined; more: boolean }> {
    const { types } = this.#options;
    const batchSize = this.#options.batchSize ?? 500;
    if (types === undefined) {
      const events = await readEvents(transaction, { afterId: cursor, limit: batchSize });
      return { events, passedTo: events.at(-1)?.id, more: events.length === batchSize };
    }
    const scanSize = this.#options.scanSize ?? 20_000;
    const scanned = await transaction.query<{ last: number | null; count: number }>(
      'SELECT max(id) AS last, count(*)::int AS count FROM (SELECT id FROM task_events WHERE id > $1 ORDER BY id LIMIT $2) scanned',
      [cursor, scanSize],
    );
    const { last, count } = scanned.rows[0]!;
    if (last === null) return { events: [], passedTo: undefined, more: false };
    const matched = await transaction.query<TaskEvent>(
      `SELECT ${eventColumns} FROM task_events WHERE id > $1 AND id <= $2 AND type = ANY($3::text[]) ORDER BY id LIMIT $4`,
      [cursor, last, types, batchSize],
    );
    // A full batch stops at its last event: the ones after it wait for the next pass.
    if (matched.rows.length === batchSize) return { events: matched.rows, passedTo: matched.rows.at(-1)!.id, more: true };
    return { events: matched.rows, passedTo: last, more: count === scanSize };
  }
}
