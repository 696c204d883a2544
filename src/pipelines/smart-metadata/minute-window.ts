/**
 * The back-fill's rate limit: at most `perMinute` model requests start in any 60-second window.
 *
 * The window is rebuilt from checkpoints on resume: every project step stores when its request
 * started, and replaying the step records that time again. So a back-fill killed and resumed
 * within the minute still honours the limit across the crash, instead of starting a fresh burst.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class MinuteWindow {
  readonly perMinute: number;
  readonly #windowMs: number;
  #starts: number[] = [];

  /** `windowMs`: the window's length; a minute except in tests. @default 60000 */
  constructor(perMinute: number, windowMs = 60_000) {
    this.perMinute = perMinute;
    this.#windowMs = windowMs;
  }

  /** Notes a request that started at `at` (epoch ms), e.g. one replayed from a checkpoint. */
  record(at: number): void {
    this.#starts.push(at);
    this.#starts.sort((left, right) => left - right);
  }

  has(at: number): boolean {
    return this.#starts.includes(at);
  }

  /** How long a request starting now would have to wait. */
  waitMs(now = Date.now()): number {
    this.#starts = this.#starts.filter((start) => start > now - this.#windowMs);
    if (this.#starts.length < this.perMinute) return 0;
    return this.#starts[this.#starts.length - this.perMinute]! + this.#windowMs - now;
  }

  /** Waits until a request fits in the window (abortable), records it and returns its start. */
  async acquire(signal?: AbortSignal): Promise<number> {
    for (;;) {
      const wait = this.waitMs();
      if (wait <= 0) break;
      await sleep(wait, undefined, signal ? { signal } : {});
    }
    const now = Date.now();
    this.record(now);
    return now;
  }
}
