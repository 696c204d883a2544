/**
 * Live event fan-out for one process. One query per wake-up reads every new event after the
 * hub's cursor and hands each to the subscribers it matches, so a thousand WebSocket clients on
 * one project cost one query per batch of events, not a thousand.
 *
 * `subscribe` replays stored events after the caller's id, then follows live ones, with no gap
 * and no duplicate at the seam: the subscriber is registered (buffering) before the replay
 * query runs, and everything is yielded strictly in increasing id order.
 */
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { eventsChannel, latestEventId, readEvents, type TaskEvent } from './event-log.ts';
import type { NotificationListener } from './listener.ts';

export interface EventFilter {
  /** Only events of this tenant. */
  tenant?: string;
  taskId?: string;
  projectId?: string;
}

export interface SubscribeOptions extends EventFilter {
  /** Replay stored events with a greater id first. @default 0 (everything stored) */
  afterId?: number;
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
}

/** Events a subscriber may have waiting before it is dropped as too slow. */
const maxBufferedEvents = 50_000;
const pageSize = 1000;
/** A failed read is retried after this, doubling up to retryMaxMs, until one succeeds. */
const retryBaseMs = 250;
const retryMaxMs = 5000;

export class SlowSubscriberError extends Error {
  readonly lastDeliveredId: number;

  constructor(lastDeliveredId: number) {
    super(`subscriber fell more than ${maxBufferedEvents} events behind; resubscribe with afterId=${lastDeliveredId}`);
    this.lastDeliveredId = lastDeliveredId;
  }
}

interface Subscriber {
  filter: EventFilter;
  buffer: TaskEvent[];
  wake: (() => void) | undefined;
  failure: Error | undefined;
}

function matches(filter: EventFilter, event: TaskEvent): boolean {
  return (filter.tenant === undefined || filter.tenant === event.tenant)
    && (filter.taskId === undefined || filter.taskId === event.task_id)
    && (filter.projectId === undefined || filter.projectId === event.project_id);
}

export class EventHub {
  readonly #pool: Pool;
  readonly #logger: Logger;
  readonly #subscribers = new Set<Subscriber>();
  #cursor: number | undefined;
  #polling: Promise<void> | undefined;
  #pollAgain = false;
  #unlisten: Array<() => void> = [];
  /** Set while a failed read waits to be retried (the database is away; no NOTIFY may come). */
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs = retryBaseMs;
  /** Called with every batch of new events this process reads (metrics, sinks). */
  readonly #observers = new Set<(events: TaskEvent[]) => void>();

  constructor(pool: Pool, listener: NotificationListener, logger: Logger) {
    this.#pool = pool;
    this.#logger = logger;
    this.#unlisten.push(listener.on(eventsChannel, () => this.#schedulePoll()));
    this.#unlisten.push(listener.onReconnect(() => this.#schedulePoll()));
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Observers see every new event once, in id order, while at least one observer exists. */
  observe(observer: (events: TaskEvent[]) => void): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  close(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const unlisten of this.#unlisten) unlisten();
    for (const subscriber of this.#subscribers) {
      subscriber.failure = new Error('event hub closed');
      subscriber.wake?.();
    }
    this.#subscribers.clear();
  }

  async *subscribe(options: SubscribeOptions): AsyncGenerator<TaskEvent, void, undefined> {
    const filter: EventFilter = { tenant: options.tenant, taskId: options.taskId, projectId: options.projectId };
    const subscriber: Subscriber = { filter, buffer: [], wake: undefined, failure: undefined };
    await this.#ensureCursor();
    this.#subscribers.add(subscriber);
    const onAbort = (): void => subscriber.wake?.();
    options.signal?.addEventListener('abort', onAbort);
    let lastId = options.afterId ?? 0;
    try {
      // Replay: everything stored after lastId. Pages continue until a short page.
      for (;;) {
        if (options.signal?.aborted) return;
        const page = await readEvents(this.#pool, { ...filter, afterId: lastId, limit: pageSize });
        for (const event of page) {
          lastId = event.id;
          yield event;
          if (options.signal?.aborted) return;
        }
        if (page.length < pageSize) break;
      }
      // Follow: live events, skipping any the replay already yielded.
      for (;;) {
        if (options.signal?.aborted) return;
        if (subscriber.failure) throw subscriber.failure;
        const event = subscriber.buffer.shift();
        if (event) {
          if (event.id <= lastId) continue;
          lastId = event.id;
          yield event;
          continue;
        }
        await new Promise<void>((resolve) => {
          subscriber.wake = resolve;
        });
        subscriber.wake = undefined;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.#subscribers.delete(subscriber);
    }
  }

  /**
   * The cursor starts at the newest committed id when the first subscriber or observer arrives.
   * Every id at or below it is committed (event-log.ts), so the replay query, which runs later,
   * covers them; the hub delivers everything above it.
   */
  async #ensureCursor(): Promise<void> {
    if (this.#cursor === undefined) {
      const latest = await latestEventId(this.#pool);
      this.#cursor ??= latest;
    }
  }

  /** Starts reading new events for observers too (a subscriber starts it by itself). */
  async startObserving(): Promise<void> {
    await this.#ensureCursor();
  }

  #schedulePoll(): void {
    if (this.#cursor === undefined) return;
    if (this.#subscribers.size === 0 && this.#observers.size === 0) {
      // Nobody listens: forget the cursor, a later subscriber starts from the newest id.
      this.#cursor = undefined;
      return;
    }
    if (this.#polling) {
      this.#pollAgain = true;
      return;
    }
    this.#polling = this.#poll().finally(() => {
      this.#polling = undefined;
      if (this.#pollAgain) {
        this.#pollAgain = false;
        this.#schedulePoll();
      }
    });
  }

  async #poll(): Promise<void> {
    try {
      for (;;) {
        const cursor = this.#cursor;
        if (cursor === undefined) return;
        const events = await readEvents(this.#pool, { afterId: cursor, limit: pageSize });
        if (events.length === 0) return;
        this.#cursor = events[events.length - 1]!.id;
        this.#dispatch(events);
        if (events.length < pageSize) break;
      }
      this.#retryDelayMs = retryBaseMs;
    } catch (error) {
      // Events committed before the failure may have had their NOTIFY already: waiting for the
      // next one could leave live streams silent after an outage, so the read is retried.
      const delayMs = this.#retryDelayMs;
      this.#retryDelayMs = Math.min(delayMs * 2, retryMaxMs);
      this.#logger.warn({ err: error, retryInMs: delayMs }, 'reading new events failed; retrying');
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#schedulePoll();
      }, delayMs);
      this.#retryTimer.unref();
    }
  }

  #dispatch(events: TaskEvent[]): void {
    for (const observer of this.#observers) {
      try {
        observer(events);
      } catch (error) {
        this.#logger.error({ err: error }, 'event observer threw');
      }
    }
    for (const subscriber of this.#subscribers) {
      let added = false;
      for (const event of events) {
        if (!matches(subscriber.filter, event)) continue;
        subscriber.buffer.push(event);
        added = true;
      }
      if (subscriber.buffer.length > maxBufferedEvents) {
        subscriber.failure = new SlowSubscriberError(subscriber.buffer[0]!.id - 1);
        subscriber.buffer.length = 0;
      }
      if (added || subscriber.failure) subscriber.wake?.();
    }
  }
}
