/**
 * The dashboard: the built files in web/dist served at `/`, and index.html for any other GET
 * that is not an API path (client-side routes). Nothing is registered when web/dist is absent.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const defaultWebRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

const apiPrefixes = ['/api/', '/ws/', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz'];

/** Registers static serving; returns the SPA fallback for the not-found handler, or undefined. */
export async function registerDashboard(app: FastifyInstance, webRoot: string): Promise<((request: FastifyRequest, reply: FastifyReply) => boolean) | undefined> {
  if (!existsSync(path.join(webRoot, 'index.html'))) return undefined;
  await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: 'index.html', wildcard: true });
  return (request, reply) => {
    const pathname = request.url.split('?')[0] ?? '/';
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    if (apiPrefixes.some((prefix) => pathname === prefix || pathname.startsWith(prefix))) return false;
    // A missing asset (a path with an extension) stays a 404; anything else is a client route.
    if (path.extname(pathname) !== '') return false;
    void reply.type('text/html; charset=utf-8').sendFile('index.html');
    return true;
  };
}
