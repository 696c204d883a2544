/**
 * Topics (content_topics): a month's plan, one row per post to write, tied to a persona and a week.
 */
import { isUuid, type Queryable } from '../../kit/index.ts';
import { ValidationError } from '../../errors.ts';
import { diffFields, recordEdit } from './edits.ts';
import { InvalidStatusError } from './errors.ts';
import { firstOrNotFound, isoRow, type Reviewed } from './rows.ts';
import type { ContentStatus, GeneratedTopic } from './schemas.ts';

export interface Topic extends GeneratedTopic, Reviewed {
  id: string;
  company_id: string;
  persona_id: string;
  year: number;
  month: number;
}

export const topicColumns = 'id, company_id, persona_id, title, description, keywords, year, month, week_number, status, approved_by, approved_at, rejected_by, rejected_at, rejection_reason, published_at, version, model, task_id, created_at, updated_at';

/** Statuses in which a person may still change the text. */
export const editableStatuses: readonly ContentStatus[] = ['draft', 'pending_approval', 'rejected'];

/** A persona's topics of a month, in one statement (inside its step's transaction). */
export async function insertTopics(database: Queryable, scope: { tenant: string; companyId: string; taskId: string; year: number; month: number; status: ContentStatus; model: string | null }, topics: Array<GeneratedTopic & { id: string; persona_id: string }>): Promise<void> {
  if (topics.length === 0) return;
  await database.query(
    `INSERT INTO content_topics (id, tenant, company_id, persona_id, title, description, keywords, year, month, week_number, status, task_id, model)
     SELECT topic.id, $1, $2, topic.persona_id, topic.title, topic.description, topic.keywords, $3, $4, topic.week_number, $5, $6, $8
     FROM jsonb_to_recordset($7::jsonb) AS topic (id uuid, persona_id uuid, title text, description text, keywords text[], week_number int, position int)
     ORDER BY topic.position`,
    [scope.tenant, scope.companyId, scope.year, scope.month, scope.status, scope.taskId, JSON.stringify(topics.map(({ id, persona_id, title, description, keywords, week_number }, position) => ({ id, persona_id, title, description, keywords, week_number, position }))), scope.model],
  );
}

/**
 * Rewrites a rejected topic with a regenerated one, version + 1: `draft` when its run opens the
 * next gate itself, `pending_approval` when a standalone job rewrote it. Only while the topic is
 * still `rejected` at `rejectedVersion`: a person who submitted, approved or rejected it again
 * while the model wrote made a newer decision, and it wins (nothing is written). Returns whether
 * the rewrite was written.
 */
export async function replaceTopicText(database: Queryable, id: string, topic: GeneratedTopic, status: Extract<ContentStatus, 'draft' | 'pending_approval'>, rejectedVersion: number, model: string | null): Promise<boolean> {
  const updated = await database.query(
    `UPDATE content_topics SET title = $2, description = $3, keywords = $4, week_number = $5, status = $6, version = version + 1, model = $8,
       approved_by = NULL, approved_at = NULL, updated_at = now() WHERE id = $1 AND status = 'rejected' AND version = $7`,
    [id, topic.title, topic.description, topic.keywords, topic.week_number, status, rejectedVersion, model],
  );
  return updated.rowCount === 1;
}

export interface TopicFilter {
  companyId: string;
  year?: number | undefined;
  month?: number | undefined;
  status?: ContentStatus | undefined;
  ids?: string[] | undefined;
}

export async function listTopics(database: Queryable, tenant: string, filter: TopicFilter): Promise<Topic[]> {
  const conditions = ['tenant = $1', 'company_id = $2'];
  const values: unknown[] = [tenant, filter.companyId];
  const add = (sql: string, value: unknown): void => {
    values.push(value);
    conditions.push(sql.replace('?', `$${values.length}`));
  };
  if (filter.year !== undefined) add('year = ?', filter.year);
  if (filter.month !== undefined) add('month = ?', filter.month);
  if (filter.status !== undefined) add('status = ?', filter.status);
  if (filter.ids !== undefined) add('id = ANY(?::uuid[])', filter.ids);
  const result = await database.query<Topic>(`SELECT ${topicColumns} FROM content_topics WHERE ${conditions.join(' AND ')} ORDER BY year, month, week_number, created_at, id`, values);
  return result.rows.map(isoRow);
}

/** `forUpdate`: locked until the caller's transaction ends (an edit checks the status it changes under the lock). */
export async function getTopic(database: Queryable, tenant: string, id: string, options: { forUpdate?: boolean } = {}): Promise<Topic> {
  const rows = isUuid(id) ? (await database.query<Topic>(`SELECT ${topicColumns} FROM content_topics WHERE tenant = $1 AND id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`, [tenant, id])).rows : [];
  return isoRow(firstOrNotFound(rows, 'topic', id));
}

export async function editTopic(database: Queryable, tenant: string, id: string, changes: Partial<GeneratedTopic>, editedBy: string): Promise<Topic> {
  // Locked, so that an approval committing meanwhile is waited for and its status seen here: an
  // edit read unlocked could land on a row just approved, which is final.
  const before = await getTopic(database, tenant, id, { forUpdate: true });
  if (!editableStatuses.includes(before.status)) throw new InvalidStatusError('topic', id, before.status, editableStatuses);
  if (Object.keys(changes).length === 0) throw new ValidationError('Nothing to change.', { issues: [{ path: '(root)', message: 'no field given' }] });
  await database.query(
    'UPDATE content_topics SET title = coalesce($3, title), description = coalesce($4, description), keywords = coalesce($5, keywords), week_number = coalesce($6, week_number), updated_at = now() WHERE tenant = $1 AND id = $2',
    [tenant, id, changes.title ?? null, changes.description ?? null, changes.keywords ?? null, changes.week_number ?? null],
  );
  await recordEdit(database, { tenant, entity: 'topic', entityId: id, editedBy, changes: diffFields(before as unknown as Record<string, unknown>, changes) });
  return getTopic(database, tenant, id);
}
