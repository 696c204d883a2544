/**
 * The error catalog. Every error taskloom raises on purpose is a TaskloomError with a stable
 * `code` (documented in the README) and the HTTP status it maps to. Callers check the marker
 * (`isTaskloomError`) and the code, never the message text.
 */
import { redactAddresses } from './redact.ts';

const marker = Symbol.for('taskloom.error');

export interface ErrorDetails {
  [key: string]: unknown;
}

export class TaskloomError extends Error {
  readonly [marker] = true;
  readonly code: string;
  readonly httpStatus: number;
  readonly details: ErrorDetails;
  /** false: retrying the same work cannot succeed, so the engine fails the task at once. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { httpStatus?: number; details?: ErrorDetails; retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = options.httpStatus ?? 500;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? true;
  }

  toJSON(): { code: string; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isTaskloomError(value: unknown): value is TaskloomError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}

/** Configuration is invalid; the process cannot start. */
export class ConfigError extends TaskloomError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('config_invalid', message, { httpStatus: 500, details, retryable: false });
  }
}

/** Input failed validation. `details.issues` lists each problem with its path. */
export class ValidationError extends TaskloomError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('validation_failed', message, { httpStatus: 400, details, retryable: false });
  }
}

export class UnknownTaskTypeError extends TaskloomError {
  constructor(taskType: string, validTypes: string[]) {
    super('unknown_task_type', `Unknown task_type "${taskType}". Valid task types: ${validTypes.join(', ')}.`, {
      httpStatus: 400,
      details: { task_type: taskType, valid_task_types: validTypes },
      retryable: false,
    });
  }
}

export class NotFoundError extends TaskloomError {
  constructor(what: string, id: string) {
    super('not_found', `${what} ${id} was not found.`, { httpStatus: 404, details: { id }, retryable: false });
  }
}

/** A task with the same concurrency key is already active and the task type rejects a second one. */
export class ConcurrencyConflictError extends TaskloomError {
  constructor(taskType: string, concurrencyKey: string, runningTaskId: string) {
    super('concurrency_conflict', `A ${taskType} task for "${concurrencyKey}" is already active (task ${runningTaskId}); wait for it or cancel it.`, {
      httpStatus: 409,
      details: { task_type: taskType, concurrency_key: concurrencyKey, running_task_id: runningTaskId },
      retryable: false,
    });
  }
}

/**
 * Thrown by task code when retrying cannot help (bad data, a refused request). The engine fails
 * the task at once instead of spending its remaining attempts.
 */
export class PermanentError extends TaskloomError {
  constructor(message: string, details: ErrorDetails = {}, cause?: unknown) {
    super('permanent_failure', message, { httpStatus: 500, details, retryable: false, cause });
  }
}

/** The attempt ran past the task type's hard timeout. Retried per policy, resuming from steps. */
export class HardTimeoutError extends TaskloomError {
  constructor(taskId: string, timeoutMs: number) {
    super('hard_timeout', `Task ${taskId} exceeded its hard timeout of ${timeoutMs} ms.`, { details: { task_id: taskId, timeout_ms: timeoutMs } });
  }
}

/** Another worker took over this task (our heartbeat lapsed); this attempt must stop writing. */
export class LeaseLostError extends TaskloomError {
  constructor(taskId: string, attempt: number) {
    super('lease_lost', `Task ${taskId} attempt ${attempt} no longer holds the task; another attempt took over.`, { details: { task_id: taskId, attempt } });
  }
}

/** A dependency (database, LLM provider, Payload, Brain, webhook receiver) failed. */
export class DependencyError extends TaskloomError {
  constructor(dependency: string, message: string, options: { details?: ErrorDetails; retryable?: boolean; cause?: unknown; httpStatus?: number } = {}) {
    super('dependency_failed', `${dependency}: ${message}`, {
      httpStatus: options.httpStatus ?? 502,
      details: { dependency, ...options.details },
      retryable: options.retryable ?? true,
      cause: options.cause,
    });
  }
}

/** String values of details (one level, and arrays of strings) with addresses removed. */
function redactDetails(details: ErrorDetails): ErrorDetails {
  const redactValue = (value: unknown): unknown => {
    if (typeof value === 'string') return redactAddresses(value);
    if (Array.isArray(value)) return value.map((entry) => (typeof entry === 'string' ? redactAddresses(entry) : entry));
    return value;
  };
  return Object.fromEntries(Object.entries(details).map(([key, value]) => [key, redactValue(value)]));
}

/**
 * Plain JSON form of any thrown value, as stored in `tasks.error` and event payloads. Network
 * addresses are removed (redact.ts): these are shown to API clients, the process log keeps them.
 */
export function serializeError(error: unknown): { code: string; message: string; details?: ErrorDetails; retryable: boolean } {
  if (isTaskloomError(error)) {
    return storable({ code: error.code, message: redactAddresses(error.message), details: redactDetails(error.details), retryable: error.retryable });
  }
  if (error instanceof Error) {
    return storable({ code: 'internal_error', message: redactAddresses(error.message), retryable: true });
  }
  return storable({ code: 'internal_error', message: redactAddresses(describeThrown(error)), retryable: true });
}

/** Half a surrogate pair: a high one not followed by a low one, or a low one not after a high one. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The record as PostgreSQL's jsonb takes it. A message quoting model or page text may hold NUL
 * characters or half a surrogate pair, which jsonb refuses, and details may hold a BigInt or a
 * cycle, which JSON cannot write: any of them failed the statement recording the attempt, and
 * with it every other outcome written beside it. NULs are dropped, broken pairs become U+FFFD,
 * BigInts become strings; details that still cannot be written are left out.
 */
function storable<Record extends { code: string; message: string; details?: ErrorDetails; retryable: boolean }>(record: Record): Record {
  const clean = (_key: string, value: unknown): unknown => {
    if (typeof value === 'string') return value.replaceAll('\u0000', '').replace(loneSurrogate, '\ufffd');
    if (typeof value === 'bigint') return value.toString();
    return value;
  };
  try {
    return JSON.parse(JSON.stringify(record, clean)) as Record;
  } catch {
    const { details: _details, ...rest } = record;
    return JSON.parse(JSON.stringify(rest, clean)) as Record;
  }
}

/**
 * Text for a thrown value that is not an Error. `String()` itself throws for some (an object with
 * no prototype, a `Symbol.toPrimitive` that throws), and a failure here would take the worker
 * recording the attempt down with it. A plain object's `String()` is `[object Object]`, which
 * says nothing; its JSON (the first `thrownJsonChars` of it) says what was thrown.
 */
function describeThrown(value: unknown): string {
  let text: string | undefined;
  try {
    text = String(value);
  } catch {
    // No string form: the JSON below, or the object's tag.
  }
  if (text === undefined || /^\[object \w+\]$/.test(text)) {
    try {
      // Some clients throw plain objects holding the request they made, headers and keys included:
      // those fields are left out of what users can read.
      const json = JSON.stringify(value, (key, entry: unknown) => (isSecretKey(key) ? '[removed]' : typeof entry === 'bigint' ? entry.toString() : entry));
      if (json !== undefined) return json.length > thrownJsonChars ? `${json.slice(0, thrownJsonChars)}...` : json;
    } catch {
      // A cycle: the tag below.
    }
  }
  return text ?? Object.prototype.toString.call(value);
}

const thrownJsonChars = 2_000;
/**
 * Fields of a thrown object left out of what is stored: the request a client made (`headers`,
 * `config`, `request`) and anything named for a credential, whatever its case or separators
 * (`accessToken`, `client_secret`, `X-Api-Key`, `privateKey`).
 */
function isSecretKey(key: string): boolean {
  const bare = key.toLowerCase().replace(/[-_]/g, '');
  return ['headers', 'config', 'request'].includes(bare) || /token|secret|password|passwd|apikey|authorization|cookie|privatekey|credential|bearer/.test(bare);
}
