/**
 * Row helpers shared by the content stores: timestamps as ISO strings, and the one error a
 * missing or other tenant's row answers (404, never 403: another tenant's ids do not exist).
 */
import { NotFoundError } from '../../errors.ts';
import type { ContentStatus } from './schemas.ts';

/** A row with its Date columns as ISO-8601 strings (the API's timestamp format). */
export function isoRow<Row extends object>(row: Row): Row {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row as Record<string, unknown>)) result[key] = value instanceof Date ? value.toISOString() : value;
  return result as Row;
}

/**
 * A row PostgreSQL sent as JSON (`row_to_json`): its `*_at` timestamps, which JSON carries as
 * PostgreSQL's text, as the ISO-8601 strings isoRow gives a row the driver parsed.
 */
export function isoJsonRow<Row extends object>(row: Row): Row {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row as Record<string, unknown>)) result[key] = key.endsWith('_at') && typeof value === 'string' ? new Date(value).toISOString() : value;
  return result as Row;
}

export function firstOrNotFound<Row>(rows: Row[], what: string, id: string): Row {
  const row = rows[0];
  if (!row) throw new NotFoundError(what, id);
  return row;
}


/** The review fields topics, blog posts and social posts share (the seed's content status). */
export interface Reviewed {
  status: ContentStatus;
  approved_by: string | null;
  approved_at: string | null;
  rejected_by: string | null;
  rejected_at: string | null;
  rejection_reason: string | null;
  published_at: string | null;
  version: number;
  /** The model that wrote the text (`offline:` for the offline stand-in); null before migration content/0002. */
  model: string | null;
  task_id: string | null;
  created_at: string;
  updated_at: string;
}

