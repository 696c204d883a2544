/**
 * The seed's HTTP API, inside the API's authenticated scope (every query scoped by the key's
 * tenant; another tenant's job or word answers 404 like one that does not exist):
 *
 * - `POST /jobs/start {mode: "quick" | "deep"}` -> `202 {job_id}`; a second quick run within the
 *   throttle window answers `429 learning_throttled` with Retry-After
 * - `POST /jobs/start_big [{budget_seconds, words_per_round, words_learned_per_round}]` -> `202 {job_id}`
 * - `GET /jobs/{job_id}` -> the job document (job-document.ts)
 * - `POST /jobs/{job_id}/cancel` -> the job document as it stands after the cancel request
 * - `GET /knowledge?search=&category=&limit=&after=` -> `{entries, total, next_after}`
 * - `GET /knowledge/{word}` -> one entry (any spelling of the word: identity is normalised)
 * - `WS /ws/jobs/{job_id}` -> the job document when it changed (at most every 250 ms) and at least
 *   once a second; closed (1000) after the document of the finished job (job-feeds.ts)
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import { z } from 'zod';
import { holdWebSocket, jsonSchema, parseOrThrow, requireRole, tenantOf, type PipelineRouteServices } from '../../kit/index.ts';
import { NotFoundError, TaskloomError } from '../../errors.ts';
import { LearningThrottledError } from './errors.ts';
import { JobFeeds } from './job-feeds.ts';
import { getKnowledge, knowledgeCounts, listKnowledge } from './knowledge-store.ts';
import { maxWordLength, normaliseWord } from './normalise.ts';
import { bigLearningJobInput, learningJobInput, type JobDocument } from './schemas.ts';
import { learningTask, readJobDocument, startBigLearningJob, startLearningJob } from './start-job.ts';

const jobParams = z.object({ job_id: z.string().min(1).max(100) }).strict();
const wordParams = z.object({ word: z.string().min(1).max(200) }).strict();
const knowledgeQuery = z.object({
  search: z.string().max(maxWordLength).optional(),
  // Any category an entry can have: WordNet's (noun.animal), or a subject area the research model
  // named when none of WordNet's fits ("computer science").
  category: z.string().trim().min(1).max(60).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().min(1).max(200).optional(),
}).strict();
const streamQuery = z.object({ api_key: z.string().max(200).optional() }).strict();

/** How often an open job stream sends the document even when nothing changed (seed: 1/s). */
const streamIntervalMs = 1000;
/** Least time between two documents of a job's stream: a change shows within a quarter second. */
const streamMinGapMs = 250;

export function learningRoutes(services: PipelineRouteServices): FastifyPluginAsync {
  const { pool } = services;
  // Read at request time, not captured: the engine may be attached after the routes are built.
  const engineOf = (): PipelineRouteServices['engine'] => services.engine;

  const documentOf = (tenant: string, id: string): Promise<JobDocument> => readJobDocument(engineOf(), pool, tenant, id);

  const feeds = new JobFeeds({ engine: engineOf, read: documentOf, logger: services.logger, minGapMs: streamMinGapMs, intervalMs: streamIntervalMs });

  const streamJob = async (socket: WebSocket, request: FastifyRequest, jobId: string): Promise<void> => {
    const controller = new AbortController();
    // Ended like the API's own streams when the server closes or the key is revoked.
    const letGo = holdWebSocket(request, socket, () => controller.abort(), () => 'server restarting; reconnect');
    socket.on('close', () => controller.abort());
    socket.on('error', () => controller.abort());
    socket.on('message', () => {});
    try {
      await feeds.follow(tenantOf(request), jobId, controller.signal, (text, finished) => {
        if (socket.readyState !== socket.OPEN) return;
        socket.send(text);
        if (finished) socket.close(1000, 'job finished');
      });
    } catch (error) {
      services.logger.warn({ err: error, jobId }, 'learning job stream ended with an error');
      if (socket.readyState === socket.OPEN) socket.close(1011, 'stream error');
    } finally {
      controller.abort();
      letGo();
    }
  };

  return async (app: FastifyInstance) => {
    app.post('/jobs/start', { schema: { tags: ['learning'], summary: 'Start a quick or deep learning job (seed 004)', body: jsonSchema(learningJobInput) } }, async (request, reply) => {
      requireRole(request, 'marketer');
      const body = parseOrThrow(learningJobInput, request.body ?? {}, 'body');
      try {
        const { jobId } = await startLearningJob({ engine: engineOf(), pool, config: services.config }, tenantOf(request), body);
        return await reply.code(202).send({ job_id: jobId });
      } catch (error) {
        if (error instanceof LearningThrottledError) void reply.header('retry-after', String(error.details.retry_after_seconds));
        throw error;
      }
    });

    app.post('/jobs/start_big', { schema: { tags: ['learning'], summary: 'Start a big learning job: rounds of words until the wall-clock budget', body: jsonSchema(bigLearningJobInput) } }, async (request, reply) => {
      requireRole(request, 'marketer');
      const body = parseOrThrow(bigLearningJobInput, request.body ?? {}, 'body');
      const { jobId } = await startBigLearningJob({ engine: engineOf(), pool, config: services.config }, tenantOf(request), body);
      return reply.code(202).send({ job_id: jobId });
    });

    app.get('/jobs/:job_id', { schema: { tags: ['learning'], summary: 'A learning job\'s document', params: jsonSchema(jobParams) } }, async (request) => {
      const tenant = tenantOf(request);
      const { job_id: jobId } = parseOrThrow(jobParams, request.params, 'params');
      return documentOf(tenant, jobId);
    });

    app.post('/jobs/:job_id/cancel', { schema: { tags: ['learning'], summary: 'Cancel a learning job; what it learned stays', params: jsonSchema(jobParams) } }, async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const { job_id: jobId } = parseOrThrow(jobParams, request.params, 'params');
      await learningTask(engineOf(), tenant, jobId);
      await engineOf().cancel(jobId, { tenant });
      return documentOf(tenant, jobId);
    });

    app.get('/knowledge', { schema: { tags: ['learning'], summary: 'The tenant\'s known words, alphabetical', querystring: jsonSchema(knowledgeQuery) } }, async (request) => {
      const tenant = tenantOf(request);
      const query = parseOrThrow(knowledgeQuery, request.query, 'query');
      const search = query.search === undefined ? undefined : normaliseWord(query.search) || undefined;
      const page = await listKnowledge(pool, tenant, { search, category: query.category, limit: query.limit, after: query.after === undefined ? undefined : normaliseWord(query.after) });
      const counts = await knowledgeCounts(pool, tenant);
      return {
        entries: page.entries,
        total: page.total,
        next_after: page.entries.length === query.limit ? page.entries.at(-1)?.normalised ?? null : null,
        known_words: counts.known,
        queued_words: counts.queued,
        given_up_words: counts.givenUp,
      };
    });

    app.get('/knowledge/:word', { schema: { tags: ['learning'], summary: 'One known word\'s entry (any spelling)', params: jsonSchema(wordParams) } }, async (request) => {
      const tenant = tenantOf(request);
      const { word } = parseOrThrow(wordParams, request.params, 'params');
      const entry = await getKnowledge(pool, tenant, normaliseWord(word));
      if (!entry) throw new NotFoundError('Known word', word);
      return entry;
    });

    app.route({
      method: 'GET',
      url: '/ws/jobs/:job_id',
      config: { allowQueryKey: true },
      schema: { tags: ['learning'], summary: 'WebSocket: the job document when it changes (at most 4 a second) and at least once a second; closes when the job ends', params: jsonSchema(jobParams), querystring: jsonSchema(streamQuery) },
      // Authentication and the job lookup happen before the upgrade: a bad key answers HTTP 401,
      // another tenant's job HTTP 404.
      preHandler: async (request) => {
        const { job_id: jobId } = parseOrThrow(jobParams, request.params, 'params');
        parseOrThrow(streamQuery, request.query, 'query');
        await learningTask(engineOf(), tenantOf(request), jobId);
      },
      handler: async () => {
        throw new TaskloomError('upgrade_required', 'This endpoint is a WebSocket: connect with an Upgrade: websocket request.', { httpStatus: 426, retryable: false });
      },
      wsHandler: (socket, request) => {
        const { job_id: jobId } = request.params as { job_id: string };
        void streamJob(socket, request, jobId);
      },
    });
  };
}
