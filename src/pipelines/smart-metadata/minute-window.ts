/**
 * The back-fill's rate limit: at most `perMinute` model requests start in any 60-second window.
 *
 * The arithmetic only: request-window-store.ts feeds it the starts every back-fill run recorded
 * in the database, so the limit holds across overlapping runs, processes and crashes.
 */
export class MinuteWindow {
  readonly perMinute: number;
  readonly #windowMs: number;
  #starts: number[] = [];

  /** `windowMs`: the window's length; a minute except in tests. @default 60000 */
  constructor(perMinute: number, windowMs = 60_000) {
    this.perMinute = perMinute;
    this.#windowMs = windowMs;
  }

  /** Notes a request that started at `at` (epoch ms). */
  record(at: number): void {
    this.#starts.push(at);
    this.#starts.sort((left, right) => left - right);
  }

  /** How long a request starting now would have to wait. */
  waitMs(now = Date.now()): number {
    this.#starts = this.#starts.filter((start) => start > now - this.#windowMs);
    if (this.#starts.length < this.perMinute) return 0;
    return this.#starts[this.#starts.length - this.perMinute]! + this.#windowMs - now;
  }
}
