/**
 * SQL for `projects`, `project_files` and `project_important_dates`. Every query is scoped by
 * tenant; a project of another tenant reads as absent.
 */
import { isoTimestamp, isUuid, type Queryable } from '../../kit/index.ts';
import { ValidationError } from '../../errors.ts';
import { otherTypeFieldNames, otherTypeFields, type ProjectCreate, type ProjectType, type ProjectUpdate } from './schemas.ts';

export interface ProjectFile {
  name: string;
  extracted_text: string;
}

export interface ImportantDate {
  title: string;
  /** YYYY-MM-DD */
  date: string;
}

export interface Project {
  id: string;
  name: string;
  project_type: ProjectType;
  course_name: string | null;
  course_code: string | null;
  teacher: string | null;
  goal_description: string | null;
  study_frequency: string | null;
  is_draft: boolean;
  created_at: string;
  updated_at: string;
  files: ProjectFile[];
  important_dates: ImportantDate[];
}

/** A project in a listing: file names and sizes instead of their (possibly long) texts. */
export type ProjectSummary = Omit<Project, 'files'> & { files: Array<{ name: string; text_length: number }> };

const projectColumns = `p.id, p.name, p.project_type, p.course_name, p.course_code, p.teacher, p.goal_description, p.study_frequency,
  p.is_draft, ${isoTimestamp('p.created_at')} AS created_at, ${isoTimestamp('p.updated_at')} AS updated_at`;

const datesColumn = `coalesce((SELECT jsonb_agg(jsonb_build_object('title', d.title, 'date', to_char(d.date, 'YYYY-MM-DD')) ORDER BY d.position)
  FROM project_important_dates d WHERE d.project_id = p.id), '[]'::jsonb) AS important_dates`;

/** The fields a project row stores (everything but files and dates). */
const scalarFields = ['name', 'project_type', 'course_name', 'course_code', 'teacher', 'goal_description', 'study_frequency', 'is_draft'] as const;

async function replaceFiles(transaction: Queryable, tenant: string, projectId: string, files: ProjectFile[]): Promise<void> {
  await transaction.query('DELETE FROM project_files WHERE project_id = $1', [projectId]);
  if (files.length === 0) return;
  await transaction.query(
    `INSERT INTO project_files (tenant, project_id, position, name, extracted_text)
     SELECT $1, $2, ordinality::int, name, text FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS f(name, text)`,
    [tenant, projectId, files.map((file) => file.name), files.map((file) => file.extracted_text)],
  );
}

async function replaceDates(transaction: Queryable, tenant: string, projectId: string, dates: ImportantDate[]): Promise<void> {
  await transaction.query('DELETE FROM project_important_dates WHERE project_id = $1', [projectId]);
  if (dates.length === 0) return;
  await transaction.query(
    `INSERT INTO project_important_dates (tenant, project_id, position, title, date)
     SELECT $1, $2, ordinality::int, title, date FROM unnest($3::text[], $4::date[]) WITH ORDINALITY AS d(title, date)`,
    [tenant, projectId, dates.map((entry) => entry.title), dates.map((entry) => entry.date)],
  );
}

/** Inserts a project with its files and dates (call inside a transaction). Returns its id. */
export async function insertProject(transaction: Queryable, tenant: string, input: ProjectCreate): Promise<string> {
  const result = await transaction.query<{ id: string }>(
    `INSERT INTO projects (tenant, name, project_type, course_name, course_code, teacher, goal_description, study_frequency, is_draft)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [tenant, input.name, input.project_type, input.course_name ?? null, input.course_code ?? null, input.teacher ?? null, input.goal_description ?? null, input.study_frequency ?? null, input.is_draft],
  );
  const id = result.rows[0]!.id;
  await replaceFiles(transaction, tenant, id, input.files);
  await replaceDates(transaction, tenant, id, input.important_dates);
  return id;
}

/**
 * Applies a PATCH (call inside a transaction). Returns whether the project exists and whether
 * anything the metadata is built from changed (the trigger for automatic regeneration). A PATCH
 * that sets the other type's fields without changing the type is a ValidationError, and nothing
 * is written.
 */
export async function updateProject(transaction: Queryable, tenant: string, projectId: string, update: ProjectUpdate): Promise<{ found: boolean; contentChanged: boolean }> {
  const before = await transaction.query<{ content: string; project_type: ProjectType }>(
    `SELECT md5(${contentSignatureSql('p')}) AS content, p.project_type FROM projects p WHERE p.tenant = $1 AND p.id = $2 FOR UPDATE`,
    [tenant, projectId],
  );
  if (before.rowCount === 0) return { found: false, contentChanged: false };
  // The schema checks a body that names its type; one that does not is checked against the
  // stored type, read under the row lock so a concurrent type change cannot slip between.
  if (update.project_type === undefined) assertOwnTypeFields(update, before.rows[0]!.project_type);
  // The other type's fields must not survive a type change: the row would say one type and hold
  // another's data. A body that names its type may still send them, as null (the schema allows
  // nothing else); they are cleared here and skipped below, since PostgreSQL refuses a column
  // assigned twice in one UPDATE (42601), which answered such a PATCH with a 500.
  const cleared: readonly string[] = update.project_type === undefined ? [] : otherTypeFieldNames(update.project_type);
  const assignments: string[] = cleared.map((field) => `${field} = NULL`);
  const values: unknown[] = [tenant, projectId];
  for (const field of scalarFields) {
    if (update[field] === undefined || cleared.includes(field)) continue;
    values.push(update[field]);
    assignments.push(`${field} = $${values.length}`);
  }
  assignments.push('updated_at = now()');
  await transaction.query(`UPDATE projects SET ${assignments.join(', ')} WHERE tenant = $1 AND id = $2`, values);
  if (update.files) await replaceFiles(transaction, tenant, projectId, update.files);
  if (update.important_dates) await replaceDates(transaction, tenant, projectId, update.important_dates);
  const after = await transaction.query<{ content: string }>(`SELECT md5(${contentSignatureSql('p')}) AS content FROM projects p WHERE p.tenant = $1 AND p.id = $2`, [tenant, projectId]);
  const contentChanged = after.rows[0]!.content !== before.rows[0]!.content;
  if (contentChanged) await transaction.query('UPDATE projects SET content_changed_at = now() WHERE tenant = $1 AND id = $2', [tenant, projectId]);
  return { found: true, contentChanged };
}

/** Rejects a PATCH that sets fields of the other type than the project's (the body names no type). */
function assertOwnTypeFields(update: ProjectUpdate, storedType: ProjectType): void {
  const otherType = storedType === 'school' ? 'self_study' : 'school';
  const issues = otherTypeFields(update, storedType, `this ${storedType} project`)
    .map((issue) => ({ path: issue.path, message: `${issue.message} (send project_type "${otherType}" to change its type)` }));
  if (issues.length === 0) return;
  throw new ValidationError(`Invalid request body: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { location: 'body', issues });
}

/**
 * Everything the project text is built from, as one text (compared before and after an update).
 * A JSON array keeps each field in its place, NULLs included: `concat_ws` skipped them, so a value
 * moved from one field to its neighbour (a course name that became the teacher) left the text
 * the same and the edit went unregenerated.
 */
function contentSignatureSql(alias: string): string {
  return `jsonb_build_array(${alias}.name, ${alias}.project_type, ${alias}.course_name, ${alias}.course_code, ${alias}.teacher, ${alias}.goal_description, ${alias}.study_frequency,
    (SELECT jsonb_agg(jsonb_build_array(f.name, f.extracted_text) ORDER BY f.position) FROM project_files f WHERE f.project_id = ${alias}.id),
    (SELECT jsonb_agg(jsonb_build_array(d.title, d.date) ORDER BY d.position) FROM project_important_dates d WHERE d.project_id = ${alias}.id))::text`;
}

export async function getProject(database: Queryable, tenant: string, projectId: string): Promise<Project | undefined> {
  const result = await database.query<Project>(
    `SELECT ${projectColumns},
       coalesce((SELECT jsonb_agg(jsonb_build_object('name', f.name, 'extracted_text', f.extracted_text) ORDER BY f.position)
         FROM project_files f WHERE f.project_id = p.id), '[]'::jsonb) AS files,
       ${datesColumn}
     FROM projects p WHERE p.tenant = $1 AND p.id = $2`,
    [tenant, projectId],
  );
  return result.rows[0];
}

export async function projectExists(database: Queryable, tenant: string, projectId: string): Promise<boolean> {
  const result = await database.query('SELECT 1 FROM projects WHERE tenant = $1 AND id = $2', [tenant, projectId]);
  return (result.rowCount ?? 0) > 0;
}

/** A position in created_at order at full (microsecond) precision: `micros:id`. */
export const positionSql = (alias: string): string => `((extract(epoch FROM ${alias}.created_at) * 1000000)::bigint)::text || ':' || ${alias}.id::text`;

/** The timestamptz of a position's microseconds, exactly (no float rounding). */
export const positionTimestamp = (parameter: string): string => `(timestamptz 'epoch' + ${parameter}::bigint * interval '1 microsecond')`;

export class InvalidProjectCursorError extends Error {}

/** The last microsecond of year 9999: a position past it is no time PostgreSQL keeps. */
const lastPositionMicros = 253_402_300_799_999_999n;

export function parsePosition(cursor: string): { micros: string; id: string } {
  const match = /^(\d{1,19}):([0-9a-f-]{36})$/i.exec(cursor);
  // Checked here, not left to the database: its out-of-range error names no field.
  if (!match || BigInt(match[1]!) > lastPositionMicros || !isUuid(match[2]!)) throw new InvalidProjectCursorError('not a cursor returned by this API');
  return { micros: match[1]!, id: match[2]! };
}

/** The tenant's projects, newest first, `limit` at a time after `cursor` (from the previous page). */
export async function listProjects(database: Queryable, tenant: string, options: { limit: number; cursor?: string }): Promise<{ projects: ProjectSummary[]; nextCursor: string | null }> {
  const values: unknown[] = [tenant, options.limit + 1];
  let after = '';
  if (options.cursor) {
    const position = parsePosition(options.cursor);
    values.push(position.micros, position.id);
    after = `AND (p.created_at, p.id) < (${positionTimestamp('$3')}, $4::uuid)`;
  }
  const result = await database.query<ProjectSummary & { position: string }>(
    `SELECT ${projectColumns}, ${positionSql('p')} AS position,
       coalesce((SELECT jsonb_agg(jsonb_build_object('name', f.name, 'text_length', length(f.extracted_text)) ORDER BY f.position)
         FROM project_files f WHERE f.project_id = p.id), '[]'::jsonb) AS files,
       ${datesColumn}
     FROM projects p WHERE p.tenant = $1 ${after}
     ORDER BY p.created_at DESC, p.id DESC LIMIT $2`,
    values,
  );
  const rows = result.rows.slice(0, options.limit);
  const nextCursor = result.rows.length > options.limit ? rows.at(-1)!.position : null;
  return { projects: rows.map(({ position: _position, ...project }) => project), nextCursor };
}

export async function deleteProject(database: Queryable, tenant: string, projectId: string): Promise<boolean> {
  const result = await database.query('DELETE FROM projects WHERE tenant = $1 AND id = $2', [tenant, projectId]);
  return (result.rowCount ?? 0) > 0;
}

export async function projectTypeOf(database: Queryable, tenant: string, projectId: string): Promise<ProjectType | undefined> {
  const result = await database.query<{ project_type: ProjectType }>('SELECT project_type FROM projects WHERE tenant = $1 AND id = $2', [tenant, projectId]);
  return result.rows[0]?.project_type;
}

/**
 * A project's content version: its `content_changed_at` as epoch milliseconds (with the
 * microseconds as a fraction). Every reader uses this one expression, so a version read earlier
 * compares equal in SQL and in JavaScript exactly when the content has not changed since.
 */
export const contentVersionSql = (alias: string): string => `(extract(epoch FROM ${alias}.content_changed_at) * 1000)::float8`;

/**
 * When the text the metadata is built from last changed (epoch ms, `contentVersionSql`), or
 * undefined when the project is gone. Not updated_at, which every PATCH moves (`is_draft` alone too).
 *
 * Waits for an edit in progress: an edit submits its regeneration before it commits, holding the
 * row lock (project-service.ts), and the task may start at once. The weakest row lock (`KEY
 * SHARE`, held only for this statement outside a transaction) waits for that edit's commit or
 * rollback, and then reads what it left.
 */
export async function projectContentChangedAt(database: Queryable, tenant: string, projectId: string): Promise<number | undefined> {
  const result = await database.query<{ changed_ms: number }>(`SELECT ${contentVersionSql('p')} AS changed_ms FROM projects p WHERE p.tenant = $1 AND p.id = $2 FOR KEY SHARE`, [tenant, projectId]);
  return result.rows[0]?.changed_ms;
}
