/**
 * Results and errors as readable views: objects as labelled rows, arrays of objects as lists
 * of cards, long strings as paragraphs; the raw JSON is one click away.
 */
import { memo } from 'preact/compat';
import { useState } from 'preact/hooks';
import { formatNumber, humanize } from '../lib/format.ts';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Arrays of flat objects with the same few keys read best as a table. */
function tableOf(value: unknown[]): { columns: string[]; rows: Array<Record<string, unknown>> } | null {
  if (value.length === 0 || !value.every(isPlainObject)) return null;
  const rows = value as Array<Record<string, unknown>>;
  const columns = Object.keys(rows[0]!);
  if (columns.length === 0 || columns.length > 8) return null;
  const sameKeys = rows.every((row) => Object.keys(row).length === columns.length && columns.every((column) => column in row));
  const flat = rows.every((row) => Object.values(row).every((entry) => entry === null || typeof entry !== 'object'));
  return sameKeys && flat ? { columns, rows } : null;
}

/** `shownWhole`: a list the reader asked to see all of (LongList), drawn in full at this level. */
function Value({ value, depth, shownWhole = false }: { value: unknown; depth: number; shownWhole?: boolean }) {
  if (value === null || value === undefined) return <span class="muted">none</span>;
  if (typeof value === 'boolean') return <span>{value ? 'yes' : 'no'}</span>;
  // Grouped from five digits: a four-digit whole number is as often a year (2027) as a count.
  if (typeof value === 'number') return <span class="number">{Number.isInteger(value) && Math.abs(value) < 10_000 ? String(value) : formatNumber(value)}</span>;
  if (typeof value === 'string') {
    return value.length > 120 || value.includes('\n') ? <p class="prose">{value}</p> : <span>{value}</span>;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="muted">empty list</span>;
    if (value.length > shownEntries && !shownWhole) return <LongList value={value} depth={depth} />;
    if (value.every((entry) => !isPlainObject(entry) && !Array.isArray(entry))) {
      return value.length <= 6 && value.every((entry) => String(entry).length < 40)
        ? <span>{value.map(String).join(', ')}</span>
        : <ul class="plain-list">{value.map((entry, index) => <li key={index}><Value value={entry} depth={depth + 1} /></li>)}</ul>;
    }
    const table = tableOf(value);
    if (table) {
      return (
        <div class="table-scroll">
          <table class="data-table compact">
            <thead><tr>{table.columns.map((column) => <th key={column} scope="col">{humanize(column)}</th>)}</tr></thead>
            <tbody>
              {table.rows.map((row, index) => (
                <tr key={index}>{table.columns.map((column) => <td key={column} class={typeof row[column] === 'number' ? 'numeric' : undefined}><Value value={row[column]} depth={depth + 1} /></td>)}</tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    return (
      <ol class="card-list">
        {value.map((entry, index) => <li key={index} class="card-list-item"><Value value={entry} depth={depth + 1} /></li>)}
      </ol>
    );
  }
  if (isPlainObject(value)) {
    if (depth > 4) return <code class="inline-json">{JSON.stringify(value)}</code>;
    const entries = Object.entries(value);
    if (entries.length === 0) return <span class="muted">empty</span>;
    return (
      <dl class="readable">
        {entries.map(([key, entry]) => (
          <div class="readable-row" key={key}>
            <dt>{humanize(key)}</dt>
            <dd><Value value={entry} depth={depth + 1} /></dd>
          </div>
        ))}
      </dl>
    );
  }
  return <span>{String(value)}</span>;
}

/**
 * Entries of a list shown before "Show all": a result of 5,000 records drew 130,000 elements and
 * held the page blank for 5-11 s.
 */
const shownEntries = 100;

function LongList({ value, depth }: { value: unknown[]; depth: number }) {
  const [all, setAll] = useState(false);
  return (
    <div data-testid="long-list">
      <Value value={all ? value : value.slice(0, shownEntries)} depth={depth} shownWhole={all} />
      {all ? null : (
        <p class="muted small">
          {formatNumber(shownEntries)} of {formatNumber(value.length)} shown.{' '}
          <button type="button" class="link-button" onClick={() => setAll(true)}>Show all {formatNumber(value.length)}</button>
        </p>
      )}
    </div>
  );
}

/** Re-rendered only when its value changes: a task page re-renders every second for its clocks. */
export const JsonView = memo(function JsonView({ value, label }: { value: unknown; label: string }) {
  const [raw, setRaw] = useState(false);
  return (
    <div class="json-view">
      <div class="json-view-toolbar">
        <button type="button" class="link-button" aria-pressed={raw} onClick={() => setRaw(!raw)}>
          {raw ? `Readable ${label}` : `Raw JSON of ${label}`}
        </button>
      </div>
      {raw ? <pre class="raw-json" tabIndex={0}>{JSON.stringify(value, null, 2)}</pre> : <Value value={value} depth={0} />}
    </div>
  );
});
