/**
 * Removes network addresses from text users and events see. A failed connection's message names
 * the host and port dialled (`connect ECONNREFUSED 10.0.3.7:19101`, a provider's or Payload's
 * internal URL): useful in the operator's log, a map of the internal network in a task's error.
 * Logs keep the original error object; what is stored for users goes through here.
 */
const placeholder = '[internal address]';

const patterns: RegExp[] = [
  // URLs: keep the scheme, drop the authority and everything after it. Not one redacted already
  // (the placeholder alone): a stored error wrapping a redacted message is redacted again, and
  // `http://[internal` matched. A URL that only starts with the placeholder is redacted whole.
  /\b[a-z][a-z0-9+.-]*:\/\/(?!\[internal address\](?:[\s'"<>]|$))(?:\[internal address\]|[^\s'"<>])+/gi,
  // Bracketed IPv6, with an optional zone and port.
  /\[[0-9a-f:.]*:[0-9a-f:.]*(?:%[\w.-]+)?\](?::\d+)?/gi,
  // IPv4, with an optional port.
  /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g,
  // Bare IPv6 with a `::` (fe80::1, ::ffff:a00:1, ::1) or eight full groups. The `::` is required
  // and a group must stand on one side of it: a lone `:1` is JSON's `"a":1`, a bare `::` a C++ scope.
  /(?<![\w:])(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?|::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})(?![\w:])/gi,
  /\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b/gi,
];

/** After these socket error codes comes the host (or host:port) that failed. */
const afterSocketCode = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNABORTED)\s+(?!\[internal address\])[^\s,;)]+/g;

export function redactAddresses(text: string): string {
  let result = text;
  for (const pattern of patterns) result = result.replace(pattern, (match) => (match.includes('://') ? `${match.slice(0, match.indexOf('://') + 3)}${placeholder}` : placeholder));
  return result
    .replace(afterSocketCode, (_match, code: string) => `${code} ${placeholder}`)
    .replace(/\blocalhost(?::\d+)?\b/gi, placeholder);
}
