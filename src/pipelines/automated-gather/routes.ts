/**
 * HTTP routes of the automated gather pipeline, as a Fastify plugin the API registers:
 *
 * - `GET /api/v1/projects/{id}/gather?department=&limit=&cursor=`: the project's gather items, oldest first
 * - `GET /api/v1/projects/{id}/departments`: the departments a gather would use (Payload or the table)
 * - `PUT /api/v1/projects/{id}/departments`: replace the project's department list (table only)
 * - `GET /api/v1/projects/{id}/evaluations?department=&limit=`: department evaluations, newest first
 *
 * Every query is scoped by `request.tenant`, which the API's authentication sets.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parseOrThrow, requireRole, tenantOf } from '../../kit/index.ts';
import { TaskloomError, ValidationError } from '../../errors.ts';
import { listTableDepartments, replaceProjectDepartments, unusableModels } from './departments.ts';
import { listEvaluations } from './evaluations-store.ts';
import { InvalidItemCursorError, listItems } from './items-store.ts';
import { departmentsUpdate } from './schemas.ts';
import { resolveGatherServices, type GatherServices } from './services.ts';

const projectParams = z.object({ id: z.string().trim().min(1).max(200) });
const itemsQuery = z.object({
  department: z.string().trim().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(500).optional(),
}).strict();
const evaluationsQuery = z.object({
  department: z.string().trim().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
}).strict();

export function gatherRoutes(services: GatherServices): FastifyPluginAsync {
  const resolved = resolveGatherServices(services);
  const { pool } = resolved;
  return async (app) => {
    app.get('/api/v1/projects/:id/gather', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(projectParams, request.params, 'params');
      const query = parseOrThrow(itemsQuery, request.query, 'query');
      try {
        const page = await listItems(pool, { tenant, projectId: id, limit: query.limit, ...(query.department ? { department: query.department } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) });
        return { project_id: id, items: page.items, next_cursor: page.nextCursor };
      } catch (error) {
        if (error instanceof InvalidItemCursorError) throw new ValidationError(`Invalid request query: cursor: ${error.message}`, { location: 'query', issues: [{ path: 'cursor', message: error.message }] });
        throw error;
      }
    });

    app.get('/api/v1/projects/:id/departments', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(projectParams, request.params, 'params');
      if (resolved.departments.kind === 'payload') {
        const departments = await resolved.departments.gatherDepartments(tenant, id);
        return { project_id: id, source: 'payload', departments };
      }
      const { departments, scope } = await listTableDepartments(pool, tenant, id);
      return { project_id: id, source: scope, departments };
    });

    app.put('/api/v1/projects/:id/departments', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const { id } = parseOrThrow(projectParams, request.params, 'params');
      const body = parseOrThrow(departmentsUpdate, request.body, 'body');
      if (resolved.departments.kind === 'payload') {
        throw new TaskloomError('departments_managed_by_payload', 'Departments come from Payload CMS (PAYLOAD_API_URL is set); edit them there.', { httpStatus: 409, retryable: false });
      }
      const unusable = unusableModels(resolved.llm, body.departments);
      if (unusable.length > 0) throw new ValidationError(`Invalid request body: ${unusable.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { location: 'body', issues: unusable });
      const departments = await replaceProjectDepartments(pool, tenant, id, body);
      return { project_id: id, source: 'project', departments };
    });

    app.get('/api/v1/projects/:id/evaluations', async (request) => {
      const tenant = tenantOf(request);
      const { id } = parseOrThrow(projectParams, request.params, 'params');
      const query = parseOrThrow(evaluationsQuery, request.query, 'query');
      const evaluations = await listEvaluations(pool, { tenant, projectId: id, limit: query.limit, ...(query.department ? { department: query.department } : {}) });
      return { project_id: id, evaluations };
    });
  };
}
