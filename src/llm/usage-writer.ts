/**
 * Writes `llm_calls` rows in the background, in batches: the rows queued while a write is in
 * flight go in the next one, one INSERT for the new rows (requests starting, cache hits) in the
 * order they were queued and one UPDATE for the requests that finished. Thirty calls ending
 * together (a content run's social posts) cost two commits instead of thirty one after another,
 * and a task reading its usage waits for those instead of the whole queue. Measured on
 * bench:content at load 3.5-5, a social post's task waited for its usage p50 150-190 ms with one
 * write after another, 90-140 ms batched (the rest is its own commits queueing with thirty others).
 *
 * Accounting never fails the call it accounts for: a batch that fails is written again one row
 * at a time, and a row that still fails is logged and dropped.
 */
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { finishLlmCalls, insertLlmCalls, type LlmCallRow, type NewLlmCall, type StartedLlmCall } from './usage-store.ts';

type Queued =
  | { kind: 'insert'; call: NewLlmCall; inserted: (id: number | undefined) => void }
  | { kind: 'finish'; started: Promise<number | undefined>; row: LlmCallRow };

export class UsageWriter {
  readonly #pool: Pool;
  readonly #logger: Logger;
  #queued: Queued[] = [];
  /** Resolves when the queued rows are written (the batch after the one in flight). */
  #nextWritten: Promise<void> | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(pool: Pool, logger: Logger) {
    this.#pool = pool;
    this.#logger = logger;
  }

  /** Queues the in_flight row of a request that is starting; resolves with its id (undefined if it could not be written). */
  begin(call: StartedLlmCall, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => this.#queue({ kind: 'insert', call: { started: call, timeoutMs }, inserted: resolve }));
  }

  /** Queues a finished call: completes its in_flight row, or inserts it whole when it has none. */
  record(row: LlmCallRow, started?: Promise<number | undefined>): void {
    if (started) this.#queue({ kind: 'finish', started, row });
    else this.#queue({ kind: 'insert', call: { finished: row }, inserted: () => {} });
  }

  /** Resolves once every row queued before this call is written. */
  written(): Promise<void> {
    return this.#nextWritten ?? this.#writing;
  }

  /** Resolves once nothing is queued or being written (rows queued meanwhile included). */
  async idle(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.written()) {
      seen = this.written();
      await seen;
    }
  }

  #queue(item: Queued): void {
    this.#queued.push(item);
    if (this.#nextWritten) return;
    // One batch waits behind the one in flight and takes everything queued until it starts.
    this.#nextWritten = this.#writing = this.#writing.then(() => {
      const batch = this.#queued;
      this.#queued = [];
      this.#nextWritten = undefined;
      return this.#write(batch);
    }).catch((error: unknown) => this.#logger.warn({ err: error }, 'could not record LLM calls in llm_calls'));
  }

  async #write(batch: Queued[]): Promise<void> {
    const inserts = batch.filter((item): item is Extract<Queued, { kind: 'insert' }> => item.kind === 'insert');
    try {
      const ids = await insertLlmCalls(this.#pool, inserts.map((item) => item.call));
      inserts.forEach((item, index) => item.inserted(ids[index]));
    } catch (error) {
      for (const item of inserts) item.inserted(await this.#alone(error, item.call, () => insertLlmCalls(this.#pool, [item.call]).then(([id]) => id)));
    }
    // A finishing request's row was queued when it started, so it is in this batch or an earlier one.
    const finishes = await Promise.all(batch.filter((item): item is Extract<Queued, { kind: 'finish' }> => item.kind === 'finish').map(async (item) => ({ id: await item.started, row: item.row })));
    const unstarted = finishes.filter((item) => item.id === undefined).map((item): NewLlmCall => ({ finished: item.row }));
    const started = finishes.filter((item): item is { id: number; row: LlmCallRow } => item.id !== undefined);
    // Each statement falls back to row by row on its own: a failed finish must not write the
    // inserted rows a second time.
    try {
      await insertLlmCalls(this.#pool, unstarted);
    } catch (error) {
      for (const call of unstarted) await this.#alone(error, call, () => insertLlmCalls(this.#pool, [call]));
    }
    try {
      await finishLlmCalls(this.#pool, started);
    } catch (error) {
      for (const call of started) await this.#alone(error, { finished: call.row }, () => finishLlmCalls(this.#pool, [call]));
    }
  }

  /** Writes one row of a batch that failed; logs and gives up on a row that fails alone too. */
  async #alone<Result>(batchError: unknown, call: NewLlmCall, write: () => Promise<Result>): Promise<Result | undefined> {
    try {
      return await write();
    } catch (error) {
      const row = 'started' in call ? call.started : call.finished;
      this.#logger.warn({ err: error, batchError, provider: row.provider, model: row.model }, 'could not record an LLM call in llm_calls');
      return undefined;
    }
  }
}
