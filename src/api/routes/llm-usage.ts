/**
 * LLM usage from `llm_calls`, the gateway's record of every call: one task's calls and totals,
 * and the tenant's tokens and cost per model since a moment.
 *
 * These read the calls themselves rather than the `llm_usage` a task result may carry, so they
 * cover running, failed and cancelled tasks and task types whose result reports no usage.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { securityRequirement, type ApiContext } from '../context.ts';
import { errorSchema, taskIdParams } from '../schemas.ts';
import { taskLlmCalls, tenantLlmUsage } from '../store/llm-usage.ts';
import { jsonSchema, parseOrThrow } from '../validation.ts';

const dateFormatMessage = 'must be an ISO 8601 date (2026-01-31) or date-time with a time zone (2026-01-31T08:00:00Z, 2026-01-31T09:00:00+01:00)';

/** An ISO 8601 date or zoned date-time, as a Date. A time without a zone is refused: it would be read in the server's zone. */
const isoMoment = z.string().max(64).transform((value, context) => {
  const wellFormed = z.iso.datetime({ offset: true }).safeParse(value).success || z.iso.date().safeParse(value).success;
  const date = new Date(value);
  // Year 0 and earlier pass the format but not PostgreSQL's calendar.
  if (!wellFormed || Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1) {
    context.addIssue({ code: 'custom', message: dateFormatMessage });
    return z.NEVER;
  }
  return date;
});

export const llmUsageQuery = z.object({
  since: isoMoment.optional().describe('Count calls made at or after this moment (ISO 8601). Default: the start of the current UTC day.'),
}).strict();

/** The task route takes no query; a strict empty schema still refuses unknown keys. */
const llmCallsQuery = z.object({}).strict();

const totalsSchema = z.object({
  calls: z.number().int(),
  failed_calls: z.number().int(),
  cached_calls: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cost_usd: z.number().nullable().describe('USD; null when some call has no price in TASKLOOM_LLM_PRICES.'),
});

const callSchema = z.object({
  id: z.number().int(),
  step: z.string().nullable(),
  purpose: z.enum(['generation', 'judging', 'research', 'embedding']),
  provider: z.string(),
  model: z.string(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  latency_ms: z.number().int(),
  cache_hit: z.boolean(),
  attempt: z.number().int().describe('1 for the first request to this model within one gateway call; retries and repairs count up.'),
  cost_usd: z.number().nullable(),
  error_code: z.string().nullable().describe('null on success.'),
  state: z.enum(['in_flight', 'finished', 'interrupted']).describe('interrupted: the process making the request died before it ended (error_code llm_interrupted).'),
  created_at: z.string(),
});

const taskCallsResponse = z.object({
  task_id: z.uuid(),
  calls: z.array(callSchema).describe('Oldest first; the newest 1000 when there are more (then truncated is true).'),
  truncated: z.boolean(),
  totals: totalsSchema.describe('Over every call of the task.'),
});

const usageResponse = z.object({
  since: z.string(),
  totals: totalsSchema,
  by_model: z.array(z.object({ model: z.string().describe('provider:model'), calls: z.number().int(), input_tokens: z.number().int(), output_tokens: z.number().int(), cost_usd: z.number().nullable() })).describe('Most tokens first.'),
});

const errors = { 400: jsonSchema(errorSchema), 401: jsonSchema(errorSchema), 429: jsonSchema(errorSchema) };

/** The start of the current UTC day. */
function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export function llmUsageRoutes(context: ApiContext): FastifyPluginAsync {
  const { engine } = context;
  return async (app) => {
    app.get('/api/v1/tasks/:id/llm-calls', {
      schema: {
        tags: ['llm'], summary: 'Every LLM call of a task (failed and cached ones included) and their totals', security: securityRequirement,
        params: jsonSchema(taskIdParams), querystring: jsonSchema(llmCallsQuery),
        response: { 200: jsonSchema(taskCallsResponse, 'output'), 404: jsonSchema(errorSchema), ...errors },
      },
    }, async (request) => {
      const { id } = parseOrThrow(taskIdParams, request.params, 'params');
      parseOrThrow(llmCallsQuery, request.query, 'query');
      // The same lookup as GET /api/v1/tasks/{id}: another tenant's task is `not_found`, byte for byte.
      const task = await engine.getTask(id, { tenant: request.tenant });
      return taskLlmCalls(context.pool, task.id);
    });

    app.get('/api/v1/llm/usage', {
      schema: {
        tags: ['llm'], summary: 'LLM calls, tokens and cost of this tenant\'s tasks since a moment, in total and per model', security: securityRequirement,
        querystring: jsonSchema(llmUsageQuery), response: { 200: jsonSchema(usageResponse, 'output'), ...errors },
      },
    }, async (request) => {
      const query = parseOrThrow(llmUsageQuery, request.query, 'query');
      return tenantLlmUsage(context.pool, { tenant: request.tenant, since: query.since ?? startOfUtcDay(new Date()) });
    });
  };
}
