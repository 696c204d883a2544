/**
 * Tasks: submit, read, list, cancel, stats, webhook delivery record.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { inputWithProjectId, validateInput, type AnyTaskDefinition } from '../../engine/index.ts';
import { isTaskloomError, NotFoundError, UnknownTaskTypeError, ValidationError } from '../../errors.ts';
import { refuseUrl, webhookDeliveryRecord } from '../../integrations/webhooks/index.ts';
import { taskloomMetrics } from '../../metrics.ts';
import { requireKeyForSubmit, requireRole } from '../auth.ts';
import { securityRequirement, type ApiContext } from '../context.ts';
import { errorSchema, listQuery, statsQuery, submitBody, taskIdParams, taskView, taskViewSchema } from '../schemas.ts';
import { taskStats } from '../store/task-stats.ts';
import { jsonSchema, parseOrThrow } from '../validation.ts';

const submitResponse = z.object({ task_id: z.uuid(), status: z.string(), message: z.string() });
const cancelResponse = z.object({ task_id: z.uuid(), previous_state: z.string(), status: z.string(), message: z.string() });
const errors = { 400: jsonSchema(errorSchema), 401: jsonSchema(errorSchema), 404: jsonSchema(errorSchema), 429: jsonSchema(errorSchema) };

/** The webhook URL a task type reads from its input, and the task_data field that holds it. */
function callbackUrlInInput(definition: AnyTaskDefinition, taskData: Record<string, unknown>): { url: string; field: string } | undefined {
  if (!definition.callbackUrl) return undefined;
  const parsed = definition.input.safeParse(taskData);
  // Invalid input is reported by the submit itself, with every issue.
  if (!parsed.success) return undefined;
  const url = definition.callbackUrl(parsed.data);
  if (!url) return undefined;
  const field = Object.entries(taskData).find(([, value]) => value === url)?.[0] ?? 'webhook_url';
  return { url, field };
}

export function taskRoutes(context: ApiContext): FastifyPluginAsync {
  const { engine } = context;
  return async (app) => {
    app.post('/api/v1/tasks/submit', {
      schema: {
        tags: ['tasks'], summary: 'Submit a task', security: securityRequirement,
        body: jsonSchema(submitBody),
        response: { 202: jsonSchema(submitResponse, 'output'), 200: jsonSchema(submitResponse, 'output'), 409: jsonSchema(errorSchema), 413: jsonSchema(errorSchema), ...errors },
      },
    }, async (request, reply) => {
      // A supervisor's key reads, approves and rejects; starting work (and spending) is not its.
      requireRole(request, 'marketer');
      const body = parseOrThrow(submitBody, request.body, 'body');
      if (body.callback_url) {
        const reason = refuseUrl(body.callback_url, context.webhookPolicy);
        if (reason) throw new ValidationError(`Invalid request body: callback_url: ${reason}`, { location: 'body', issues: [{ path: 'callback_url', message: reason }] });
      }
      if (!engine.registry.has(body.task_type)) throw new UnknownTaskTypeError(body.task_type, engine.registry.types());
      const definition = engine.registry.get(body.task_type);
      const projectId = body.project_id ?? undefined;
      const input = inputWithProjectId(definition, body.task_data, projectId, { input: 'task_data.project_id', project: 'project_id', prefix: 'Invalid request body: ', location: 'body' });
      if (definition.requiresAdminKey) requireKeyForSubmit(request, definition, validateInput(definition, input));
      // A webhook URL inside task_data (the seeds' webhook_url) meets the same target policy.
      const inputCallback = body.callback_url ? undefined : callbackUrlInInput(definition, input);
      if (inputCallback) {
        const reason = refuseUrl(inputCallback.url, context.webhookPolicy);
        if (reason) throw new ValidationError(`Invalid request body: task_data.${inputCallback.field}: ${reason}`, { location: 'body', issues: [{ path: `task_data.${inputCallback.field}`, message: reason }] });
      }
      try {
        const { task, created } = await engine.submit({
          taskType: body.task_type,
          input,
          tenant: request.tenant,
          projectId,
          idempotencyKey: body.idempotency_key,
          callbackUrl: body.callback_url ?? undefined,
          priority: body.priority,
        });
        reply.code(created ? 202 : 200);
        return {
          task_id: task.id,
          // The seed's answer to a new task: accepted. A worker of this process may already run
          // it (eager start); `GET /tasks/{id}` and the events say so.
          status: created ? 'queued' : task.status,
          message: created ? 'Task submitted successfully' : 'A task with this idempotency_key already exists; returning it.',
        };
      } catch (error) {
        // Input errors name paths inside task_data; say so, like every other body error.
        if (isTaskloomError(error) && error.code === 'validation_failed' && Array.isArray(error.details.issues)) {
          const issues = (error.details.issues as Array<{ path: string; message: string }>).map((issue) => ({ path: issue.path === '(root)' ? 'task_data' : `task_data.${issue.path}`, message: issue.message }));
          throw new ValidationError(`Invalid request body: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { location: 'body', task_type: body.task_type, issues });
        }
        throw error;
      }
    });

    app.get('/api/v1/tasks', {
      schema: { tags: ['tasks'], summary: 'List tasks, newest first (cursor-paginated)', security: securityRequirement, querystring: jsonSchema(listQuery), response: errors },
    }, async (request) => {
      const query = parseOrThrow(listQuery, request.query, 'query');
      const page = await engine.listTasks({ tenant: request.tenant, status: query.status, taskType: query.task_type, projectId: query.project_id, limit: query.limit, cursor: query.cursor })
        .catch((error: unknown) => {
          // The engine refuses a cursor it did not issue; said as every other query error is.
          if (error instanceof ValidationError) throw new ValidationError(`Invalid request query: cursor: ${error.message}`, { location: 'query', ...error.details });
          throw error;
        });
      return { tasks: page.tasks.map(taskView), next_cursor: page.nextCursor };
    });

    app.get('/api/v1/tasks/stats', {
      schema: { tags: ['tasks'], summary: 'Counts by status, type and queue; queue depth; durations per type', security: securityRequirement, querystring: jsonSchema(statsQuery), response: errors },
    }, async (request) => {
      const query = parseOrThrow(statsQuery, request.query, 'query');
      return taskStats(context.pool, { tenant: request.tenant, projectId: query.project_id, windowHours: query.window_hours });
    });

    app.get('/api/v1/tasks/:id', {
      schema: { tags: ['tasks'], summary: 'Read a task', security: securityRequirement, params: jsonSchema(taskIdParams), response: { 200: jsonSchema(taskViewSchema, 'output'), ...errors } },
    }, async (request) => {
      const { id } = parseOrThrow(taskIdParams, request.params, 'params');
      return taskView(await engine.getTask(id, { tenant: request.tenant }));
    });

    app.get('/api/v1/tasks/:id/children', {
      schema: { tags: ['tasks'], summary: 'A task\'s child tasks, oldest first', security: securityRequirement, params: jsonSchema(taskIdParams), response: errors },
    }, async (request) => {
      const { id } = parseOrThrow(taskIdParams, request.params, 'params');
      const { children, total, settled } = await engine.children(id, { tenant: request.tenant });
      // A fan-out wider than the list: the counts are of all of them, and `truncated` says so.
      return { task_id: id, children: children.map(taskView), total, settled, truncated: children.length < total };
    });

    const cancel = async (tenant: string, id: string): Promise<z.output<typeof cancelResponse>> => {
      const result = await engine.cancel(id, { tenant });
      if (result.status === 'cancelled' && result.previous_state !== 'cancelled') {
        // Running tasks are counted by the worker that stops them; queued ones here.
        const task = await engine.getTask(id, { tenant }).catch(() => undefined);
        if (task) taskloomMetrics().cancelled.inc({ task_type: task.task_type });
      }
      return result;
    };

    app.post('/api/v1/tasks/:id/cancel', {
      schema: { tags: ['tasks'], summary: 'Cancel a task', security: securityRequirement, params: jsonSchema(taskIdParams), response: { 200: jsonSchema(cancelResponse, 'output'), ...errors } },
    }, async (request) => {
      requireRole(request, 'marketer');
      const { id } = parseOrThrow(taskIdParams, request.params, 'params');
      return cancel(request.tenant, id);
    });

    app.delete('/api/v1/tasks/:id', {
      schema: { tags: ['tasks'], summary: 'Cancel a task (same as POST /cancel)', security: securityRequirement, params: jsonSchema(taskIdParams), response: { 200: jsonSchema(cancelResponse, 'output'), ...errors } },
    }, async (request) => {
      requireRole(request, 'marketer');
      const { id } = parseOrThrow(taskIdParams, request.params, 'params');
      return cancel(request.tenant, id);
    });

    app.get('/api/v1/tasks/:id/webhook', {
      schema: { tags: ['webhooks'], summary: 'Webhook delivery record of a task (cursor, attempts, last status)', security: securityRequirement, params: jsonSchema(taskIdParams), response: errors },
    }, async (request) => {
      const { id } = parseOrThrow(taskIdParams, request.params, 'params');
      const task = await engine.getTask(id, { tenant: request.tenant });
      if (!task.callback_url) throw new NotFoundError('Webhook delivery for task', id);
      const record = await webhookDeliveryRecord(context.pool, task.id, request.tenant);
      // Before a dispatcher has taken the task up there is no delivery row: the same fields, none yet.
      return record ?? {
        task_id: task.id, url: task.callback_url, state: 'active', pending: true, attempts: 0, delivered_count: 0, dropped_count: 0,
        last_status: null, last_error: null, last_attempt_at: null, next_attempt_at: null, recent_attempts: [],
      };
    });
  };
}
