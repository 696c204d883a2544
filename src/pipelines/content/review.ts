/**
 * The content status topics, blog posts and social posts share (the seed's), and its moves:
 *
 *   draft / rejected --submit--> pending_approval --approve--> approved --publish--> published
 *                                pending_approval --reject (reason required)--> rejected
 *   generating: a job is writing the row; failed: the job gave up
 *
 * approved and published are final: no move leaves them but publish, no one edits such a row, and
 * no job rewrites it (`finalStatuses`).
 *
 * Each move is one conditional UPDATE (`WHERE status = ANY(from)`), so two supervisors approving
 * at once cannot both succeed: the second sees 409 with the status the first one left.
 */
import { isUuid, type Queryable } from '../../kit/index.ts';
import { ValidationError } from '../../errors.ts';
import { InvalidStatusError } from './errors.ts';
import { firstOrNotFound, isoRow, type Reviewed } from './rows.ts';
import { contentStatuses, type ContentStatus } from './schemas.ts';

export const reviewableKinds = ['topic', 'blog_post', 'social_post'] as const;
export type ReviewableKind = (typeof reviewableKinds)[number];

const tables: Record<ReviewableKind, string> = { topic: 'content_topics', blog_post: 'content_blog_posts', social_post: 'content_social_posts' };

/** What a review move reads of a row: its id and company, and the review fields it shares. */
export interface ReviewState extends Omit<Reviewed, 'created_at'> {
  id: string;
  company_id: string;
}

const stateColumns = 'id, company_id, status, version, task_id, approved_by, approved_at, rejected_by, rejected_at, rejection_reason, published_at, updated_at';

export async function reviewState(database: Queryable, tenant: string, kind: ReviewableKind, id: string): Promise<ReviewState> {
  return (await reviewStates(database, tenant, kind, [id]))[0]!;
}

/**
 * reviewState, share-locked until `transaction` ends: a decision on the row (its UPDATE) commits
 * before this read or after the transaction, never in between.
 */
export async function lockedReviewState(transaction: Queryable, tenant: string, kind: ReviewableKind, id: string): Promise<ReviewState> {
  const rows = isUuid(id) ? (await transaction.query<ReviewState>(`SELECT ${stateColumns} FROM ${tables[kind]} WHERE tenant = $1 AND id = $2 FOR SHARE`, [tenant, id])).rows : [];
  return isoRow(firstOrNotFound(rows, kind.replace('_', ' '), id));
}

/**
 * reviewState of several rows in one query, in the order given; 404 for the first one missing.
 * `lock`: share-locked until the caller's transaction ends, as `lockedReviewState`.
 */
export async function reviewStates(database: Queryable, tenant: string, kind: ReviewableKind, ids: string[], options: { lock?: boolean } = {}): Promise<ReviewState[]> {
  const rows = (await database.query<ReviewState>(`SELECT ${stateColumns} FROM ${tables[kind]} WHERE tenant = $1 AND id = ANY($2::uuid[]) ORDER BY id${options.lock ? ' FOR SHARE' : ''}`, [tenant, ids.filter(isUuid)])).rows;
  const byId = new Map(rows.map((row) => [row.id, isoRow(row)]));
  return ids.map((id) => firstOrNotFound(byId.has(id) ? [byId.get(id)!] : [], kind.replace('_', ' '), id));
}

/**
 * Statuses a supervisor's decision made final. A job asked to rewrite such a post is refused: the
 * rewrite would put it back to `pending_approval` and empty its text while the model wrote, taking
 * an approved or published post away from whoever reads it.
 */
export const finalStatuses: readonly ContentStatus[] = ['approved', 'published'];

/** The statuses a job may rewrite a post from: all but the final ones. */
export const rewritableStatuses: readonly ContentStatus[] = contentStatuses.filter((status) => !finalStatuses.includes(status));

interface Move {
  from: readonly ContentStatus[];
  to: ContentStatus;
  set: string;
}

const moves = {
  submit: { from: ['draft', 'rejected'], to: 'pending_approval', set: '' },
  // An approval clears the last rejection with its reason: the row no longer stands rejected (the
  // decisions stay in the approval_decided events).
  approve: { from: ['pending_approval'], to: 'approved', set: ', approved_by = $4, approved_at = now(), rejected_by = NULL, rejected_at = NULL, rejection_reason = NULL' },
  reject: { from: ['pending_approval'], to: 'rejected', set: ', rejected_by = $4, rejected_at = now(), rejection_reason = $5' },
  publish: { from: ['approved'], to: 'published', set: ', published_at = now()' },
} satisfies Record<string, Move>;
export type ReviewAction = keyof typeof moves;

/**
 * Moves the row; 404 when it is not the tenant's, 409 `invalid_status` (with the current status)
 * when it is not in a status the move starts from. Run it in the transaction that also completes
 * the waiting run's gate, so the decision and the run's wake-up commit together.
 */
export async function moveStatus(database: Queryable, tenant: string, kind: ReviewableKind, id: string, action: ReviewAction, by: { actor?: string; reason?: string } = {}): Promise<ReviewState> {
  return (await moveStatuses(database, tenant, kind, [id], action, by))[0]!;
}

/** moveStatus for several rows in one statement (a run opening a phase's gates); all or an error. */
export async function moveStatuses(database: Queryable, tenant: string, kind: ReviewableKind, ids: string[], action: ReviewAction, by: { actor?: string; reason?: string } = {}): Promise<ReviewState[]> {
  const move: Move = moves[action];
  if (action === 'reject' && (by.reason ?? '').trim().length === 0) {
    throw new ValidationError('A rejection needs a reason.', { issues: [{ path: 'reason', message: 'required, not blank' }] });
  }
  if (ids.length === 0) return [];
  const values: unknown[] = [tenant, ids.filter(isUuid), move.from];
  if (action === 'approve' || action === 'reject') values.push(by.actor ?? 'unknown');
  if (action === 'reject') values.push(by.reason!.trim());
  const updated = (await database.query<ReviewState>(`UPDATE ${tables[kind]} SET status = '${move.to}', updated_at = now()${move.set} WHERE tenant = $1 AND id = ANY($2::uuid[]) AND status = ANY($3::text[]) RETURNING ${stateColumns}`, values)).rows.map(isoRow);
  const byId = new Map(updated.map((row) => [row.id, row]));
  const missing = ids.find((id) => !byId.has(id));
  if (missing !== undefined) {
    const current = await reviewState(database, tenant, kind, missing);
    throw new InvalidStatusError(kind, missing, current.status, move.from);
  }
  return ids.map((id) => byId.get(id)!);
}

/** Rows of the company waiting for a supervisor, oldest first, across the three kinds. */
export async function pendingApprovals(database: Queryable, tenant: string, companyId?: string): Promise<Array<{ kind: ReviewableKind; id: string; company_id: string; title: string; updated_at: string; version: number }>> {
  const filter = companyId ? 'AND company_id = $2' : '';
  const values = companyId ? [tenant, companyId] : [tenant];
  const result = await database.query(
    `SELECT 'topic' AS kind, id, company_id, title, updated_at, version FROM content_topics WHERE tenant = $1 AND status = 'pending_approval' ${filter}
     UNION ALL SELECT 'blog_post', id, company_id, title, updated_at, version FROM content_blog_posts WHERE tenant = $1 AND status = 'pending_approval' ${filter}
     UNION ALL SELECT 'social_post', id, company_id, platform || ': ' || left(text, 80), updated_at, version FROM content_social_posts WHERE tenant = $1 AND status = 'pending_approval' ${filter}
     ORDER BY updated_at, id`,
    values,
  );
  return result.rows.map(isoRow) as Array<{ kind: ReviewableKind; id: string; company_id: string; title: string; updated_at: string; version: number }>;
}
