/**
 * `GET /api/v1/event-types`: the events each pipeline emits, with the JSON Schema of their
 * payloads, from the pipelines' own declarations (`events` in each pipeline.ts). A client
 * following a task's events (SSE, WebSocket, webhooks, Redis) learns here what a payload holds.
 * The engine's lifecycle events (`task_queued` ... `task_cancelled`) are listed in docs/api.md.
 */
import type { FastifyPluginAsync } from 'fastify';
import { emptyQuery, parseOrThrow, securityRequirement, type Pipeline } from '../kit/index.ts';

export interface EventType {
  pipeline: string;
  type: string;
  payload_schema: unknown;
}

/** Every declared event, by pipeline in registration order, then by name. */
export async function eventTypes(pipelines: readonly Pipeline[]): Promise<EventType[]> {
  const declared = await Promise.all(pipelines.map(async (pipeline) => Object.entries(await pipeline.eventSchemas())
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([type, schema]) => ({ pipeline: pipeline.name, type, payload_schema: schema }))));
  return declared.flat();
}

export function eventTypeRoutes(pipelines: readonly Pipeline[]): FastifyPluginAsync {
  let listing: Promise<EventType[]> | undefined;
  return async (app) => {
    app.get('/api/v1/event-types', {
      schema: { tags: ['tasks'], summary: 'The events pipelines emit, with their payloads\' JSON Schema', security: securityRequirement },
    }, async (request) => {
      parseOrThrow(emptyQuery, request.query, 'query');
      // Declarations do not change while the process runs: converted once.
      listing ??= eventTypes(pipelines);
      return { event_types: await listing };
    });
  };
}
