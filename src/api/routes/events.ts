/**
 * A task's events over Server-Sent Events, or as a stored list with `Accept: application/json`.
 *
 * SSE frames carry `id: <event id>` and `data: <event JSON>` (default `message` type, so
 * `EventSource.onmessage` sees every event). A reconnecting EventSource sends `Last-Event-ID`
 * and gets exactly the events after it. After the task's terminal event the stream ends; a
 * reconnect then answers 204, which tells EventSource to stop reconnecting.
 */
import type { FastifyPluginAsync } from 'fastify';
import { once } from 'node:events';
import { terminalStatuses } from '../../engine/index.ts';
import { taskloomMetrics } from '../../metrics.ts';
import { securityRequirement, type ApiContext } from '../context.ts';
import { holdStream } from '../held-streams.ts';
import { lastEventId, pumpEvents } from '../event-stream.ts';
import { eventsQuery, eventViewSchema, taskIdParams } from '../schemas.ts';
import { jsonSchema, parseOrThrow } from '../validation.ts';

const heartbeatMs = 15_000;

function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.includes('application/json') && !accept.includes('text/event-stream');
}

export function eventRoutes(context: ApiContext): FastifyPluginAsync {
  const { engine } = context;
  return async (app) => {
    app.get('/api/v1/tasks/:id/events', {
      // A HEAD would open a stream with nothing to read it.
      exposeHeadRoute: false,
      config: { allowQueryKey: true },
      schema: {
        tags: ['streams'],
        summary: 'Task events: SSE stream (replay after Last-Event-ID or ?after=, then live), or the stored list with Accept: application/json',
        security: securityRequirement,
        params: jsonSchema(taskIdParams),
        querystring: jsonSchema(eventsQuery),
        response: {
          200: { description: 'text/event-stream, or {task_id, events, next_after} as JSON', type: 'object', properties: { events: jsonSchema(eventViewSchema.array(), 'output') } },
          204: { description: 'The task is finished and no event remains after the cursor (EventSource stops reconnecting).', type: 'null' },
        },
      },
    }, async (request, reply) => {
      const { id } = parseOrThrow(taskIdParams, request.params, 'params');
      const query = parseOrThrow(eventsQuery, request.query, 'query');
      const task = await engine.getTask(id, { tenant: request.tenant });
      const headerId = lastEventId(request.headers['last-event-id']);
      const afterId = Math.max(query.after ?? 0, headerId ?? 0);

      if (wantsJson(request.headers.accept)) {
        const events = await engine.readEvents({ tenant: request.tenant, taskId: task.id, afterId, limit: query.limit });
        return {
          task_id: task.id,
          events: events.map(({ tenant: _tenant, ...event }) => event),
          next_after: events.length === query.limit ? events[events.length - 1]!.id : null,
        };
      }

      const finished = (terminalStatuses as readonly string[]).includes(task.status);
      if (finished) {
        const remaining = await engine.readEvents({ tenant: request.tenant, taskId: task.id, afterId, limit: 1 });
        if (remaining.length === 0) return reply.code(204).send();
      }

      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      response.write('retry: 2000\n\n');
      const controller = new AbortController();
      // A revoked key's stream just ends: the EventSource reconnects, gets 401 and gives up.
      const letGo = holdStream(request, () => controller.abort());
      const gauge = taskloomMetrics().streamClients;
      gauge.inc({ transport: 'sse' });
      const onClose = (): void => controller.abort();
      response.on('close', onClose);
      const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), heartbeatMs);
      try {
        await pumpEvents({
          engine,
          transport: 'sse',
          endAfterTerminal: true,
          finished,
          subscription: { tenant: request.tenant, taskId: task.id, afterId, signal: controller.signal },
          send: async (event, json) => {
            if (!response.write(`id: ${event.id}\ndata: ${json}\n\n`)) {
              await Promise.race([once(response, 'drain'), once(controller.signal, 'abort')]);
            }
          },
        });
      } finally {
        clearInterval(heartbeat);
        response.off('close', onClose);
        letGo();
        gauge.dec({ transport: 'sse' });
        if (!response.writableEnded) response.end();
      }
    });
  };
}
