/**
 * HTTP routes of the smart metadata pipeline (seed 003's shapes), inside the API's authenticated
 * scope; every query is scoped by the request's tenant, so another tenant's project is a 404.
 *
 * - `POST /api/projects`, `GET /api/projects?limit=&cursor=`, `GET|PATCH|DELETE /api/projects/{id}`
 * - `POST /api/projects/{id}/generate_metadata/?force=true`: 202 started (or the run already
 *   active), 200 when metadata exists and force is not true, 404, 400 when ENABLE_STI=false
 * - `PUT|DELETE /api/projects/{id}/meta/{key}`: a user's own meta keys
 * - `GET /api/projects/{id}/metadata_generations`: the project's recent generations
 * - `GET|PUT /api/smart-metadata/settings`: the tenant's SHOW_AI_META and regeneration settings
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isUuid, parseOrThrow, requireRole, tenantOf } from '../../kit/index.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { recentGenerations } from './generations-store.ts';
import { deleteUserMeta, setUserMeta } from './meta-store.ts';
import { createProjectService, type ProjectServiceDependencies } from './project-service.ts';
import { deleteProject, InvalidProjectCursorError, projectExists } from './projects-store.ts';
import { projectCreate, projectUpdate, settingsUpdate, userMetaKey } from './schemas.ts';
import { defaultTenantSettings, readTenantSettings, updateTenantSettings } from './settings-store.ts';

const projectParams = z.object({ id: z.string().min(1).max(200) });
const metaParams = z.object({ id: z.string().min(1).max(200), key: userMetaKey });
// Any case: Python clients (the seed's) send `force=True`.
const generateQuery = z.object({ force: z.string().transform((value) => value.toLowerCase()).pipe(z.enum(['true', 'false', '1', '0'])).optional() }).strict();
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().min(1).max(100).optional() }).strict();
const metaBody = z.object({ value: z.json() }).strict();

/** A project id from the path: anything that is not a uuid names no project (404, like another tenant's). */
function projectIdOf(request: FastifyRequest): string {
  const { id } = parseOrThrow(projectParams, request.params, 'params');
  if (!isUuid(id)) throw new NotFoundError('Project', id);
  return id.toLowerCase();
}

export function metadataRoutes(dependencies: ProjectServiceDependencies) {
  const service = createProjectService(dependencies);
  const { pool } = dependencies;
  return async (app: FastifyInstance): Promise<void> => {
    // The seed's metrics are answered by the process serving /metrics, which is the one serving
    // these routes; prom-client is loaded with them, not by every process building task types.
    const { registerMetricsSource } = await import('./metrics.ts');
    const detach = registerMetricsSource(pool);
    app.addHook('onClose', async () => detach());
    app.post('/api/projects', async (request, reply) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const body = parseOrThrow(projectCreate, request.body, 'body');
      return reply.code(201).send(await service.createProject(tenant, body));
    });

    app.get('/api/projects', async (request) => {
      const tenant = tenantOf(request);
      const query = parseOrThrow(listQuery, request.query, 'query');
      try {
        const page = await service.listProjects(tenant, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
        return { projects: page.projects, next_cursor: page.nextCursor };
      } catch (error) {
        if (error instanceof InvalidProjectCursorError) throw new ValidationError(`Invalid request query: cursor: ${error.message}`, { location: 'query', issues: [{ path: 'cursor', message: error.message }] });
        throw error;
      }
    });

    app.get('/api/projects/:id', async (request) => service.readProject(tenantOf(request), projectIdOf(request)));

    app.patch('/api/projects/:id', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const id = projectIdOf(request);
      const body = parseOrThrow(projectUpdate, request.body, 'body');
      return service.updateProject(tenant, id, body);
    });

    app.delete('/api/projects/:id', async (request, reply) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const id = projectIdOf(request);
      if (!(await deleteProject(pool, tenant, id))) throw new NotFoundError('Project', id);
      return reply.code(204).send();
    });

    // Seed path, trailing slash included (the API ignores trailing slashes, so both forms work).
    app.post('/api/projects/:id/generate_metadata/', async (request, reply) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const id = projectIdOf(request);
      const query = parseOrThrow(generateQuery, request.query, 'query');
      const force = query.force === 'true' || query.force === '1';
      const outcome = await service.requestGeneration(tenant, id, { force, trigger: 'api' });
      if (outcome.kind === 'exists') {
        return reply.code(200).send({ message: 'Metadata already exists. Use ?force=true to regenerate.', project_id: id, existing_metadata: true });
      }
      return reply.code(202).send({
        message: outcome.kind === 'started' ? 'Metadata generation started' : 'Metadata generation already in progress',
        task_id: outcome.taskId,
        project_id: id,
        force_regenerate: outcome.forceRegenerate,
        ...(outcome.kind === 'already_running' ? { already_running: true } : {}),
      });
    });

    app.put('/api/projects/:id/meta/:key', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const id = projectIdOf(request);
      const { key } = parseOrThrow(metaParams, request.params, 'params');
      const { value } = parseOrThrow(metaBody, request.body, 'body');
      if (!(await setUserMeta(pool, tenant, id, key, value))) throw new NotFoundError('Project', id);
      return { project_id: id, key, value };
    });

    app.delete('/api/projects/:id/meta/:key', async (request, reply) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const id = projectIdOf(request);
      const { key } = parseOrThrow(metaParams, request.params, 'params');
      if (!(await deleteUserMeta(pool, tenant, id, key))) throw new NotFoundError('Meta key', `${id}/${key}`);
      return reply.code(204).send();
    });

    app.get('/api/projects/:id/metadata_generations', async (request) => {
      const tenant = tenantOf(request);
      const id = projectIdOf(request);
      if (!(await projectExists(pool, tenant, id))) throw new NotFoundError('Project', id);
      return { project_id: id, generations: await recentGenerations(pool, tenant, id, 20) };
    });

    app.get('/api/smart-metadata/settings', async (request) => ({ ...(await readTenantSettings(pool, tenantOf(request), defaultTenantSettings(dependencies.config))), generation_enabled: dependencies.config.enableSti }));

    app.put('/api/smart-metadata/settings', async (request) => {
      const tenant = tenantOf(request);
      requireRole(request, 'marketer');
      const body = parseOrThrow(settingsUpdate, request.body, 'body');
      return { ...(await updateTenantSettings(pool, tenant, body, defaultTenantSettings(dependencies.config))), generation_enabled: dependencies.config.enableSti };
    });
  };
}
