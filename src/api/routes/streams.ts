/**
 * WebSocket streams of stored-then-live events: one task (`/ws/tasks/:id`) or every task of a
 * project (`/ws/projects/:projectId`). `?after=` resumes after an event id. (Seed 004's
 * `/ws/jobs/:id` is the learning pipeline's: it streams job documents, not events.) Each message
 * is one event as JSON; a task stream closes (1000) after the task's terminal event.
 * Authentication and the task lookup happen before the upgrade, so a bad key answers HTTP 401
 * and another tenant's task HTTP 404.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import { terminalStatuses } from '../../engine/index.ts';
import { taskloomMetrics } from '../../metrics.ts';
import { securityRequirement, type ApiContext } from '../context.ts';
import { holdWebSocket } from '../held-streams.ts';
import { pumpEvents } from '../event-stream.ts';
import { eventBytes, projectIdParams, streamQuery, taskIdParams } from '../schemas.ts';
import { UpgradeRequiredError } from '../errors.ts';
import { jsonSchema, parseOrThrow } from '../validation.ts';

/** A client this far behind is disconnected (it can resume with ?after=). */
const maxBufferedBytes = 8 * 1024 * 1024;
const pingIntervalMs = 30_000;

declare module 'fastify' {
  interface FastifyRequest {
    /** `finished`: the task had ended when the stream opened (see pumpEvents). */
    streamTarget: { taskId?: string; projectId?: string; afterId: number; finished?: boolean } | null;
  }
}

function keepAlive(socket: WebSocket): () => void {
  let alive = true;
  socket.on('pong', () => {
    alive = true;
  });
  const timer = setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, pingIntervalMs);
  return () => clearInterval(timer);
}

export function streamRoutes(context: ApiContext): FastifyPluginAsync {
  const { engine } = context;

  const run = async (socket: WebSocket, request: FastifyRequest): Promise<void> => {
    const target = request.streamTarget!;
    const controller = new AbortController();
    let lastId = target.afterId;
    const gauge = taskloomMetrics().streamClients;
    gauge.inc({ transport: 'websocket' });
    const stopPing = keepAlive(socket);
    const letGo = holdWebSocket(request, socket, () => controller.abort(), () => `server restarting; reconnect with ?after=${lastId}`);
    socket.on('close', () => controller.abort());
    socket.on('error', () => controller.abort());
    // Messages from the client are not part of the protocol; reading them keeps buffers empty.
    socket.on('message', () => {});
    try {
      const end = await pumpEvents({
        engine,
        transport: 'websocket',
        endAfterTerminal: target.taskId !== undefined,
        finished: target.finished === true,
        subscription: { tenant: request.tenant, taskId: target.taskId, projectId: target.projectId, afterId: target.afterId, signal: controller.signal },
        send: (event) => {
          if (socket.readyState !== socket.OPEN) {
            controller.abort();
            return;
          }
          if (socket.bufferedAmount > maxBufferedBytes) {
            socket.close(1013, `client too slow; reconnect with ?after=${lastId}`);
            controller.abort();
            return;
          }
          // A text frame from bytes encoded once per event, not once per client.
          socket.send(eventBytes(event), { binary: false, compress: false, fin: true });
          lastId = event.id;
        },
      });
      if (socket.readyState === socket.OPEN) {
        if (end === 'terminal') socket.close(1000, 'task finished');
        else if (end === 'slow') socket.close(1013, `client too slow; reconnect with ?after=${lastId}`);
        else if (end === 'closed') socket.close(1012, `server restarting; reconnect with ?after=${lastId}`);
      }
    } finally {
      letGo();
      stopPing();
      gauge.dec({ transport: 'websocket' });
    }
  };

  return async (app) => {
    app.route({
      method: 'GET',
      url: '/ws/tasks/:id',
      config: { allowQueryKey: true },
      schema: { tags: ['streams'], summary: 'WebSocket: one task\'s events, stored then live; closes after the terminal event', security: securityRequirement, params: jsonSchema(taskIdParams), querystring: jsonSchema(streamQuery) },
      preHandler: async (request) => {
        const { id } = parseOrThrow(taskIdParams, request.params, 'params');
        const query = parseOrThrow(streamQuery, request.query, 'query');
        const task = await engine.getTask(id, { tenant: request.tenant });
        request.streamTarget = { taskId: task.id, afterId: query.after ?? 0, finished: (terminalStatuses as readonly string[]).includes(task.status) };
      },
      handler: async () => {
        throw new UpgradeRequiredError();
      },
      wsHandler: (socket, request) => {
        void run(socket, request);
      },
    });

    app.route({
      method: 'GET',
      url: '/ws/projects/:projectId',
      config: { allowQueryKey: true },
      schema: { tags: ['streams'], summary: 'WebSocket: every event of a project\'s tasks, stored then live', security: securityRequirement, params: jsonSchema(projectIdParams), querystring: jsonSchema(streamQuery) },
      preHandler: async (request) => {
        const { projectId } = parseOrThrow(projectIdParams, request.params, 'params');
        const query = parseOrThrow(streamQuery, request.query, 'query');
        request.streamTarget = { projectId, afterId: query.after ?? 0 };
      },
      handler: async () => {
        throw new UpgradeRequiredError();
      },
      wsHandler: (socket, request) => {
        void run(socket, request);
      },
    });
  };
}
