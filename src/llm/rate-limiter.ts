/**
 * Per-provider limits shared by every task in one process: at most `concurrency` requests in
 * flight and at most `requestsPerMinute` started in any sliding 60-second window. Waiters are
 * served first come, first served, so a burst of tasks queues politely instead of earning 429s.
 * Waiting is cancellable through an AbortSignal.
 */

export interface ProviderLimits {
  /** Requests in flight at once. */
  concurrency: number;
  /** Requests started per sliding minute. */
  requestsPerMinute: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

const windowMs = 60_000;

export class RateLimiter {
  #limits: ProviderLimits;
  #active = 0;
  #starts: number[] = [];
  #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #now: () => number;

  constructor(limits: ProviderLimits, now: () => number = Date.now) {
    this.#limits = { ...limits };
    this.#now = now;
  }

  get limits(): ProviderLimits {
    return { ...this.#limits };
  }

  /** Requests in flight and waiting, for metrics and tests. */
  get state(): { active: number; waiting: number; startedLastMinute: number } {
    this.#prune();
    return { active: this.#active, waiting: this.#queue.length, startedLastMinute: this.#starts.length };
  }

  setLimits(limits: ProviderLimits): void {
    this.#limits = { ...limits };
    this.#pump();
  }

  /** Waits for a slot; the returned function releases it (call it exactly once, in `finally`). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.#queue.indexOf(waiter);
          if (index >= 0) this.#queue.splice(index, 1);
          reject(signal?.reason);
          this.#pump();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  #prune(): void {
    const cutoff = this.#now() - windowMs;
    while (this.#starts.length > 0 && (this.#starts[0] as number) <= cutoff) this.#starts.shift();
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#active < this.#limits.concurrency) {
      this.#prune();
      if (this.#starts.length >= this.#limits.requestsPerMinute) {
        this.#schedule((this.#starts[0] as number) + windowMs - this.#now());
        return;
      }
      const waiter = this.#queue.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.#active += 1;
      this.#starts.push(this.#now());
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        this.#active -= 1;
        this.#pump();
      });
    }
  }

  #schedule(delayMs: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, Math.max(1, delayMs));
    // A queued request keeps its own caller waiting; the limiter alone must not keep a process alive.
    this.#timer.unref();
  }
}

/** One limiter per provider name, shared by every gateway in the process. */
const sharedLimiters = new Map<string, RateLimiter>();

export function sharedLimiter(provider: string, limits: ProviderLimits): RateLimiter {
  const existing = sharedLimiters.get(provider);
  if (existing) {
    const current = existing.limits;
    if (current.concurrency !== limits.concurrency || current.requestsPerMinute !== limits.requestsPerMinute) existing.setLimits(limits);
    return existing;
  }
  const limiter = new RateLimiter(limits);
  sharedLimiters.set(provider, limiter);
  return limiter;
}
