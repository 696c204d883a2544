/**
 * Streams a client holds open (SSE, WebSocket), core or a pipeline's: each is ended when the
 * server closes or the key that opened it is revoked (revocations.ts). A route registers its
 * stream with `holdStream` as it opens and lets go as it ends; the set lives on the app, so a
 * pipeline's routes reach it through their request, like the core's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import type { OpenStream } from './context.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's open streams (buildApp). */
    heldStreams: Set<OpenStream>;
  }
}

/** Makes `streams` the app's held streams, before any route is registered. */
export function decorateHeldStreams(app: FastifyInstance, streams: Set<OpenStream>): void {
  app.decorate('heldStreams', streams);
}

/**
 * Registers a stream `request` opened: `end` is called when the server closes (`shutdown`) or the
 * request's key is revoked (`revoked`). Returns the function to call once the stream has ended.
 */
export function holdStream(request: FastifyRequest, end: OpenStream['end']): () => void {
  const stream: OpenStream = { keyId: request.apiKeyId, end };
  const streams = request.server.heldStreams;
  streams.add(stream);
  return () => streams.delete(stream);
}

/**
 * `holdStream` for a WebSocket: `stop` ends the stream's work, then the socket is closed with
 * 1008 when the key was revoked, or 1012 and `restarting` (how to resume) when the server closes.
 */
export function holdWebSocket(request: FastifyRequest, socket: WebSocket, stop: () => void, restarting: () => string): () => void {
  return holdStream(request, (reason) => {
    stop();
    if (socket.readyState !== socket.OPEN) return;
    if (reason === 'revoked') socket.close(1008, 'API key revoked');
    else socket.close(1012, restarting());
  });
}
