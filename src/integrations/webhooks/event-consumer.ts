/**
 * A consumer of the event log that must see every event exactly once across all processes
 * (webhook discovery, the Redis sink), with its position stored in `event_consumers`.
 *
 * Each pass locks the consumer's row with FOR UPDATE SKIP LOCKED: one process works a batch
 * while the others skip, and the cursor moves in the same transaction as the batch's effects.
 * A handler that throws rolls the batch back; the next pass tries the same events again.
 * Following `id > cursor` never skips an event because ids become visible in commit order
 * (engine/event-log.ts).
 */
import { withTransaction, type Pool, type PoolClient } from '../../db/pool.ts';
import { readEvents, type TaskEvent } from '../../engine/index.ts';

export interface EventConsumerOptions {
  pool: Pool;
  /** Row name in `event_consumers`. A new name starts after the newest stored event (see `register`). */
  name: string;
  /** Events per pass. @default 500 */
  batchSize?: number;
  /** Applies a batch (in id order) inside the transaction that advances the cursor. */
  handle(events: TaskEvent[], transaction: PoolClient): Promise<void>;
}

// A new consumer starts after the newest stored event: it handles what happens from now on.
const createCursor = `INSERT INTO event_consumers (name, last_event_id) VALUES ($1, (SELECT coalesce(max(id), 0) FROM task_events))
  ON CONFLICT (name) DO NOTHING RETURNING last_event_id`;

export class EventConsumer {
  readonly #options: EventConsumerOptions;

  constructor(options: EventConsumerOptions) {
    this.#options = options;
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
    const { pool, name } = this.#options;
    const batchSize = this.#options.batchSize ?? 500;
    return withTransaction(pool, async (transaction) => {
      const locked = await transaction.query<{ last_event_id: number }>(
        'SELECT last_event_id FROM event_consumers WHERE name = $1 FOR UPDATE SKIP LOCKED',
        [name],
      );
      let cursor = locked.rows[0]?.last_event_id;
      if (cursor === undefined) {
        const created = await transaction.query<{ last_event_id: number }>(createCursor, [name]);
        cursor = created.rows[0]?.last_event_id;
        // Someone else created it (and may hold it): skip this pass.
        if (cursor === undefined) return 0;
      }
      const events = await readEvents(transaction, { afterId: cursor, limit: batchSize });
      if (events.length === 0) return 0;
      await this.#options.handle(events, transaction);
      await transaction.query('UPDATE event_consumers SET last_event_id = $2, updated_at = now() WHERE name = $1', [name, events[events.length - 1]!.id]);
      return events.length;
    });
  }

  /** Runs passes until the consumer has caught up (or another process holds it). */
  async drain(): Promise<number> {
    const batchSize = this.#options.batchSize ?? 500;
    let total = 0;
    for (;;) {
      const handled = await this.runOnce();
      total += handled;
      if (handled < batchSize) return total;
    }
  }
}
