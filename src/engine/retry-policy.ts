/**
 * Exponential backoff with full jitter: attempt n waits a random time in
 * [base * 2^(n-1) / 2, base * 2^(n-1)], capped at max. Jitter spreads retries of tasks that failed
 * together (a provider outage) so they do not return together.
 */
export function retryDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}
