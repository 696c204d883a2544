/**
 * The seed's job API under `/api/v1/ai/`:
 *
 * - `POST companies/{id}/scrape-dna/`, `generate-personas/`, `generate-topics/`,
 *   `generate-blogpost/`, `generate-social/`, `generate-image/` and `content-pipeline/` answer
 *   `{job_id, jobId, status: "queued"}` (202); a marketer's or admin's key only
 * - `GET jobs/{id}/`, `POST jobs/{id}/cancel/`, `GET jobs/{id}/stream/` (SSE: the job after each change)
 * - `GET companies/{id}/jobs/?status=`, `GET companies/{id}/jobs/stats/`
 *
 * Nothing here calls a model: a request records a task and returns (the seed's rule: never call
 * AI synchronously). Bad input, an unknown company or another tenant's row answer 4xx before
 * anything is written.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { activeStatuses, emptyBody, holdStream, lastEventId, parseOrThrow, requireKeyForSubmit, requireRole, tenantOf, type PipelineRouteServices } from '../../kit/index.ts';
import { isOfflineModel } from '../../llm/index.ts';
import { getCompany, getDna, type Company } from './companies-store.ts';
import { ConflictError, DnaRequiredError, FinalPostError, InvalidStatusError, PostBeingWrittenError } from './errors.ts';
import { imageModelFor } from './image-model.ts';
import { getJob, jobStatuses, jobStatusOf, jobTree, jobView, listCompanyJobs } from './jobs.ts';
import { jobTypeOf } from './task-types.ts';
import { checkPersonaSelection, getPersonas, listPersonas } from './personas-store.ts';
import { blogPostOfTopic, getBlogPost, getSocialPost, listSocialPosts } from './posts-store.ts';
import { finalStatuses, rewritableStatuses } from './review.ts';
import { blogpostInput, imageInput, jobTypes, personasInput, pipelineInput, socialInput, taskTypeFor, topicsInputOf, type JobType, type Platform } from './schemas.ts';
import { refuseFinalPosts } from './social-task.ts';
import { imageModelName, writingModel, type ContentServices } from './services.ts';
import { getTopic } from './topics-store.ts';

const idParams = z.object({ id: z.string().trim().min(1).max(100) });
const jobsQuery = z.object({ status: z.enum(jobStatuses).optional() }).strict();
const terminalTypes = new Set(['task_completed', 'task_failed', 'task_cancelled']);

/** A job's options; the company is the one in the path. */
const jobBody = z.record(z.string(), z.unknown()).optional().transform((body) => body ?? {}).refine((body) => !('company_id' in body), { message: 'the company is the one in the path; leave company_id out', path: ['company_id'] });

export function aiRoutes(services: PipelineRouteServices & ContentServices): FastifyPluginAsync {
  const { engine, pool } = services;

  /** Validates the whole input (path company included), checks the rows it names, then submits. */
  const start = async (request: FastifyRequest, reply: FastifyReply, jobType: JobType, schema: z.ZodType, check?: (tenant: string, input: Record<string, unknown>, company: Company) => Promise<void>) => {
    const tenant = tenantOf(request);
    requireRole(request, 'marketer');
    const { id } = parseOrThrow(idParams, request.params, 'params');
    const body = parseOrThrow(jobBody, request.body, 'body');
    const company = await getCompany(pool, tenant, id);
    const input = parseOrThrow(schema, { ...body, company_id: company.id }, 'body') as Record<string, unknown>;
    await check?.(tenant, input, company);
    const taskType = taskTypeFor(jobType, company.plan);
    requireKeyForSubmit(request, engine.registry.get(taskType), input);
    const { task } = await engine.submit({ taskType, input, tenant, projectId: company.id });
    reply.code(202);
    // `jobId` is the seed's key for the same id (its views answered `{"jobId": ...}`).
    return { job_id: task.id, jobId: task.id, job_type: jobType, queue: task.queue, status: 'queued' };
  };

  return async (app) => {
    app.post('/api/v1/ai/companies/:id/scrape-dna', (request, reply) => start(request, reply, jobTypes.dna, z.object({ company_id: z.string() }).strict()));
    app.post('/api/v1/ai/companies/:id/generate-personas', (request, reply) => start(request, reply, jobTypes.personas, personasInput, async (tenant, _input, company) => {
      if (!(await getDna(pool, tenant, company.id))) throw new DnaRequiredError(company.id);
    }));
    app.post('/api/v1/ai/companies/:id/generate-topics', (request, reply) => start(request, reply, jobTypes.topics, topicsInputOf(request.body), async (tenant, input, company) => {
      if (Array.isArray(input.persona_ids)) {
        // Personas of this company, or the job could only fail (404 for one that is no one's here).
        for (const persona of await getPersonas(pool, tenant, input.persona_ids as string[])) {
          if (persona.company_id !== input.company_id) throw new InvalidStatusError('persona', persona.id, `of another company (${persona.company_id})`, ['of this company']);
        }
      } else if (typeof input.topic_id !== 'string' && (await listPersonas(pool, tenant, company.id, { status: 'active' })).length === 0) {
        // The month's topics are written for the selected personas: with none, the job could only fail.
        throw new ConflictError('no_personas', `Company ${company.id} has no selected personas: generate personas and select 3-6 of them first (POST /api/v1/content/personas/select/), or name them in persona_ids.`, { company_id: company.id });
      }
      if (typeof input.topic_id !== 'string') return;
      // Rewriting one topic: a rejected one of this company.
      const topic = await getTopic(pool, tenant, input.topic_id);
      if (topic.company_id !== input.company_id) throw new InvalidStatusError('topic', topic.id, `of another company (${topic.company_id})`, ['of this company']);
      if (topic.status !== 'rejected') throw new InvalidStatusError('topic', topic.id, topic.status, ['rejected']);
    }));
    app.post('/api/v1/ai/companies/:id/generate-blogpost', (request, reply) => start(request, reply, jobTypes.blogpost, blogpostInput, async (tenant, input, company) => {
      // A featured image the post's job would queue and that could only fail: refused now.
      if (input.featured_image === true) await imageModelFor(services, company);
      const topic = await getTopic(pool, tenant, input.topic_id as string);
      if (topic.company_id !== input.company_id) throw new InvalidStatusError('topic', topic.id, `of another company (${topic.company_id})`, ['of this company']);
      if (topic.status !== 'approved' && topic.status !== 'published') throw new InvalidStatusError('topic', topic.id, topic.status, ['approved']);
      const post = await blogPostOfTopic(pool, tenant, topic.id);
      if (post && finalStatuses.includes(post.status)) throw new FinalPostError('blog_post', post.id, post.status, rewritableStatuses);
      // A job writing the post, or about to (queued, or asking for its outline): a second would
      // take the post over with no text of its own to put back, and the first one's ending could
      // then no longer restore it (it is no longer its). The post's writer may be a run's own
      // stage; a blog post job of this topic not yet at its outline has left no mark on the post.
      if (post?.status === 'generating' && post.task_id !== null) {
        const writer = await engine.getTask(post.task_id, { tenant }).catch(() => undefined);
        if (writer !== undefined && activeStatuses.includes(writer.status)) throw new PostBeingWrittenError(topic.id, post.id, writer.id);
      }
      const active = await listCompanyJobs(engine, tenant, company.id, ['pending', 'processing']);
      const writing = active.find((task) => jobTypeOf(task.task_type) === jobTypes.blogpost && (task.input as { topic_id?: unknown }).topic_id === topic.id);
      if (writing) throw new PostBeingWrittenError(topic.id, post?.id ?? null, writing.id);
    }));
    app.post('/api/v1/ai/companies/:id/generate-social', (request, reply) => start(request, reply, jobTypes.social, socialInput, async (tenant, input) => {
      const post = await getBlogPost(pool, tenant, input.blog_post_id as string);
      if (post.company_id !== input.company_id) throw new InvalidStatusError('blog_post', post.id, `of another company (${post.company_id})`, ['of this company']);
      if (post.status !== 'approved' && post.status !== 'published') throw new InvalidStatusError('blog_post', post.id, post.status, ['approved']);
      const socialPosts = await listSocialPosts(pool, tenant, { blogPostId: post.id });
      refuseFinalPosts(Object.fromEntries(socialPosts.map((social) => [social.platform, social])), input.platforms as Platform[]);
    }));
    app.post('/api/v1/ai/companies/:id/generate-image', (request, reply) => start(request, reply, jobTypes.image, imageInput, async (tenant, input, company) => {
      // Refused before anything is queued: a job that can only fail is not worth a row.
      await imageModelFor(services, company);
      const target = input.target === 'blog_post' ? await getBlogPost(pool, tenant, input.target_id as string) : await getSocialPost(pool, tenant, input.target_id as string);
      if (target.company_id !== input.company_id) throw new InvalidStatusError(input.target as string, target.id, `of another company (${target.company_id})`, ['of this company']);
    }));
    app.post('/api/v1/ai/companies/:id/content-pipeline', (request, reply) => start(request, reply, jobTypes.pipeline, pipelineInput, async (tenant, input, company) => {
      // Named personas go through the selection's rules (this company's, as many as the plan and
      // the company allow): checked now, or the run fails on them after it has researched.
      if (Array.isArray(input.persona_ids)) await checkPersonaSelection(pool, { tenant, companyId: company.id, plan: company.plan }, input.persona_ids as string[]);
    }));

    app.get('/api/v1/ai/jobs/:id', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      return jobView(await getJob(engine, tenant, id));
    });

    app.get('/api/v1/ai/jobs/:id/tree', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      return { job_id: id, nodes: await jobTree(engine, tenant, id) };
    });

    // What serves the content: the dashboard labels offline stand-in text as such. `offline` is
    // the gateway's (no provider at all); a provider for research alone still leaves the writing
    // to the offline model, which `writing_offline` says.
    app.get('/api/v1/ai/status', async (request) => {
      tenantOf(request);
      const writing = services.llm.resolveModel('generation', writingModel(services.config));
      const research = services.llm.resolveModel('research');
      return { offline: services.llm.isOffline(), writing_model: writing, writing_offline: isOfflineModel(writing), research_model: research, research_offline: isOfflineModel(research), image_model: imageModelName(services) ?? null };
    });

    app.post('/api/v1/ai/jobs/:id/cancel', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const { id } = parseOrThrow(idParams, request.params, 'params');
      parseOrThrow(emptyBody, request.body, 'body');
      await getJob(engine, tenant, id);
      const result = await engine.cancel(id, { tenant });
      return { job_id: id, ...result, job: jobView(await engine.getTask(id, { tenant })) };
    });

    // Each frame is the job's state as it stands, labelled with the id of the newest event it
    // reflects: a reconnect (Last-Event-ID) gets the state once and what changes after, and one
    // that already has a finished job's last state gets 204, which stops EventSource.
    app.get('/api/v1/ai/jobs/:id/stream', { config: { allowQueryKey: true } }, async (request, reply) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const seen = lastEventId(request.headers['last-event-id']) ?? 0;
      await getJob(engine, tenant, id);
      // The newest event first, then the state: the state is then at least as new as its label.
      const newestId = await engine.latestEventId(id);
      const task = await engine.getTask(id, { tenant });
      const finished = ['completed', 'failed', 'cancelled'].includes(jobStatusOf(task.status));
      if (finished && seen >= newestId) return reply.code(204).send();
      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const send = (job: ReturnType<typeof jobView>, eventId: number): void => {
        response.write(`${eventId > 0 ? `id: ${eventId}\n` : ''}event: job\ndata: ${JSON.stringify(job)}\n\n`);
      };
      send(jobView(task), newestId);
      if (finished) {
        response.end();
        return;
      }
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      response.on('close', stop);
      // Ended like the API's own streams when the server closes or the key is revoked.
      const letGo = holdStream(request, stop);
      const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
      try {
        // What the state above reflects is not sent again: only what happens after it.
        for await (const event of engine.subscribe({ tenant, taskId: id, afterId: newestId, signal: controller.signal })) {
          if (!event.type.startsWith('task_')) continue;
          send(jobView(await engine.getTask(id, { tenant })), event.id);
          if (terminalTypes.has(event.type)) break;
        }
      } catch (error) {
        if (!controller.signal.aborted) services.logger.debug({ err: error, taskId: id }, 'job stream ended');
      } finally {
        clearInterval(heartbeat);
        response.off('close', stop);
        letGo();
        controller.abort();
        if (!response.writableEnded) response.end();
      }
    });

    app.get('/api/v1/ai/companies/:id/jobs', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const query = parseOrThrow(jobsQuery, request.query, 'query');
      const company = await getCompany(pool, tenant, id);
      const jobs = await listCompanyJobs(engine, tenant, company.id, query.status);
      return { company_id: company.id, jobs: jobs.map(jobView) };
    });

    app.get('/api/v1/ai/companies/:id/jobs/stats', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const company = await getCompany(pool, tenant, id);
      const stats = Object.fromEntries(jobStatuses.map((status) => [status, 0])) as Record<(typeof jobStatuses)[number], number>;
      for (const task of await listCompanyJobs(engine, tenant, company.id)) stats[jobStatusOf(task.status)] += 1;
      return stats;
    });
  };
}
