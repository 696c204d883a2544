/**
 * When and how long to wait before retrying a provider call: 429, 408, 409 and 5xx responses,
 * network errors and timeouts are retried; a `Retry-After` (or `retry-after-ms`) header sets the
 * wait, otherwise exponential backoff with jitter. A Retry-After longer than `maxRetryAfterMs` is
 * not waited out: the model counts as failing and the fallback chain takes over.
 */
import { APICallError } from '@ai-sdk/provider';

export interface RetryOptions {
  /** Most retries per model after the first request. @default 30 (TASKLOOM_LLM_MAX_RETRIES) */
  maxRetries: number;
  /**
   * How long after a model's first failure its retries keep going, so a provider outage this
   * long is ridden out instead of failing the task. @default 300000 (TASKLOOM_LLM_RETRY_WINDOW_MS)
   */
  windowMs: number;
  /** First backoff delay when the provider gives no Retry-After. @default 500 */
  baseDelayMs: number;
  /** Longest backoff delay. @default 30000 */
  maxDelayMs: number;
  /** Longest Retry-After honoured; longer ones move on to the fallback model. @default 60000 */
  maxRetryAfterMs: number;
}

/**
 * 500 ms doubling to 30 s: an outage is probed 6 times in its first 30 s, then every 15-30 s
 * (jitter), about 20 retries over the default 5-minute window.
 */
export const defaultRetryOptions: Omit<RetryOptions, 'maxRetries' | 'windowMs'> = { baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 60_000 };

/** Why the next retry will not happen, or undefined when it will. */
export type RetryRefusal = 'retries_exhausted' | 'window_exceeded' | 'retry_after_too_long';

/**
 * The one retry decision of the gateway (generation and embeddings alike): how long to wait
 * before retry number `retries + 1` of a model whose first failure was at `firstFailureAt`,
 * or why not to retry. `requestedMs` is the provider's Retry-After, when it gave one.
 */
export function nextRetryDelay(
  state: { retries: number; firstFailureAt: number; requestedMs: number | undefined },
  options: RetryOptions,
  now: number = Date.now(),
  random: () => number = Math.random,
): { delayMs: number } | { refused: RetryRefusal } {
  if (state.retries >= options.maxRetries) return { refused: 'retries_exhausted' };
  if (state.requestedMs !== undefined && state.requestedMs > options.maxRetryAfterMs) return { refused: 'retry_after_too_long' };
  const delayMs = state.requestedMs ?? backoffMs(state.retries, options, random);
  if (now + delayMs - state.firstFailureAt > options.windowMs) return { refused: 'window_exceeded' };
  return { delayMs };
}

/** The wait a provider asked for, in milliseconds, or undefined when it did not say. */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  const headers = APICallError.isInstance(error) ? error.responseHeaders : undefined;
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
  const milliseconds = lower['retry-after-ms'];
  if (milliseconds !== undefined && milliseconds.trim() !== '' && Number.isFinite(Number(milliseconds))) return Math.max(0, Number(milliseconds));
  const value = lower['retry-after'];
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(value.trim())) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The HTTP status of a provider error, if it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  return APICallError.isInstance(error) ? error.statusCode : undefined;
}

/** True for errors a later identical request may not hit: rate limits, server errors, network. */
export function isRetryableProviderError(error: unknown): boolean {
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    if (status === undefined) return true; // the request never got an answer (connection refused, reset)
    return error.isRetryable || status === 408 || status === 409 || status === 429 || status >= 500;
  }
  return false;
}

/** Exponential backoff with full jitter: random in [delay/2, delay]. */
export function backoffMs(attempt: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const delay = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/** Sleeps `ms`, rejecting with the signal's reason as soon as it aborts (no timer left behind). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
