/**
 * What a blog post or social post job reads before its first model call, in one statement.
 *
 * A stage's jobs start together (six posts, thirty social posts), and each read is a pooled
 * connection taken and a statement parsed, planned and run: four or five reads per job put over a
 * hundred statements in front of the stage's first model calls, which then waited for a
 * connection behind each other. Measured on bench:content's run, ten runs each, interleaved (load
 * 2-3): the social stage's overhead 174 -> 137 ms (median) with one statement per job.
 *
 * Each row comes as JSON (`row_to_json`) from the same columns the stores select, so the objects
 * are the stores' own; 404 as the stores answer it.
 */
import { isUuid, type Queryable } from '../../kit/index.ts';
import { companyColumns, dnaColumns, type Company, type CompanyDnaRecord } from './companies-store.ts';
import { personaColumns, type Persona } from './personas-store.ts';
import { postColumns, type BlogPost } from './posts-store.ts';
import { firstOrNotFound, isoJsonRow } from './rows.ts';
import type { ContentStatus, Platform } from './schemas.ts';
import { topicColumns, type Topic } from './topics-store.ts';

const asRow = <Row extends object>(value: Row | null): Row[] => (value ? [isoJsonRow(value)] : []);

export interface SocialSources {
  company: Company;
  post: BlogPost;
  dna: CompanyDnaRecord | undefined;
  /** The blog post's social posts by platform: the id a rewrite keeps, and the status it starts from. */
  existing: Partial<Record<Platform, { id: string; status: ContentStatus; version: number }>>;
}

/** A social post job's company, blog post, DNA and the post's existing social posts. */
export async function socialSources(database: Queryable, tenant: string, companyId: string, blogPostId: string): Promise<SocialSources> {
  const row = isUuid(companyId) && isUuid(blogPostId)
    ? (await database.query<{ company: Company | null; post: BlogPost | null; dna: CompanyDnaRecord | null; existing: SocialSources['existing'] }>(
        `SELECT (SELECT row_to_json(c) FROM (SELECT ${companyColumns} FROM content_companies WHERE tenant = $1 AND id = $2) c) AS company,
                (SELECT row_to_json(p) FROM (SELECT ${postColumns} FROM content_blog_posts WHERE tenant = $1 AND id = $3) p) AS post,
                (SELECT row_to_json(d) FROM (SELECT ${dnaColumns} FROM content_company_dna WHERE tenant = $1 AND company_id = $2) d) AS dna,
                (SELECT coalesce(json_object_agg(platform, json_build_object('id', id, 'status', status, 'version', version)), '{}') FROM content_social_posts WHERE tenant = $1 AND blog_post_id = $3) AS existing`,
        [tenant, companyId, blogPostId],
      )).rows[0]
    : undefined;
  return {
    company: firstOrNotFound(asRow(row?.company ?? null), 'company', companyId),
    post: firstOrNotFound(asRow(row?.post ?? null), 'blog post', blogPostId),
    dna: asRow(row?.dna ?? null)[0],
    existing: row?.existing ?? {},
  };
}

export interface BlogPostSources {
  company: Company;
  topic: Topic;
  /** The topic's persona. */
  persona: Persona;
  dna: CompanyDnaRecord | undefined;
  /** The topic's post, when a rewrite replaces one. */
  existing: BlogPost | undefined;
}

/** A blog post job's company, topic, the topic's persona, the DNA and the topic's existing post. */
export async function blogPostSources(database: Queryable, tenant: string, companyId: string, topicId: string): Promise<BlogPostSources> {
  const row = isUuid(companyId) && isUuid(topicId)
    ? (await database.query<{ company: Company | null; topic: Topic | null; persona: Persona | null; dna: CompanyDnaRecord | null; existing: BlogPost | null }>(
        `SELECT (SELECT row_to_json(c) FROM (SELECT ${companyColumns} FROM content_companies WHERE tenant = $1 AND id = $2) c) AS company,
                (SELECT row_to_json(t) FROM (SELECT ${topicColumns} FROM content_topics WHERE tenant = $1 AND id = $3) t) AS topic,
                (SELECT row_to_json(p) FROM (SELECT ${personaColumns} FROM content_personas WHERE tenant = $1 AND id = (SELECT persona_id FROM content_topics WHERE tenant = $1 AND id = $3)) p) AS persona,
                (SELECT row_to_json(d) FROM (SELECT ${dnaColumns} FROM content_company_dna WHERE tenant = $1 AND company_id = $2) d) AS dna,
                (SELECT row_to_json(b) FROM (SELECT ${postColumns} FROM content_blog_posts WHERE tenant = $1 AND topic_id = $3) b) AS existing`,
        [tenant, companyId, topicId],
      )).rows[0]
    : undefined;
  const company = firstOrNotFound(asRow(row?.company ?? null), 'company', companyId);
  const topic = firstOrNotFound(asRow(row?.topic ?? null), 'topic', topicId);
  return {
    company,
    topic,
    persona: firstOrNotFound(asRow(row?.persona ?? null), 'persona', topic.persona_id),
    dna: asRow(row?.dna ?? null)[0],
    existing: asRow(row?.existing ?? null)[0],
  };
}
