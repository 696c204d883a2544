/**
 * The live job document behind `WS /ws/jobs/{id}`: one reader per job in this process, whatever
 * the number of sockets following it.
 *
 * Each socket used to follow the job's events and read the document itself (two queries) after
 * every one, up to 20 times a second: an offline big job sends ~15 events a second, so 100 open
 * pages made 3,000 reads a second and the job they watched learned a third of the words. Now the
 * job's events wake one reader, which reads the document at most once per `minGapMs` and sends
 * the same text to every follower; with no change it still sends once per `intervalMs` (the
 * seed's 1 update a second). Its subscription starts after the job's newest event: events only
 * say "changed", and replaying a long job's history on every connect did nothing but cost.
 */
import type { Engine } from '../../kit/index.ts';
import type { Logger } from '../../logger.ts';
import type { JobDocument } from './schemas.ts';

const finishedStatuses = new Set(['completed', 'failed', 'cancelled']);

export interface JobFeedOptions {
  engine: () => Engine;
  read: (tenant: string, jobId: string) => Promise<JobDocument>;
  logger: Logger;
  /** Least time between two reads of the document. */
  minGapMs: number;
  /** Most time between two sends, changed or not. */
  intervalMs: number;
}

/** `text`: the document as JSON; `finished`: the job has ended and this is its last document. */
export type DocumentListener = (text: string, finished: boolean) => void;

interface Follower {
  send: DocumentListener;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Feed {
  followers: Set<Follower>;
  /** The last document sent, for a follower that joins between two reads. */
  last: { text: string; finished: boolean } | undefined;
  changed: boolean;
  wake: (() => void) | undefined;
  controller: AbortController;
}

export class JobFeeds {
  readonly #feeds = new Map<string, Feed>();
  readonly #options: JobFeedOptions;

  constructor(options: JobFeedOptions) {
    this.#options = options;
  }

  /**
   * Calls `send` with the job's document now and as it changes. Resolves after the finished
   * job's last document, or when `signal` aborts; rejects when the document cannot be read (the
   * job is gone, the database failed).
   */
  follow(tenant: string, jobId: string, signal: AbortSignal, send: DocumentListener): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    const key = `${tenant}\u0000${jobId}`;
    let feed = this.#feeds.get(key);
    if (!feed) {
      feed = { followers: new Set(), last: undefined, changed: true, wake: undefined, controller: new AbortController() };
      this.#feeds.set(key, feed);
      void this.#run(key, feed, tenant, jobId);
    } else if (feed.last) {
      // A document at most intervalMs old, whole: the newcomer need not wait for the next read.
      try {
        send(feed.last.text, false);
      } catch (error) {
        return Promise.reject(error);
      }
      this.#poke(feed);
    }
    const current = feed;
    return new Promise<void>((resolve, reject) => {
      const follower: Follower = { send, resolve, reject };
      current.followers.add(follower);
      signal.addEventListener('abort', () => {
        current.followers.delete(follower);
        resolve();
        // The last one out stops the reader and its subscription.
        if (current.followers.size === 0) this.#stop(key, current);
      }, { once: true });
    });
  }

  /** One follower's send; one that throws (its socket failing) is let go, the others go on. */
  #deliver(feed: Feed, follower: Follower, text: string, finished: boolean): void {
    try {
      follower.send(text, finished);
    } catch (error) {
      feed.followers.delete(follower);
      follower.reject(error);
    }
  }

  #poke(feed: Feed): void {
    feed.changed = true;
    feed.wake?.();
  }

  #stop(key: string, feed: Feed): void {
    if (this.#feeds.get(key) === feed) this.#feeds.delete(key);
    feed.controller.abort();
    feed.wake?.();
  }

  async #run(key: string, feed: Feed, tenant: string, jobId: string): Promise<void> {
    const { engine, read, logger, minGapMs, intervalMs } = this.#options;
    const { signal } = feed.controller;
    void (async () => {
      try {
        const afterId = await engine().latestEventId(jobId);
        // Every event of the job (a batch learned, progress, the end) means the document changed.
        for await (const event of engine().subscribe({ tenant, taskId: jobId, afterId, signal })) {
          void event;
          this.#poke(feed);
        }
      } catch (error) {
        // The periodic read below keeps the document current without events.
        if (!signal.aborted) logger.warn({ err: error, jobId }, 'learning job feed lost its event subscription; reading once a second');
      }
    })();
    let lastSentAt = 0;
    try {
      while (!signal.aborted) {
        if (!feed.changed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - lastSentAt)));
            feed.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          feed.wake = undefined;
          if (signal.aborted) break;
        }
        feed.changed = false;
        const document = await read(tenant, jobId);
        const text = JSON.stringify(document);
        const finished = finishedStatuses.has(document.status);
        if (text !== feed.last?.text || Date.now() - lastSentAt >= intervalMs || finished) {
          feed.last = { text, finished };
          lastSentAt = Date.now();
          for (const follower of feed.followers) this.#deliver(feed, follower, text, finished);
        }
        if (finished) {
          for (const follower of feed.followers) follower.resolve();
          break;
        }
        // Bursts of events (a batch commits several) become one read.
        await new Promise((resolve) => setTimeout(resolve, minGapMs));
      }
    } catch (error) {
      for (const follower of feed.followers) follower.reject(error);
    } finally {
      feed.followers.clear();
      this.#stop(key, feed);
    }
  }
}
