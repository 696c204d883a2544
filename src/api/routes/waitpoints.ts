/**
 * Waitpoints: what waiting tasks wait for, and completing them.
 *
 * - `GET /api/v1/waitpoints?status=&task_id=&project_id=&limit=`: the tenant's waitpoints, newest first
 * - `GET /api/v1/waitpoints/{id}`
 * - `POST /api/v1/waitpoints/{id}/complete {payload}`: validated against the waitpoint's schema
 *   (400 with each problem); the completion, its event and the task's resume commit together; a
 *   second completion answers 409 `waitpoint_resolved` with the first outcome
 * - `POST /api/v1/waitpoints/{id}/token`: a single-use completion token (for a link in an email)
 * - `POST /api/v1/waitpoints/complete-with-token {token, payload}`: no API key; the token is the
 *   credential (registered outside the authenticated scope)
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { WaitpointRecord } from '../../engine/index.ts';
import { securityRequirement, type ApiContext } from '../context.ts';
import { errorSchema } from '../schemas.ts';
import { emptyBody, jsonSchema, parseOrThrow } from '../validation.ts';

const waitpointStatuses = ['pending', 'completed', 'timed_out', 'cancelled'] as const;

const listQuery = z.object({
  status: z.enum(waitpointStatuses).optional(),
  task_id: z.string().min(1).max(100).optional(),
  project_id: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
}).strict();
const idParams = z.object({ id: z.string().min(1).max(100) }).strict();
const completeBody = z.object({ payload: z.unknown().describe('The decision or data the task waits for; must match the waitpoint\'s schema.') }).strict();
const tokenBody = z.object({ token: z.string().min(10).max(200), payload: z.unknown() }).strict();

export interface WaitpointView {
  id: string;
  task_id: string;
  project_id: string | null;
  key: string;
  kind: WaitpointRecord['kind'];
  status: WaitpointRecord['status'];
  schema: Record<string, unknown> | null;
  payload: unknown;
  children: string[] | null;
  completed_by: string | null;
  completed_at: string | null;
  timeout_at: string | null;
  created_at: string;
}

export function waitpointView(waitpoint: WaitpointRecord): WaitpointView {
  return {
    id: waitpoint.id,
    task_id: waitpoint.task_id,
    project_id: waitpoint.project_id,
    key: waitpoint.key,
    kind: waitpoint.kind,
    status: waitpoint.status,
    schema: waitpoint.schema,
    payload: waitpoint.payload ?? null,
    children: waitpoint.children,
    completed_by: waitpoint.completed_by,
    completed_at: waitpoint.completed_at,
    timeout_at: waitpoint.timeout_at,
    created_at: waitpoint.created_at,
  };
}

const errors = { 400: jsonSchema(errorSchema), 401: jsonSchema(errorSchema), 404: jsonSchema(errorSchema), 409: jsonSchema(errorSchema) };

export function waitpointRoutes(context: ApiContext): FastifyPluginAsync {
  const { engine } = context;
  return async (app) => {
    app.get('/api/v1/waitpoints', {
      schema: { tags: ['waitpoints'], summary: 'List waitpoints (what waiting tasks wait for)', security: securityRequirement, querystring: jsonSchema(listQuery), response: errors },
    }, async (request) => {
      const query = parseOrThrow(listQuery, request.query, 'query');
      const waitpoints = await engine.listWaitpoints({ tenant: request.tenant, status: query.status, taskId: query.task_id, projectId: query.project_id, limit: query.limit });
      return { waitpoints: waitpoints.map(waitpointView) };
    });

    app.get('/api/v1/waitpoints/:id', {
      schema: { tags: ['waitpoints'], summary: 'Read a waitpoint', security: securityRequirement, params: jsonSchema(idParams), response: errors },
    }, async (request) => {
      const { id } = parseOrThrow(idParams, request.params, 'params');
      return waitpointView(await engine.getWaitpoint(id, { tenant: request.tenant }));
    });

    app.post('/api/v1/waitpoints/:id/complete', {
      schema: { tags: ['waitpoints'], summary: 'Complete a waitpoint; its task resumes', security: securityRequirement, params: jsonSchema(idParams), body: jsonSchema(completeBody), response: errors },
    }, async (request) => {
      const { id } = parseOrThrow(idParams, request.params, 'params');
      const body = parseOrThrow(completeBody, request.body ?? {}, 'body');
      const waitpoint = await engine.completeWaitpoint({ id, tenant: request.tenant, payload: body.payload ?? null, completedBy: `api_key:${request.apiKeyId}` });
      return waitpointView(waitpoint);
    });

    app.post('/api/v1/waitpoints/:id/token', {
      schema: { tags: ['waitpoints'], summary: 'A single-use token that completes the waitpoint without an API key', security: securityRequirement, params: jsonSchema(idParams), response: errors },
    }, async (request) => {
      const { id } = parseOrThrow(idParams, request.params, 'params');
      parseOrThrow(emptyBody, request.body, 'body');
      const { token, waitpoint } = await engine.createWaitpointToken(id, request.tenant);
      return { waitpoint_id: waitpoint.id, token, expires_at: waitpoint.timeout_at, complete_path: '/api/v1/waitpoints/complete-with-token' };
    });
  };
}

/** The token route: outside the authenticated scope, the token is the credential. */
export function waitpointTokenRoutes(context: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.post('/api/v1/waitpoints/complete-with-token', {
      schema: { tags: ['waitpoints'], summary: 'Complete a waitpoint with its single-use token', body: jsonSchema(tokenBody), response: errors },
    }, async (request) => {
      const body = parseOrThrow(tokenBody, request.body ?? {}, 'body');
      const waitpoint = await context.engine.completeWaitpoint({ token: body.token, payload: body.payload ?? null, completedBy: 'token' });
      return waitpointView(waitpoint);
    });
  };
}
