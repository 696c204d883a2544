/**
 * The queues, as the seeds' Celery deployment named them. A task type runs on one queue and
 * inherits its priority, hard timeout and retry policy unless it sets its own.
 */

export interface QueuePolicy {
  name: QueueName;
  /** Higher runs first, within a queue and when a worker chooses between queues. */
  priority: number;
  /** An attempt running longer than this is stopped and fails (then retries per policy). */
  hardTimeoutMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** First retry delay; doubles each attempt, with jitter, up to retryMaxDelayMs. */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

export const queueNames = ['quick', 'default', 'ai_jobs', 'ai_priority', 'scheduled', 'cpu_intensive'] as const;
export type QueueName = (typeof queueNames)[number];

export const queues: Record<QueueName, QueuePolicy> = {
  quick: { name: 'quick', priority: 10, hardTimeoutMs: 30_000, maxAttempts: 3, retryBaseDelayMs: 1_000, retryMaxDelayMs: 30_000 },
  default: { name: 'default', priority: 5, hardTimeoutMs: 120_000, maxAttempts: 3, retryBaseDelayMs: 2_000, retryMaxDelayMs: 60_000 },
  ai_jobs: { name: 'ai_jobs', priority: 3, hardTimeoutMs: 300_000, maxAttempts: 4, retryBaseDelayMs: 5_000, retryMaxDelayMs: 300_000 },
  ai_priority: { name: 'ai_priority', priority: 8, hardTimeoutMs: 300_000, maxAttempts: 4, retryBaseDelayMs: 5_000, retryMaxDelayMs: 300_000 },
  scheduled: { name: 'scheduled', priority: 5, hardTimeoutMs: 120_000, maxAttempts: 3, retryBaseDelayMs: 5_000, retryMaxDelayMs: 300_000 },
  cpu_intensive: { name: 'cpu_intensive', priority: 5, hardTimeoutMs: 600_000, maxAttempts: 3, retryBaseDelayMs: 10_000, retryMaxDelayMs: 600_000 },
};

export function isQueueName(value: string): value is QueueName {
  return (queueNames as readonly string[]).includes(value);
}

/** Queues ordered by priority, highest first: the order a worker fetches them in. */
export function queuesByPriority(names: readonly QueueName[]): QueueName[] {
  return [...names].sort((left, right) => queues[right].priority - queues[left].priority);
}
