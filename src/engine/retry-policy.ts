import { queuePolicy } from './queues.ts';
import type { AnyTaskDefinition } from './task-definition.ts';

/**
 * Exponential backoff with full jitter: attempt n waits a random time in
 * [base * 2^(n-1) / 2, base * 2^(n-1)], capped at max. Jitter spreads retries of tasks that failed
 * together (a provider outage) so they do not return together.
 */
export function retryDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/**
 * The wait before attempt `attempt` + 1 of a task of `definition` (its own base delay, else its
 * queue's), as `retryDelayMs` draws it; `random` 0 gives the shortest it can be.
 */
export function taskRetryDelayMs(definition: Pick<AnyTaskDefinition, 'queue' | 'retryBaseDelayMs'> | undefined, attempt: number, random: () => number = Math.random): number {
  const policy = queuePolicy(definition?.queue ?? 'default');
  return retryDelayMs(attempt, definition?.retryBaseDelayMs ?? policy.retryBaseDelayMs, policy.retryMaxDelayMs, random);
}
