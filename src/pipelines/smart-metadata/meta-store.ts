/**
 * SQL for `project_meta`. The pipeline writes and deletes only rows with key
 * `ai_generated_metadata`; users' own keys are written through setUserMeta and never touched by
 * the pipeline's tasks (every AI query names the key).
 */
import type { Queryable } from '../../kit/index.ts';
import { contentVersionSql } from './projects-store.ts';
import { aiMetadataKey, type AiMetadataValue } from './schemas.ts';

/** All keys of each project, `{key: value}` per project id. */
export async function metaOfProjects(database: Queryable, tenant: string, projectIds: string[]): Promise<Map<string, Record<string, unknown>>> {
  const meta = new Map<string, Record<string, unknown>>(projectIds.map((id) => [id, {}]));
  if (projectIds.length === 0) return meta;
  const result = await database.query<{ project_id: string; key: string; value: unknown }>(
    'SELECT project_id, key, value FROM project_meta WHERE tenant = $1 AND project_id = ANY($2::uuid[]) ORDER BY key',
    [tenant, projectIds],
  );
  for (const row of result.rows) meta.get(row.project_id)![row.key] = row.value;
  return meta;
}

export async function readAiMetadata(database: Queryable, tenant: string, projectId: string): Promise<AiMetadataValue | undefined> {
  const result = await database.query<{ value: AiMetadataValue }>('SELECT value FROM project_meta WHERE tenant = $1 AND project_id = $2 AND key = $3', [tenant, projectId, aiMetadataKey]);
  return result.rows[0]?.value;
}

/**
 * A condition on an AI row (`row`): it describes content older than `version` (a timestamptz
 * expression). A row without `content_changed_at` was stored before migration 0006, and is taken
 * to describe the content it was written after (`updated_at`).
 */
export const describesOlderContent = (row: string, version: string): string => `coalesce(${row}.content_changed_at, ${row}.updated_at) < ${version}`;

/**
 * Replaces the project's AI row (insert or overwrite). `contentVersion`: the project's content
 * version the value was generated from (`AnalysisResult.contentVersion`), which the row records
 * (exactly while it is still the project's, so `aiMetadataIsCurrent` can tell later whether the
 * row describes the current content; otherwise to the microsecond, older than the project's).
 * `keepNewer`: write only where the project has no AI row or its row describes older content (the
 * back-fill must not overwrite metadata generated meanwhile). Returns whether it wrote, or
 * undefined when the project no longer exists.
 */
export async function writeAiMetadata(
  transaction: Queryable, tenant: string, projectId: string, value: AiMetadataValue,
  options: { contentVersion?: number; keepNewer?: boolean } = {},
): Promise<boolean | undefined> {
  // Lock the project row: a concurrent delete either happens before (we see no row and write
  // nothing) or waits for this commit (and its cascade removes what we wrote); an edit waits too,
  // so the version compared below is the one the row is stored beside.
  const project = await transaction.query('SELECT 1 FROM projects WHERE tenant = $1 AND id = $2 FOR SHARE', [tenant, projectId]);
  if (project.rowCount === 0) return undefined;
  const update = 'DO UPDATE SET value = excluded.value, content_changed_at = excluded.content_changed_at, updated_at = now()';
  const result = await transaction.query(
    `INSERT INTO project_meta (tenant, project_id, key, value, content_changed_at)
     VALUES ($1, $2, $3, $4, coalesce(
       (SELECT p.content_changed_at FROM projects p WHERE p.id = $2 AND ${contentVersionSql('p')} = $5::float8),
       to_timestamp($5::float8 / 1000)))
     ON CONFLICT (project_id, key) ${update}${options.keepNewer ? ` WHERE ${describesOlderContent('project_meta', 'excluded.content_changed_at')}` : ''}`,
    [tenant, projectId, aiMetadataKey, JSON.stringify(value), options.contentVersion ?? null],
  );
  return (result.rowCount ?? 0) > 0;
}

/**
 * What the project's AI metadata lacks: `missing` (no row), `outdated` (a row describing older
 * content than the project's, `describesOlderContent`), or null (a row of its current content, or
 * no such project). The back-fill generates the first two, and checks again under its claim.
 */
export async function aiMetadataLack(database: Queryable, tenant: string, projectId: string): Promise<'missing' | 'outdated' | null> {
  const result = await database.query<{ lack: 'missing' | 'outdated' | null }>(
    `SELECT CASE WHEN m.id IS NULL THEN 'missing' WHEN ${describesOlderContent('m', 'p.content_changed_at')} THEN 'outdated' END AS lack
     FROM projects p LEFT JOIN project_meta m ON m.project_id = p.id AND m.key = $3
     WHERE p.tenant = $1 AND p.id = $2`,
    [tenant, projectId, aiMetadataKey],
  );
  return result.rows[0]?.lack ?? null;
}

/**
 * Whether the project's AI row describes its current content: it was generated from the text the
 * project still has. False without a row, and for a row stored after an edit it did not read.
 */
export async function aiMetadataIsCurrent(database: Queryable, tenant: string, projectId: string): Promise<boolean> {
  const result = await database.query(
    `SELECT 1 FROM project_meta m JOIN projects p ON p.id = m.project_id
     WHERE m.tenant = $1 AND m.project_id = $2 AND m.key = $3 AND m.content_changed_at = p.content_changed_at`,
    [tenant, projectId, aiMetadataKey],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Sets a user's own key. The caller has checked the key is not the pipeline's. */
export async function setUserMeta(database: Queryable, tenant: string, projectId: string, key: string, value: unknown): Promise<boolean> {
  const result = await database.query(
    `INSERT INTO project_meta (tenant, project_id, key, value)
     SELECT $1, id, $3, $4 FROM projects WHERE tenant = $1 AND id = $2
     ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value, updated_at = now()`,
    [tenant, projectId, key, JSON.stringify(value)],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function deleteUserMeta(database: Queryable, tenant: string, projectId: string, key: string): Promise<boolean> {
  const result = await database.query('DELETE FROM project_meta WHERE tenant = $1 AND project_id = $2 AND key = $3 AND key <> $4', [tenant, projectId, key, aiMetadataKey]);
  return (result.rowCount ?? 0) > 0;
}

/**
 * The AI rows of draft projects created more than `draftAgeDays` ago whose metadata is as old
 * (what a cleanup would remove): a draft's metadata generated last hour is not old, whatever the
 * project's age.
 */
export async function staleAiMetadata(database: Queryable, options: { tenant: string | undefined; draftAgeDays: number }): Promise<Array<{ id: string; project_id: string; tenant: string }>> {
  const result = await database.query<{ id: string; project_id: string; tenant: string }>(
    `SELECT m.id, m.project_id, m.tenant FROM project_meta m JOIN projects p ON p.id = m.project_id
     WHERE m.key = $1 AND p.is_draft AND p.created_at < now() - $2 * interval '1 day' AND m.updated_at < now() - $2 * interval '1 day'
       AND ($3::text IS NULL OR m.tenant = $3)
     ORDER BY m.tenant, m.project_id`,
    [aiMetadataKey, options.draftAgeDays, options.tenant ?? null],
  );
  return result.rows;
}

/**
 * Deletes exactly these AI rows if each still qualifies (key, draft, both ages). Returns how many went;
 * fewer than asked means a project changed since the rows were chosen.
 */
export async function deleteAiMetadataRows(transaction: Queryable, ids: string[], draftAgeDays: number): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await transaction.query(
    `DELETE FROM project_meta m USING projects p
     WHERE m.id = ANY($1::uuid[]) AND m.key = $2 AND p.id = m.project_id AND p.is_draft AND p.created_at < now() - $3 * interval '1 day'
       AND m.updated_at < now() - $3 * interval '1 day'`,
    [ids, aiMetadataKey, draftAgeDays],
  );
  return result.rowCount ?? 0;
}
