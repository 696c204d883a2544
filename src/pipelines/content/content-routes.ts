/**
 * The seed's content API under `/api/v1/content/`: companies and their DNA, personas and their
 * selection, topics, blog posts and social posts (list, read, edit: edits recorded), and the
 * review actions `submit-for-approval`, `approve`, `reject` (reason required), `publish`, with
 * `pending-approvals`. A supervisor's key reads, approves and rejects; changing anything else
 * needs a marketer's (or an admin's).
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parseOrThrow, requireRole, tenantOf, withTransaction, type PipelineRouteServices } from '../../kit/index.ts';
import { NotFoundError } from '../../errors.ts';
import { createCompany, editDna, getCompany, getDna, listCompanies, updateCompany } from './companies-store.ts';
import { listEdits, type EditedEntity } from './edits.ts';
import { decide, selectPersonasAndWake } from './gates.ts';
import { readImage } from './image-task.ts';
import { editPersona, getPersona, listPersonas } from './personas-store.ts';
import { editBlogPost, editSocialPost, getBlogPost, getSocialPost, listBlogPosts, listSocialPosts } from './posts-store.ts';
import { moveStatus, pendingApprovals, type ReviewableKind } from './review.ts';
import { archetypes, companyCreate, companyDna, contentStatuses, mbtiTypes, plans, vocabularyLevels } from './schemas.ts';
import type { ContentServices } from './services.ts';
import { editTopic, getTopic, listTopics } from './topics-store.ts';

const idParams = z.object({ id: z.string().trim().min(1).max(100) });
const companyPatch = z.object({ name: z.string().trim().min(1).max(200).optional(), website: z.url().max(500).nullable().optional(), plan: z.enum(plans).optional() }).strict();
const personaPatch = z.object({
  name: z.string().trim().min(1).max(120).optional(),
  bio: z.string().trim().min(1).max(2000).optional(),
  archetype: z.enum(archetypes).optional(),
  mbti: z.enum(mbtiTypes).optional(),
  values: z.array(z.string().trim().min(1).max(200)).min(3).max(5).optional(),
  frustrations: z.array(z.string().trim().min(1).max(300)).min(1).max(8).optional(),
  expertise_topics: z.array(z.string().trim().min(1).max(200)).min(3).max(5).optional(),
  vocabulary_level: z.enum(vocabularyLevels).optional(),
}).strict();
const selectBody = z.object({ company_id: z.string().trim().min(1).max(100), persona_ids: z.array(z.string().trim().min(1).max(100)).min(1).max(12) }).strict();
const topicsQuery = z.object({
  company_id: z.string().trim().min(1).max(100),
  year: z.coerce.number().int().min(2000).max(2100).optional(),
  month: z.coerce.number().int().min(1).max(12).optional(),
  status: z.enum(contentStatuses).optional(),
}).strict();
const postsQuery = z.object({ company_id: z.string().trim().min(1).max(100), status: z.enum(contentStatuses).optional() }).strict();
const socialQuery = z.object({ company_id: z.string().trim().min(1).max(100).optional(), blog_post_id: z.string().trim().min(1).max(100).optional(), status: z.enum(contentStatuses).optional() }).strict()
  .refine((query) => query.company_id !== undefined || query.blog_post_id !== undefined, { message: 'give company_id or blog_post_id', path: ['company_id'] });
const topicPatch = z.object({ title: z.string().trim().min(1).max(200).optional(), description: z.string().trim().min(1).max(2000).optional(), keywords: z.array(z.string().trim().min(1).max(80)).min(1).max(10).optional(), week_number: z.number().int().min(1).max(5).optional() }).strict();
const postPatch = z.object({
  title: z.string().trim().min(1).max(200).optional(),
  // Markdown, stored as written (its leading indentation may mean something), but never blank.
  content: z.string().max(200_000).refine((text) => text.trim().length > 0, 'a post\'s text may not be blank').optional(),
  excerpt: z.string().trim().min(1).max(500).optional(),
  meta_title: z.string().trim().min(1).max(60).optional(),
  meta_description: z.string().trim().min(1).max(160).optional(),
  keywords: z.array(z.string().trim().min(1).max(80)).max(10).optional(),
}).strict();
const socialPatch = z.object({ text: z.string().trim().min(1).max(5000).optional(), hashtags: z.array(z.string().trim().min(2).max(40)).max(30).optional(), cta_text: z.string().trim().max(120).optional() }).strict();
const approveBody = z.object({ edits: z.record(z.string(), z.unknown()).optional() }).strict().optional();
const rejectBody = z.object({ reason: z.string().trim().min(1, 'a rejection needs a reason').max(4000), regenerate: z.boolean().default(false) }).strict();
const pendingQuery = z.object({ company_id: z.string().trim().min(1).max(100).optional() }).strict();

const resources: Record<ReviewableKind, { path: string; patch: z.ZodType<Record<string, unknown>>; read: (services: ContentServices, tenant: string, id: string) => Promise<unknown>; edit: (services: ContentServices, tenant: string, id: string, changes: Record<string, unknown>, by: string) => Promise<unknown> }> = {
  topic: { path: 'topics', patch: topicPatch, read: (services, tenant, id) => getTopic(services.pool, tenant, id), edit: (services, tenant, id, changes, by) => withTransaction(services.pool, (transaction) => editTopic(transaction, tenant, id, changes, by)) },
  blog_post: { path: 'posts', patch: postPatch, read: (services, tenant, id) => getBlogPost(services.pool, tenant, id), edit: (services, tenant, id, changes, by) => withTransaction(services.pool, (transaction) => editBlogPost(transaction, tenant, id, changes, by)) },
  social_post: { path: 'social-posts', patch: socialPatch, read: (services, tenant, id) => getSocialPost(services.pool, tenant, id), edit: (services, tenant, id, changes, by) => withTransaction(services.pool, (transaction) => editSocialPost(transaction, tenant, id, changes, by)) },
};

export function contentRoutes(services: PipelineRouteServices & ContentServices): FastifyPluginAsync {
  const { pool } = services;
  return async (app) => {
    app.post('/api/v1/content/companies', async (request, reply) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const body = parseOrThrow(companyCreate, request.body, 'body');
      reply.code(201);
      return createCompany(pool, tenant, body);
    });
    app.get('/api/v1/content/companies', async (request) => ({ companies: await listCompanies(pool, tenantOf(request)) }));
    app.get('/api/v1/content/companies/:id', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const company = await getCompany(pool, tenant, id);
      return { ...company, dna: (await getDna(pool, tenant, company.id)) ?? null, personas: await listPersonas(pool, tenant, company.id) };
    });
    app.patch('/api/v1/content/companies/:id', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const body = parseOrThrow(companyPatch, request.body, 'body');
      return withTransaction(pool, (transaction) => updateCompany(transaction, tenant, id, body, request.apiKeyId));
    });

    app.get('/api/v1/content/companies/:id/dna', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const company = await getCompany(pool, tenant, id);
      const dna = await getDna(pool, tenant, company.id);
      if (!dna) throw new NotFoundError('company DNA (run scrape-dna first) of company', company.id);
      return dna;
    });
    app.patch('/api/v1/content/companies/:id/dna', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const body = parseOrThrow(companyDna.partial().strict(), request.body, 'body');
      const company = await getCompany(pool, tenant, id);
      const dna = await withTransaction(pool, (transaction) => editDna(transaction, tenant, company.id, body, request.apiKeyId));
      if (!dna) throw new NotFoundError('company DNA (run scrape-dna first) of company', company.id);
      return dna;
    });

    app.get('/api/v1/content/companies/:id/personas', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const company = await getCompany(pool, tenant, id);
      return { company_id: company.id, personas: await listPersonas(pool, tenant, company.id) };
    });
    app.get('/api/v1/content/personas/:id', async (request) => {
      const { id } = parseOrThrow(idParams, request.params, 'params');
      return getPersona(pool, tenantOf(request), id);
    });
    app.patch('/api/v1/content/personas/:id', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const body = parseOrThrow(personaPatch, request.body, 'body');
      return withTransaction(pool, (transaction) => editPersona(transaction, tenant, id, body, request.apiKeyId));
    });
    app.post('/api/v1/content/personas/select', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const body = parseOrThrow(selectBody, request.body, 'body');
      const company = await getCompany(pool, tenant, body.company_id);
      const personas = await selectPersonasAndWake(services, { tenant, companyId: company.id, plan: company.plan }, body.persona_ids, request.apiKeyId);
      return { company_id: company.id, personas };
    });

    app.get('/api/v1/content/topics', async (request) => {
      const tenant = tenantOf(request);
      const query = parseOrThrow(topicsQuery, request.query, 'query');
      const company = await getCompany(pool, tenant, query.company_id);
      return { company_id: company.id, topics: await listTopics(pool, tenant, { companyId: company.id, year: query.year, month: query.month, status: query.status }) };
    });
    app.get('/api/v1/content/posts', async (request) => {
      const tenant = tenantOf(request);
      const query = parseOrThrow(postsQuery, request.query, 'query');
      const company = await getCompany(pool, tenant, query.company_id);
      return { company_id: company.id, posts: await listBlogPosts(pool, tenant, { companyId: company.id, status: query.status }) };
    });
    app.get('/api/v1/content/social-posts', async (request) => {
      const tenant = tenantOf(request);
      const query = parseOrThrow(socialQuery, request.query, 'query');
      if (query.company_id) await getCompany(pool, tenant, query.company_id);
      if (query.blog_post_id) await getBlogPost(pool, tenant, query.blog_post_id);
      return { social_posts: await listSocialPosts(pool, tenant, { companyId: query.company_id, blogPostId: query.blog_post_id, status: query.status }) };
    });

    for (const kind of Object.keys(resources) as ReviewableKind[]) {
      const resource = resources[kind];
      const base = `/api/v1/content/${resource.path}/:id`;
      app.get(base, async (request) => {
        const { id } = parseOrThrow(idParams, request.params, 'params');
        return resource.read(services, tenantOf(request), id);
      });
      app.patch(base, async (request) => {
        const tenant = tenantOf(request);
        requireRole(request, 'marketer');
        const { id } = parseOrThrow(idParams, request.params, 'params');
        return resource.edit(services, tenant, id, parseOrThrow(resource.patch, request.body, 'body'), request.apiKeyId);
      });
      app.get(`${base}/edits`, async (request) => {
        const tenant = tenantOf(request);
        const { id } = parseOrThrow(idParams, request.params, 'params');
        await resource.read(services, tenant, id);
        return { edits: await listEdits(pool, tenant, kind as EditedEntity, id) };
      });
      app.post(`${base}/submit-for-approval`, async (request) => {
        const tenant = tenantOf(request);
        requireRole(request, 'marketer');
        const { id } = parseOrThrow(idParams, request.params, 'params');
        await withTransaction(pool, (transaction) => moveStatus(transaction, tenant, kind, id, 'submit'));
        return resource.read(services, tenant, id);
      });
      app.post(`${base}/approve`, async (request) => {
        const tenant = tenantOf(request);
        requireRole(request, 'supervisor');
        const { id } = parseOrThrow(idParams, request.params, 'params');
        const body = parseOrThrow(approveBody, request.body, 'body');
        // Edits made while approving are held to the same rules as a marketer's and recorded.
        const edits = body?.edits && Object.keys(body.edits).length > 0 ? parseOrThrow(resource.patch, body.edits, 'body') : undefined;
        return (await decide(services, { tenant, kind, id, decision: 'approved', actor: request.apiKeyId, edits })).decided;
      });
      app.post(`${base}/reject`, async (request) => {
        const tenant = tenantOf(request);
        requireRole(request, 'supervisor');
        const { id } = parseOrThrow(idParams, request.params, 'params');
        const body = parseOrThrow(rejectBody, request.body, 'body');
        const { decided, regenerationJobId } = await decide(services, { tenant, kind, id, decision: 'rejected', actor: request.apiKeyId, reason: body.reason, regenerate: body.regenerate });
        // The row as rejected, and the job rewriting it: its run, or a new generate_* job (GET /api/v1/ai/jobs/{id}/).
        return { ...decided, regeneration_job_id: regenerationJobId };
      });
      app.post(`${base}/publish`, async (request) => {
        const tenant = tenantOf(request);
        requireRole(request, 'marketer');
        const { id } = parseOrThrow(idParams, request.params, 'params');
        await withTransaction(pool, (transaction) => moveStatus(transaction, tenant, kind, id, 'publish'));
        return resource.read(services, tenant, id);
      });
    }

    app.get('/api/v1/content/pending-approvals', async (request) => {
      const tenant = tenantOf(request);
      const query = parseOrThrow(pendingQuery, request.query, 'query');
      if (query.company_id) await getCompany(pool, tenant, query.company_id);
      return { pending: await pendingApprovals(pool, tenant, query.company_id) };
    });

    app.get('/api/v1/content/images/:id', async (request, reply) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const image = await readImage(pool, tenant, id);
      if (!image) throw new NotFoundError('image', id);
      return reply.type(image.media_type).send(image.data);
    });
  };
}
