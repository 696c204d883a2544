/**
 * Blog posts (content_blog_posts) and their per-platform social posts (content_social_posts).
 */
import { isUuid, type Queryable } from '../../kit/index.ts';
import { ValidationError } from '../../errors.ts';
import { diffFields, recordEdit } from './edits.ts';
import { FinalPostError, InvalidStatusError } from './errors.ts';
import { composePost, normaliseHashtags, ruleViolations } from './platform-rules.ts';
import { finalStatuses, rewritableStatuses } from './review.ts';
import { firstOrNotFound, isoRow, type Reviewed } from './rows.ts';
import type { ContentStatus, Platform } from './schemas.ts';
import { editableStatuses } from './topics-store.ts';

export interface BlogPost extends Reviewed {
  id: string;
  company_id: string;
  topic_id: string;
  persona_id: string;
  title: string;
  content: string;
  excerpt: string;
  meta_title: string;
  meta_description: string;
  slug: string;
  keywords: string[];
  word_count: number;
  reading_time_minutes: number;
  featured_image_id: string | null;
  outline: unknown;
}

export interface SocialPost extends Reviewed {
  id: string;
  company_id: string;
  blog_post_id: string;
  platform: Platform;
  text: string;
  hashtags: string[];
  cta_text: string;
  character_count: number;
  image_id: string | null;
}

const reviewColumns = 'status, approved_by, approved_at, rejected_by, rejected_at, rejection_reason, published_at, version, model, task_id, created_at, updated_at';
export const postColumns = `id, company_id, topic_id, persona_id, title, content, excerpt, meta_title, meta_description, slug, keywords, word_count, reading_time_minutes, featured_image_id, outline, ${reviewColumns}`;
const socialColumns = `id, company_id, blog_post_id, platform, text, hashtags, cta_text, character_count, image_id, ${reviewColumns}`;

/** Words as a reader counts them: runs of letters or digits, markdown marks ignored. */
export function countWords(markdown: string): number {
  return (markdown.replace(/[#>*_`~[\]()!-]/g, ' ').match(/[\p{L}\p{N}][\p{L}\p{N}'’]*/gu) ?? []).length;
}

/** 238 words a minute, the average adult silent reading rate for non-fiction (Brysbaert 2019). */
export function readingMinutes(words: number): number {
  return Math.max(1, Math.round(words / 238));
}

export function slugify(title: string): string {
  return title.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'post';
}

export interface NewBlogPost {
  title: string;
  content: string;
  excerpt: string;
  meta_title: string;
  meta_description: string;
  keywords: string[];
  outline: unknown;
  /** The models that wrote it (written-by.ts); null when not known. */
  model: string | null;
}

/**
 * Writes the topic's post (a regeneration rewrites it, version + 1), pending approval. A post
 * approved or published meanwhile is left as it is: FinalPostError. `whileRejectedAt` (a rewrite
 * answering a rejection): written only while the post is still `rejected` at that version, as a
 * topic's rewrite is; a person who edited and submitted it meanwhile made a newer decision, which
 * stands, and nothing is written (the job sees the post is not its own).
 */
export async function upsertBlogPost(database: Queryable, scope: { id: string; tenant: string; companyId: string; topicId: string; personaId: string; taskId: string; status: ContentStatus; whileRejectedAt?: number }, post: NewBlogPost): Promise<void> {
  const words = countWords(post.content);
  const written = await database.query(
    `INSERT INTO content_blog_posts (id, tenant, company_id, topic_id, persona_id, title, content, excerpt, meta_title, meta_description, slug, keywords, word_count, reading_time_minutes, outline, status, task_id, model)
     VALUES ($17, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $19)
     ON CONFLICT (topic_id) DO UPDATE SET title = excluded.title, content = excluded.content, excerpt = excluded.excerpt, meta_title = excluded.meta_title,
       meta_description = excluded.meta_description, slug = excluded.slug, keywords = excluded.keywords, word_count = excluded.word_count,
       reading_time_minutes = excluded.reading_time_minutes, outline = excluded.outline, status = excluded.status, task_id = excluded.task_id, model = excluded.model,
       version = content_blog_posts.version + CASE WHEN excluded.status = 'generating' THEN 1 ELSE 0 END, approved_by = NULL, approved_at = NULL, updated_at = now()
     WHERE content_blog_posts.status <> ALL($18::text[]) AND ($20::int IS NULL OR (content_blog_posts.status = 'rejected' AND content_blog_posts.version = $20))`,
    [scope.tenant, scope.companyId, scope.topicId, scope.personaId, post.title, post.content, post.excerpt, post.meta_title.slice(0, 60), post.meta_description.slice(0, 160), slugify(post.title), post.keywords, words, readingMinutes(words), JSON.stringify(post.outline), scope.status, scope.taskId, scope.id, finalStatuses, post.model, scope.whileRejectedAt ?? null],
  );
  if (written.rowCount !== 0) return;
  const current = (await blogPostOfTopic(database, scope.tenant, scope.topicId))!;
  if (finalStatuses.includes(current.status)) throw new FinalPostError('blog_post', current.id, current.status, rewritableStatuses);
}

/** The columns of a post that a generate_blogpost job overwrites (upsertBlogPost), as they were before it. */
export type BlogPostBefore = Pick<BlogPost, 'title' | 'content' | 'excerpt' | 'meta_title' | 'meta_description' | 'slug' | 'keywords' | 'word_count' | 'reading_time_minutes' | 'outline' | 'status' | 'version' | 'model' | 'task_id' | 'approved_by' | 'approved_at'>;

export function blogPostBefore(post: BlogPost): BlogPostBefore {
  const { title, content, excerpt, meta_title, meta_description, slug, keywords, word_count, reading_time_minutes, outline, status, version, model, task_id, approved_by, approved_at } = post;
  return { title, content, excerpt, meta_title, meta_description, slug, keywords, word_count, reading_time_minutes, outline, status, version, model, task_id, approved_by, approved_at };
}

/**
 * The topic's post when the job writing it ends without success (cancelled, or failed with no
 * attempt left): the post as it was before the job (`before`: its text, status and version), or,
 * for a post that had none, `failed` (its text still empty: the job saves it only whole), which
 * a new generate_blogpost for the topic writes again. Only while the post is still this job's
 * and `generating`: a post another job took over, or this job finished writing, is left alone.
 */
export async function restoreBlogPost(database: Queryable, scope: { tenant: string; topicId: string; taskId: string }, before: BlogPostBefore | null): Promise<void> {
  const job = 'tenant = $1 AND topic_id = $2 AND task_id = $3 AND status = \'generating\'';
  if (!before) {
    await database.query(`UPDATE content_blog_posts SET status = 'failed', updated_at = now() WHERE ${job}`, [scope.tenant, scope.topicId, scope.taskId]);
    return;
  }
  await database.query(
    `UPDATE content_blog_posts SET title = $4, content = $5, excerpt = $6, meta_title = $7, meta_description = $8, slug = $9, keywords = $10, word_count = $11, reading_time_minutes = $12,
       outline = $13, status = $14, version = $15, task_id = $16, approved_by = $17, approved_at = $18, model = $19, updated_at = now()
     WHERE ${job}`,
    [scope.tenant, scope.topicId, scope.taskId, before.title, before.content, before.excerpt, before.meta_title, before.meta_description, before.slug, before.keywords, before.word_count, before.reading_time_minutes,
      JSON.stringify(before.outline), before.status, before.version, before.task_id, before.approved_by, before.approved_at,
      // A checkpoint from before migration content/0002 kept no model.
      before.model ?? null],
  );
}

/** `forUpdate`: locked until the caller's transaction ends (an edit checks the status it changes under the lock). */
export async function getBlogPost(database: Queryable, tenant: string, id: string, options: { forUpdate?: boolean } = {}): Promise<BlogPost> {
  const rows = isUuid(id) ? (await database.query<BlogPost>(`SELECT ${postColumns} FROM content_blog_posts WHERE tenant = $1 AND id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`, [tenant, id])).rows : [];
  return isoRow(firstOrNotFound(rows, 'blog post', id));
}

export async function blogPostOfTopic(database: Queryable, tenant: string, topicId: string): Promise<BlogPost | undefined> {
  const result = await database.query<BlogPost>(`SELECT ${postColumns} FROM content_blog_posts WHERE tenant = $1 AND topic_id = $2`, [tenant, topicId]);
  return result.rows[0] ? isoRow(result.rows[0]) : undefined;
}

export async function listBlogPosts(database: Queryable, tenant: string, filter: { companyId: string; status?: ContentStatus | undefined }): Promise<BlogPost[]> {
  const result = await database.query<BlogPost>(`SELECT ${postColumns} FROM content_blog_posts WHERE tenant = $1 AND company_id = $2 ${filter.status ? 'AND status = $3' : ''} ORDER BY created_at, id`, filter.status ? [tenant, filter.companyId, filter.status] : [tenant, filter.companyId]);
  return result.rows.map(isoRow);
}

export async function editBlogPost(database: Queryable, tenant: string, id: string, changes: Partial<Pick<BlogPost, 'title' | 'content' | 'excerpt' | 'meta_title' | 'meta_description' | 'keywords'>>, editedBy: string): Promise<BlogPost> {
  // Locked, as a topic's edit is (editTopic).
  const before = await getBlogPost(database, tenant, id, { forUpdate: true });
  if (!editableStatuses.includes(before.status)) throw new InvalidStatusError('blog_post', id, before.status, editableStatuses);
  if (Object.keys(changes).length === 0) throw new ValidationError('Nothing to change.', { issues: [{ path: '(root)', message: 'no field given' }] });
  const merged = { ...before, ...changes };
  const words = countWords(merged.content);
  await database.query(
    `UPDATE content_blog_posts SET title = $3, content = $4, excerpt = $5, meta_title = $6, meta_description = $7, keywords = $8, word_count = $9, reading_time_minutes = $10, updated_at = now() WHERE tenant = $1 AND id = $2`,
    [tenant, id, merged.title, merged.content, merged.excerpt, merged.meta_title, merged.meta_description, merged.keywords, words, readingMinutes(words)],
  );
  await recordEdit(database, { tenant, entity: 'blog_post', entityId: id, editedBy, changes: diffFields(before as unknown as Record<string, unknown>, changes) });
  return getBlogPost(database, tenant, id);
}

/**
 * Writes the post's `platform` post; a regeneration rewrites it (version + 1) and keeps its id. A
 * platform's post approved or published meanwhile is left as it is: FinalPostError.
 * `whileRejectedAt`: only while it is still `rejected` at that version (upsertBlogPost); otherwise
 * nothing is written and the answer is undefined.
 */
export async function upsertSocialPost(database: Queryable, scope: { id: string; tenant: string; companyId: string; blogPostId: string; taskId: string; status: ContentStatus; whileRejectedAt?: number }, post: { platform: Platform; text: string; hashtags: string[]; cta_text: string; model: string | null }): Promise<string | undefined> {
  const result = await database.query<{ id: string }>(
    `INSERT INTO content_social_posts (tenant, company_id, blog_post_id, platform, text, hashtags, cta_text, character_count, status, task_id, id, model)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13)
     ON CONFLICT (blog_post_id, platform) DO UPDATE SET text = excluded.text, hashtags = excluded.hashtags, cta_text = excluded.cta_text, character_count = excluded.character_count,
       status = excluded.status, task_id = excluded.task_id, model = excluded.model, version = content_social_posts.version + 1, approved_by = NULL, approved_at = NULL, updated_at = now()
     WHERE content_social_posts.status <> ALL($12::text[]) AND ($14::int IS NULL OR (content_social_posts.status = 'rejected' AND content_social_posts.version = $14))
     RETURNING id`,
    [scope.tenant, scope.companyId, scope.blogPostId, post.platform, post.text, post.hashtags, post.cta_text, [...composePost(post.text, post.hashtags)].length, scope.status, scope.taskId, scope.id, finalStatuses, post.model, scope.whileRejectedAt ?? null],
  );
  if (result.rows[0] === undefined) {
    const current = (await listSocialPosts(database, scope.tenant, { blogPostId: scope.blogPostId })).find((social) => social.platform === post.platform)!;
    if (finalStatuses.includes(current.status)) throw new FinalPostError('social_post', current.id, current.status, rewritableStatuses);
    return undefined;
  }
  return result.rows[0].id;
}

/** `forUpdate`: locked until the caller's transaction ends (an edit checks the status it changes under the lock). */
export async function getSocialPost(database: Queryable, tenant: string, id: string, options: { forUpdate?: boolean } = {}): Promise<SocialPost> {
  const rows = isUuid(id) ? (await database.query<SocialPost>(`SELECT ${socialColumns} FROM content_social_posts WHERE tenant = $1 AND id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`, [tenant, id])).rows : [];
  return isoRow(firstOrNotFound(rows, 'social post', id));
}

export async function listSocialPosts(database: Queryable, tenant: string, filter: { companyId?: string | undefined; blogPostId?: string | undefined; status?: ContentStatus | undefined }): Promise<SocialPost[]> {
  const conditions = ['tenant = $1'];
  const values: unknown[] = [tenant];
  if (filter.companyId) conditions.push(`company_id = $${values.push(filter.companyId)}`);
  if (filter.blogPostId) conditions.push(`blog_post_id = $${values.push(filter.blogPostId)}`);
  if (filter.status) conditions.push(`status = $${values.push(filter.status)}`);
  const result = await database.query<SocialPost>(`SELECT ${socialColumns} FROM content_social_posts WHERE ${conditions.join(' AND ')} ORDER BY created_at, platform`, values);
  return result.rows.map(isoRow);
}

/** A person's edit is held to the platform's rules too: an edit that breaks them is refused (400). */
export async function editSocialPost(database: Queryable, tenant: string, id: string, changes: Partial<Pick<SocialPost, 'text' | 'hashtags' | 'cta_text'>>, editedBy: string): Promise<SocialPost> {
  // Locked, as a topic's edit is (editTopic).
  const before = await getSocialPost(database, tenant, id, { forUpdate: true });
  if (!editableStatuses.includes(before.status)) throw new InvalidStatusError('social_post', id, before.status, editableStatuses);
  if (Object.keys(changes).length === 0) throw new ValidationError('Nothing to change.', { issues: [{ path: '(root)', message: 'no field given' }] });
  const merged = { ...before, ...changes, hashtags: normaliseHashtags(changes.hashtags ?? before.hashtags) };
  const violations = ruleViolations(before.platform, merged);
  if (violations.length > 0) throw new ValidationError(`The edit breaks ${before.platform}'s rules: ${violations.join('; ')}.`, { issues: violations.map((message) => ({ path: 'text', message })) });
  await database.query('UPDATE content_social_posts SET text = $3, hashtags = $4, cta_text = $5, character_count = $6, updated_at = now() WHERE tenant = $1 AND id = $2',
    [tenant, id, merged.text, merged.hashtags, merged.cta_text, [...composePost(merged.text, merged.hashtags)].length]);
  await recordEdit(database, { tenant, entity: 'social_post', entityId: id, editedBy, changes: diffFields(before as unknown as Record<string, unknown>, { ...changes, ...(changes.hashtags ? { hashtags: merged.hashtags } : {}) }) });
  return getSocialPost(database, tenant, id);
}
