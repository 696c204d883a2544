/**
 * The job of its own that a rejection with `regenerate` gets when no run will act on it, and how
 * that job knows the rejection it answers still stands.
 *
 * The job is written in the deciding transaction (`engine.submitWithin`), after the rejection's
 * UPDATE: the rejection and its job commit together or not at all, and a process dying anywhere
 * in between loses nothing and leaves no row behind. No second connection is taken while the
 * deciding one is held (submitting through the pool from inside it did, and a burst of
 * rejections could hold every connection of the pool, each waiting for another).
 *
 * The job's first step reads the row `FOR SHARE` and goes on only while it is still `rejected` by
 * that decision: its `rejected_at`, the deciding transaction's `now()`, is in the job's input. A
 * later decision on the row (a person's submit, another rejection, which has another
 * `rejected_at`) means there is nothing left for this job to do, and each rejection's job runs
 * once (its idempotency key is derived from the same rejection).
 */
import type { Engine, PoolClient, Queryable } from '../../kit/index.ts';
import { getCompany } from './companies-store.ts';
import type { ReviewableKind } from './review.ts';
import { jobTypes, taskTypeFor, type JobType } from './schemas.ts';
import type { ContentServices } from './services.ts';

const tables: Record<ReviewableKind, string> = { topic: 'content_topics', blog_post: 'content_blog_posts', social_post: 'content_social_posts' };

/** The rejected row, as the job that rewrites it names it in its input. */
export type RejectedRow =
  | { kind: 'topic'; topicId: string }
  | { kind: 'blog_post'; topicId: string }
  | { kind: 'social_post'; blogPostId: string; platform: string };

function rowCondition(row: RejectedRow): { sql: string; values: string[] } {
  if (row.kind === 'topic') return { sql: 'id = $3', values: [row.topicId] };
  if (row.kind === 'blog_post') return { sql: 'topic_id = $3', values: [row.topicId] };
  return { sql: 'blog_post_id = $3 AND platform = $4', values: [row.blogPostId, row.platform] };
}

/**
 * True while the row is still `rejected` by the rejection made at `rejectedAt`. Waits for a
 * deciding transaction that holds the row (the rejection that submitted the job, not committed
 * yet) to end first.
 */
export async function rejectionStands(database: Queryable, tenant: string, row: RejectedRow, rejectedAt: string): Promise<boolean> {
  const condition = rowCondition(row);
  const result = await database.query<{ stands: boolean }>(
    `SELECT status = 'rejected' AND rejected_at = $2::timestamptz AS stands FROM ${tables[row.kind]} WHERE tenant = $1 AND ${condition.sql} FOR SHARE`,
    [tenant, rejectedAt, ...condition.values],
  );
  return result.rows[0]?.stands === true;
}

/** What a rejection's own job is submitted with. */
export interface RegenerationRequest {
  tenant: string;
  kind: ReviewableKind;
  id: string;
  reason: string;
}

/**
 * Submits the job that rewrites a rejected row no run will act on; returns its id. Call it inside
 * the deciding transaction, after the rejection's UPDATE: the job exists only if that transaction
 * commits (see above).
 */
export async function submitRegeneration(services: ContentServices & { engine: Engine }, transaction: PoolClient, request: RegenerationRequest): Promise<string> {
  const { engine } = services;
  // Full precision (microseconds), so the job compares the very timestamp the row holds.
  const found = await transaction.query<{ company_id: string; rejected_at: string; version: number; topic_id: string | null; blog_post_id: string | null; platform: string | null }>(
    `SELECT company_id, version, to_char(rejected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS rejected_at, ${request.kind === 'topic' ? 'id AS topic_id, NULL AS blog_post_id, NULL AS platform' : request.kind === 'blog_post' ? 'topic_id, NULL AS blog_post_id, NULL AS platform' : 'NULL AS topic_id, blog_post_id, platform'}
     FROM ${tables[request.kind]} WHERE tenant = $1 AND id = $2 AND status = 'rejected'`,
    [request.tenant, request.id],
  );
  const row = found.rows[0]!;
  const company = await getCompany(transaction, request.tenant, row.company_id);
  const submit = async (jobType: JobType, input: Record<string, unknown>): Promise<string> => {
    const { task } = await engine.submitWithin(transaction, {
      taskType: taskTypeFor(jobType, company.plan),
      tenant: request.tenant,
      projectId: company.id,
      idempotencyKey: `content-regeneration:${request.kind}:${request.id}:${row.rejected_at}`,
      input: { company_id: company.id, ...input, rejection_reason: request.reason, rejected_at: row.rejected_at },
    });
    return task.id;
  };
  if (request.kind === 'topic') return submit(jobTypes.topics, { topic_id: row.topic_id });
  // Posts are rewritten only while still rejected at this version (a person's edit and submit in
  // the meantime wins); a topic's rewrite checks its version itself (topics-task.ts).
  if (request.kind === 'blog_post') return submit(jobTypes.blogpost, { topic_id: row.topic_id, rejected_version: row.version });
  return submit(jobTypes.social, { blog_post_id: row.blog_post_id, platforms: [row.platform], rejected_version: row.version });
}
