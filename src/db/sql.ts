/**
 * SQL fragments shared by every store.
 */

/**
 * True for a well-formed uuid. A path's id that is not one is simply not found: cast to `uuid` in
 * a statement it would fail the statement (a 500) instead.
 */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A timestamptz column as the API shows times: ISO 8601 in UTC with milliseconds
 * (`2026-11-22T03:16:24.458Z`), formatted by PostgreSQL so rows need no conversion in Node.
 */
export function isoTimestamp(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * Where a statement that writes a batch reads its rows from. `manyRows` takes each column as an
 * array parameter and unnests them (`unnest($1::uuid[], $2::text[])`); `oneRow` takes the one
 * row's values as scalars (`(VALUES ($1::uuid, $2::text))`). The statement text is the same
 * either way, so a batch of one can be prepared as a statement of its own at no cost in code.
 *
 * Why one row gets its own form: a submit beside an idle worker is one task and, when a task
 * just ended, one finish, and its task's submit-to-start is that statement's round trip. Bound as
 * 23 one-element arrays, the server parsed each array and unnested and joined them at every
 * execution; as scalars, the round trip took 0.05-0.08 ms less (samples alternating in one
 * process; docs/benchmarks.md, fifteenth session).
 */
export interface RowSource {
  /** The FROM item yielding the rows, from `$n::type` columns written without `[]`. */
  rows(columns: readonly string[]): string;
  /** A column's parameter: the items' values as an array, or the one item's value. */
  column<Item, Value>(items: readonly Item[], pick: (item: Item, index: number) => Value): Value[] | Value;
  /** Part of a prepared statement's name, so that the two forms are prepared apart. */
  readonly suffix: string;
}

export const manyRows: RowSource = {
  rows: (columns) => `unnest(${columns.map((column) => `${column}[]`).join(', ')})`,
  column: (items, pick) => items.map((item, index) => pick(item, index)),
  suffix: '',
};

export const oneRow: RowSource = {
  rows: (columns) => `(VALUES (${columns.join(', ')}))`,
  column: (items, pick) => {
    if (items.length !== 1) throw new Error(`oneRow binds exactly one row, not ${items.length}`);
    return pick(items[0]!, 0);
  },
  suffix: '_one',
};

/** `oneRow` for a batch of one, `manyRows` otherwise. */
export function rowSourceFor(items: readonly unknown[]): RowSource {
  return items.length === 1 ? oneRow : manyRows;
}
