/**
 * Edits a person made to generated content: each changed field with its old and new value, and
 * the API key that made it, recorded in the transaction that changes the row.
 */
import type { Queryable } from '../../kit/index.ts';

export type EditedEntity = 'company' | 'company_dna' | 'persona' | 'topic' | 'blog_post' | 'social_post';

/** The fields of `changes` whose values differ from `before`, as {field: {from, to}}. */
export function diffFields(before: Record<string, unknown>, changes: Record<string, unknown>): Record<string, { from: unknown; to: unknown }> {
  const diff: Record<string, { from: unknown; to: unknown }> = {};
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (JSON.stringify(before[field]) !== JSON.stringify(value)) diff[field] = { from: before[field] ?? null, to: value };
  }
  return diff;
}

export async function recordEdit(database: Queryable, edit: { tenant: string; entity: EditedEntity; entityId: string; editedBy: string; changes: Record<string, { from: unknown; to: unknown }> }): Promise<void> {
  if (Object.keys(edit.changes).length === 0) return;
  await database.query('INSERT INTO content_edits (tenant, entity, entity_id, edited_by, changes) VALUES ($1, $2, $3, $4, $5)', [edit.tenant, edit.entity, edit.entityId, edit.editedBy, JSON.stringify(edit.changes)]);
}

export async function listEdits(database: Queryable, tenant: string, entity: EditedEntity, entityId: string): Promise<Array<Record<string, unknown>>> {
  const result = await database.query('SELECT id, entity, entity_id, edited_by, changes, created_at FROM content_edits WHERE tenant = $1 AND entity = $2 AND entity_id = $3 ORDER BY id', [tenant, entity, entityId]);
  return result.rows.map((row: Record<string, unknown>) => ({ ...row, id: Number(row.id), created_at: (row.created_at as Date).toISOString() }));
}

/** Whether a person edited any of `entityIds` (of `entity`): such a row is theirs, whoever wrote it first. */
export async function editedByPerson(database: Queryable, tenant: string, entity: EditedEntity, entityIds: readonly string[]): Promise<boolean> {
  if (entityIds.length === 0) return false;
  const result = await database.query('SELECT 1 FROM content_edits WHERE tenant = $1 AND entity = $2 AND entity_id = ANY($3::uuid[]) LIMIT 1', [tenant, entity, entityIds]);
  return (result.rowCount ?? 0) > 0;
}
