/**
 * The task types this server accepts, with their queue, limits and input JSON Schema.
 */
import type { FastifyPluginAsync } from 'fastify';
import { queuePolicy } from '../../engine/index.ts';
import { securityRequirement, type ApiContext } from '../context.ts';
import { emptyQuery, jsonSchema, parseOrThrow } from '../validation.ts';

export function taskTypeRoutes(context: ApiContext): FastifyPluginAsync {
  let cached: unknown[] | undefined;
  return async (app) => {
    app.get('/api/v1/task-types', {
      schema: { tags: ['tasks'], summary: 'Task types with their queue, timeouts and input JSON Schema', security: securityRequirement },
    }, async (request) => {
      parseOrThrow(emptyQuery, request.query, 'query');
      cached ??= context.engine.registry.list().map((definition) => {
        const queue = queuePolicy(definition.queue);
        return {
          type: definition.type,
          aliases: definition.aliases ?? [],
          description: definition.description,
          queue: definition.queue,
          priority: definition.priority ?? queue.priority,
          max_attempts: definition.maxAttempts ?? queue.maxAttempts,
          soft_timeout_ms: definition.softTimeoutMs ?? null,
          hard_timeout_ms: definition.hardTimeoutMs ?? queue.hardTimeoutMs,
          input_schema: jsonSchema(definition.input),
        };
      });
      return { task_types: cached };
    });
  };
}
