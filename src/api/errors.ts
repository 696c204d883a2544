/**
 * The API's own errors, and the mapping of anything thrown during a request to the one error
 * shape every route answers with: `{error: {code, message, details}}`.
 */
import type { FastifyError } from 'fastify';
import { isDatabaseConnectionError } from '../db/connection-errors.ts';
import { DependencyError, isTaskloomError, TaskloomError, type ErrorDetails } from '../errors.ts';

export class UnauthorizedError extends TaskloomError {
  constructor(message = 'A valid API key is required: send it as X-API-Key or Authorization: Bearer.') {
    super('unauthorized', message, { httpStatus: 401, retryable: false });
  }
}

export class ForbiddenError extends TaskloomError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('forbidden', message, { httpStatus: 403, details, retryable: false });
  }
}

export class RateLimitedError extends TaskloomError {
  constructor(retryAfterSeconds: number, limit: number) {
    super('rate_limited', `Rate limit of ${limit} requests per minute for this API key exceeded; retry in ${retryAfterSeconds} s.`, {
      httpStatus: 429,
      details: { retry_after_seconds: retryAfterSeconds, limit_per_minute: limit },
    });
  }
}

export class PayloadTooLargeError extends TaskloomError {
  /** `limitBytes`: the limit the body went over, when the caller knows it. */
  constructor(limitBytes?: number) {
    super(
      'payload_too_large',
      limitBytes === undefined ? 'Request body is larger than the limit.' : `Request body is larger than the limit of ${limitBytes} bytes (TASKLOOM_API_BODY_LIMIT_BYTES).`,
      { httpStatus: 413, details: limitBytes === undefined ? {} : { limit_bytes: limitBytes }, retryable: false },
    );
  }
}

export class InvalidJsonError extends TaskloomError {
  constructor(message: string) {
    super('invalid_json', `Request body is not valid JSON: ${message}`, { httpStatus: 400, retryable: false });
  }
}

export class UnsupportedMediaTypeError extends TaskloomError {
  constructor(contentType: string | undefined) {
    super('unsupported_media_type', `Content-Type ${contentType ?? '(none)'} is not supported; send application/json (UTF-8).`, { httpStatus: 415, retryable: false });
  }
}

/**
 * The charset a Content-Type declares, lower-cased, or undefined when it declares none. JSON is
 * UTF-8 (RFC 8259); a body declared otherwise would be read as UTF-8 and mangled, so it is refused.
 */
export function declaredCharset(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');
  return match ? match[1]!.toLowerCase() : undefined;
}

export class RouteNotFoundError extends TaskloomError {
  constructor(method: string, url: string) {
    super('route_not_found', `No route ${method} ${url.split('?')[0]}.`, { httpStatus: 404, retryable: false });
  }
}

export class UpgradeRequiredError extends TaskloomError {
  constructor() {
    super('upgrade_required', 'This is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket).', { httpStatus: 426, retryable: false });
  }
}

export class BadRequestError extends TaskloomError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('bad_request', message, { httpStatus: 400, details, retryable: false });
  }
}

export class NotReadyError extends TaskloomError {
  constructor(checks: Record<string, unknown>) {
    super('not_ready', 'taskloom is not ready to serve.', { httpStatus: 503, details: { checks, retry_after_seconds: databaseRetryAfterSeconds } });
  }
}

/** How long a client is told to wait while the database is away (a restart takes a few seconds). */
export const databaseRetryAfterSeconds = 5;

/**
 * The database is unreachable (restarting, failing over, cut off): the request may succeed in a
 * few seconds. The cause is not shown: it names internal hosts and ports.
 */
export class DatabaseUnavailableError extends DependencyError {
  constructor(cause?: unknown) {
    super('database', `PostgreSQL is unreachable; retry in ${databaseRetryAfterSeconds} s.`, {
      httpStatus: 503,
      details: { retry_after_seconds: databaseRetryAfterSeconds },
      cause,
    });
  }
}

export interface ErrorResponse {
  statusCode: number;
  body: { error: { code: string; message: string; details: ErrorDetails } };
  headers?: Record<string, string>;
}

/** Fastify's own client errors (body parsing and the like) as catalog errors. */
function fromFastifyError(error: FastifyError): TaskloomError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? new UnsupportedMediaTypeError(undefined) : new BadRequestError(error.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidJsonError('the body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InvalidJsonError(error.message);
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return new InvalidJsonError(error.message);
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    if (status === 413) return new PayloadTooLargeError();
    if (status === 415) return new UnsupportedMediaTypeError(undefined);
    return new TaskloomError('bad_request', error.message, { httpStatus: status, retryable: false });
  }
  return undefined;
}

/** PostgreSQL data exceptions (class 22) come from input the schemas let through: a client error. */
function fromDatabaseError(error: unknown): TaskloomError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code) && (error as { severity?: unknown }).severity !== undefined) {
    return new BadRequestError('A value in the request is out of range or malformed.', { database_code: code });
  }
  return undefined;
}

function classify(error: unknown): TaskloomError | undefined {
  if (isTaskloomError(error)) return error;
  if (isDatabaseConnectionError(error)) return new DatabaseUnavailableError(error);
  const database = fromDatabaseError(error);
  if (database) return database;
  const candidate = error as Partial<FastifyError> | null;
  const fromFastify = typeof candidate === 'object' && candidate !== null && (typeof candidate.statusCode === 'number' || candidate.code?.startsWith('FST_') === true);
  return fromFastify ? fromFastifyError(error as FastifyError) : undefined;
}

/** Maps anything thrown to the response; `internal` is true for errors that deserve a log line. */
export function toErrorResponse(error: unknown): ErrorResponse & { internal: boolean } {
  const known = classify(error);
  if (!known || (known.httpStatus >= 500 && known.code !== 'not_ready' && known.code !== 'dependency_failed')) {
    return { statusCode: 500, body: { error: { code: 'internal_error', message: 'An unexpected error occurred; it has been logged.', details: {} } }, internal: true };
  }
  const response: ErrorResponse & { internal: boolean } = {
    statusCode: known.httpStatus,
    body: { error: { code: known.code, message: known.message, details: known.details } },
    internal: known.httpStatus >= 500,
  };
  if (typeof known.details.retry_after_seconds === 'number') response.headers = { 'retry-after': String(known.details.retry_after_seconds) };
  return response;
}
