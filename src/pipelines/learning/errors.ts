/**
 * The learning pipeline's errors: stable codes, HTTP status and retryable flag like every
 * TaskloomError (src/errors.ts). A research provider's failure is always a ResearchProviderError,
 * so no caller can mistake a failure for knowledge.
 */
import { isTaskloomError, TaskloomError, type ErrorDetails } from '../../errors.ts';

/** A research source (the research model, WordNet) failed to answer; nothing was learned from it. */
export class ResearchProviderError extends TaskloomError {
  constructor(source: string, operation: 'propose' | 'research' | 'deepen', message: string, options: { details?: ErrorDetails; retryable?: boolean; cause?: unknown } = {}) {
    super('research_provider_failed', `Research source ${source} could not ${operation}: ${message}`, {
      httpStatus: 502,
      details: { source, operation, ...options.details },
      retryable: options.retryable ?? (isTaskloomError(options.cause) ? options.cause.retryable : true),
      cause: options.cause,
    });
  }
}

/** The quick-mode throttle: at most one quick run per tenant per window. */
export class LearningThrottledError extends TaskloomError {
  constructor(retryAfterSeconds: number, windowSeconds: number) {
    super('learning_throttled', `A quick learning job ran less than ${windowSeconds} s ago for this tenant; try again in ${retryAfterSeconds} s.`, {
      httpStatus: 429,
      details: { retry_after_seconds: retryAfterSeconds, window_seconds: windowSeconds },
      retryable: true,
    });
  }
}
