/**
 * Streams a client holds open (SSE, WebSocket), core or a pipeline's: each is ended when the
 * server closes or the key that opened it is revoked (revocations.ts). A route registers its
 * stream with `holdStream` as it opens and lets go as it ends; the set lives on the app, so a
 * pipeline's routes reach it through their request, like the core's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
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
