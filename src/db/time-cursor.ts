/**
 * Keyset cursors on (created_at, id), newest first: the row's created_at to the microsecond and
 * its uuid, base64url JSON. Microseconds, because rows written together (one group commit shares
 * one now()) differ below the millisecond a record shows, and a millisecond cursor would skip or
 * repeat the rest of a page's last millisecond.
 */
import { isUuid } from './sql.ts';

/** The SELECT expression that gives `column` as a cursor's time (UTC, microseconds). */
export function cursorTimeSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export function encodeTimeCursor(position: { at: string; id: string }): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/** A time as cursorTimeSql writes it, and a real date (month 13 or February 30 read as another or none). */
function isCursorTime(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(text)) return false;
  const parsed = new Date(`${text.slice(0, 23)}Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 23) === text.slice(0, 23);
}

/**
 * The position a cursor names, or undefined for anything encodeTimeCursor did not write: refused
 * by the caller naming the cursor, not left to the database's out-of-range error, which names no
 * field (JavaScript's Date.parse takes "1" for a date).
 */
export function decodeTimeCursor(cursor: string): [at: string, id: string] | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' && isCursorTime(value[0]) && isUuid(value[1])) {
      return [value[0], value[1]];
    }
  } catch {
    // An unreadable cursor: undefined below.
  }
  return undefined;
}
