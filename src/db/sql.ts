/**
 * SQL fragments shared by every store.
 */

/**
 * A timestamptz column as the API shows times: ISO 8601 in UTC with milliseconds
 * (`2026-11-22T03:16:24.458Z`), formatted by PostgreSQL so rows need no conversion in Node.
 */
export function isoTimestamp(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
