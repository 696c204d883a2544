/**
 * Recognises a lost or refused database connection, as opposed to an error in a statement.
 * Callers use it to answer "the database is away, try again shortly" (the API's 503
 * dependency_failed) instead of treating an outage as a bug.
 *
 * pg gives SQLSTATEs to errors the server sends (class 08 connection exceptions, 57P0x for a
 * terminated backend or a server shutting down or starting up, 53300 too many connections) and
 * Node gives socket errors an errno code; the few errors pg raises itself (a connection that
 * ended, a pool checkout that timed out) carry neither, so those are matched by message, the one
 * place in taskloom that does.
 */
const connectionSqlStates = /^(08[0-9A-Z]{3}|57P0[1-3]|53300)$/;
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const pgClientMessages = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Client was closed and is not queryable',
];

/**
 * `followCauses: false` looks at the error itself only: a caller that may be handed any thrown
 * value (a task's handler) must not take an HTTP client's refused connection, which `fetch`
 * reports as `TypeError('fetch failed')` with the socket error as its cause, for the database's.
 */
export function isDatabaseConnectionError(error: unknown, options: { followCauses?: boolean } = {}): boolean {
  const depthLimit = options.followCauses === false ? 1 : 5;
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < depthLimit; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (connectionSqlStates.test(code) || socketCodes.has(code))) return true;
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && pgClientMessages.some((known) => message.startsWith(known))) return true;
    // A dual-stack connect that fails on every address is an AggregateError of socket errors.
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((inner) => isDatabaseConnectionError(inner, options))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether `error` itself is a socket error as Node reports it (an errno code, or an AggregateError
 * of them): what the driver throws when it cannot reach the server, but also what any other
 * network client throws (`node:http`, another service's client), so it does not say whose
 * connection failed.
 */
export function isSocketError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && socketCodes.has(code)) return true;
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every(isSocketError);
}
