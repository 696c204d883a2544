/**
 * Errors raised by the LLM gateway. All are TaskloomErrors with stable codes so callers (the
 * engine, the API) branch on `code`, never on message text. Every one names the provider and model
 * involved and, where there is one, the underlying cause.
 */
import { TaskloomError, type ErrorDetails } from '../errors.ts';
import { redactAddresses } from '../redact.ts';

/** Stable codes of LlmError. */
export type LlmErrorCode =
  /** The provider kept failing (HTTP errors, network errors, timeouts) through retries and fallbacks. */
  | 'llm_call_failed'
  /** The model's output did not match the schema, even after one repair attempt. */
  | 'llm_invalid_output'
  /** The caller's AbortSignal fired (task cancelled or its attempt stopped). */
  | 'llm_cancelled'
  /** The model id is malformed or names a provider that is not configured. */
  | 'llm_unknown_model';

export interface LlmErrorDetails extends ErrorDetails {
  provider?: string;
  model?: string;
  statusCode?: number;
  /** One line per failed attempt, oldest first, when several models or attempts were tried. */
  attempts?: string[];
}

export class LlmError extends TaskloomError {
  declare readonly code: LlmErrorCode;
  declare readonly details: LlmErrorDetails;

  constructor(code: LlmErrorCode, message: string, options: { details?: LlmErrorDetails; retryable?: boolean; cause?: unknown } = {}) {
    super(code, message, {
      httpStatus: code === 'llm_unknown_model' ? 400 : code === 'llm_cancelled' ? 499 : 502,
      details: options.details ?? {},
      retryable: options.retryable ?? (code === 'llm_call_failed' || code === 'llm_invalid_output'),
      cause: options.cause,
    });
  }
}

export function isLlmError(value: unknown): value is LlmError {
  return value instanceof LlmError;
}

/**
 * A short, single-line description of any thrown value, for error messages and `llm_calls.error`,
 * without network addresses: a provider's `connect ECONNREFUSED 10.0.3.7:19101` would otherwise
 * reach task errors and `automation_error` events.
 */
export function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { statusCode?: unknown }).statusCode;
    const prefix = typeof status === 'number' ? `HTTP ${status}: ` : '';
    return redactAddresses(`${prefix}${error.message}`.replace(/\s+/g, ' ').trim()).slice(0, 500);
  }
  return redactAddresses(String(error)).slice(0, 500);
}
