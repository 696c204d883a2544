/**
 * Queues: the seeds' Celery queues are built in, and pipelines may declare their own
 * (`definePipeline({ queues: [...] })`, or `defineQueue`). A task type runs on one queue and
 * inherits its priority, hard timeout and retry policy unless it sets its own.
 *
 * The registry is per process and filled at import time (pipelines are imported by the
 * composition root before any engine starts), so every process that registers a pipeline knows
 * its queues. A queue is a name in `task_queue` (ready-queue.ts): nothing is created for it in
 * the database.
 */
import { ValidationError } from '../errors.ts';

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

export const builtinQueueNames = ['quick', 'default', 'ai_jobs', 'ai_priority', 'scheduled', 'cpu_intensive'] as const;
/** A built-in queue's name or one a pipeline declared. */
export type QueueName = (typeof builtinQueueNames)[number] | (string & {});

const builtin: QueuePolicy[] = [
  { name: 'quick', priority: 10, hardTimeoutMs: 30_000, maxAttempts: 3, retryBaseDelayMs: 1_000, retryMaxDelayMs: 30_000 },
  { name: 'default', priority: 5, hardTimeoutMs: 120_000, maxAttempts: 3, retryBaseDelayMs: 2_000, retryMaxDelayMs: 60_000 },
  { name: 'ai_jobs', priority: 3, hardTimeoutMs: 300_000, maxAttempts: 4, retryBaseDelayMs: 5_000, retryMaxDelayMs: 300_000 },
  { name: 'ai_priority', priority: 8, hardTimeoutMs: 300_000, maxAttempts: 4, retryBaseDelayMs: 5_000, retryMaxDelayMs: 300_000 },
  { name: 'scheduled', priority: 5, hardTimeoutMs: 120_000, maxAttempts: 3, retryBaseDelayMs: 5_000, retryMaxDelayMs: 300_000 },
  { name: 'cpu_intensive', priority: 5, hardTimeoutMs: 600_000, maxAttempts: 3, retryBaseDelayMs: 10_000, retryMaxDelayMs: 600_000 },
];

const registry = new Map<string, QueuePolicy>(builtin.map((policy) => [policy.name, Object.freeze(policy)]));

const queueNamePattern = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Registers a queue. Declaring the same name again with the same policy is a no-op (a module
 * imported twice); with another policy, or over a built-in queue, it is an error.
 */
/** The longest delay Node's `setTimeout` keeps; a longer one fires after 1 ms. */
export const maxTimerMs = 2_147_483_647;

export function defineQueue(policy: QueuePolicy): QueuePolicy {
  const problems: string[] = [];
  if (!queueNamePattern.test(policy.name)) problems.push('name: lower-case letters, digits and underscores, starting with a letter (at most 63)');
  if (!Number.isInteger(policy.priority) || policy.priority < -100 || policy.priority > 100) problems.push('priority: an integer from -100 to 100');
  if (!Number.isInteger(policy.hardTimeoutMs) || policy.hardTimeoutMs < 1000 || policy.hardTimeoutMs > maxTimerMs) problems.push(`hardTimeoutMs: from 1000 to ${maxTimerMs} (24.8 days, the longest timer Node keeps)`);
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) problems.push('maxAttempts: at least 1');
  if (!(policy.retryBaseDelayMs >= 0) || !(policy.retryMaxDelayMs >= policy.retryBaseDelayMs)) problems.push('retryBaseDelayMs >= 0 and retryMaxDelayMs >= retryBaseDelayMs');
  if (problems.length > 0) throw new ValidationError(`Invalid queue "${policy.name}": ${problems.join('; ')}`, { queue: policy.name, problems });
  const existing = registry.get(policy.name);
  if (existing) {
    if (JSON.stringify(existing) === JSON.stringify({ ...policy })) return existing;
    throw new ValidationError(`Queue "${policy.name}" is already defined with another policy${(builtinQueueNames as readonly string[]).includes(policy.name) ? ' (it is built in)' : ''}.`, { queue: policy.name });
  }
  const frozen = Object.freeze({ ...policy });
  registry.set(policy.name, frozen);
  return frozen;
}

export function isQueueName(value: string): value is QueueName {
  return registry.has(value);
}

/** Every queue this process knows, built-in ones first. */
export function queueNames(): QueueName[] {
  return [...registry.keys()];
}

/** A queue's policy; an unknown name is a ValidationError listing the known ones. */
export function queuePolicy(name: string): QueuePolicy {
  const policy = registry.get(name);
  if (!policy) throw new ValidationError(`Unknown queue "${name}". Known queues: ${queueNames().join(', ')}.`, { queue: name, valid_queues: queueNames() });
  return policy;
}

/** Queues ordered by priority, highest first: the order a worker fetches them in. */
export function queuesByPriority(names: readonly QueueName[]): QueueName[] {
  return [...names].sort((left, right) => queuePolicy(right).priority - queuePolicy(left).priority);
}
