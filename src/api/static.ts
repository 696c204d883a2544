/**
 * The dashboard: the built files in web/dist served at `/`, and index.html for any other GET
 * that is not an API path (client-side routes).
 *
 * When web/dist has no index.html (a fresh clone started with `npx taskloom serve` instead of
 * `npm start`, whose prestart builds it), the API still serves, a warning at start says how to
 * build the dashboard, and the dashboard's paths answer `503 dashboard_not_built` saying the
 * same (a small HTML page, or the API's JSON error shape for `Accept: application/json`)
 * instead of a bare 404.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TaskloomError } from '../errors.ts';

export const defaultWebRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

const apiPrefixes = ['/api/', '/ws/', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz'];

/** How to build the dashboard, in the start-up warning, the notice page and the JSON error alike. */
const buildCommand = 'npm run build:web';

/** The dashboard's files are missing. 503: the server is up, but this part of it cannot serve until it is built. */
export class DashboardNotBuiltError extends TaskloomError {
  constructor(webRoot: string) {
    super('dashboard_not_built', `The dashboard is not built (${path.join(webRoot, 'index.html')} is missing). Build it with \`${buildCommand}\` (\`npm start\` does it too) and restart taskloom serve; the API under /api/v1 works without it.`, {
      httpStatus: 503,
      details: { web_root: webRoot, build_command: buildCommand },
      retryable: false,
    });
  }
}

/** Answers a request the not-found handler passed on; false leaves it to the 404. */
export type DashboardFallback = (request: FastifyRequest, reply: FastifyReply) => boolean;

/** A GET or HEAD of a client-side route: not an API path, and no file extension (a missing asset stays a 404). */
function isClientRoute(request: FastifyRequest): boolean {
  const pathname = request.url.split('?')[0] ?? '/';
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (apiPrefixes.some((prefix) => pathname === prefix || pathname.startsWith(prefix))) return false;
  return path.extname(pathname) === '';
}

/** JSON when the client asks for it and not for HTML (fetch with Accept: application/json, curl -H); HTML otherwise. */
function prefersJson(request: FastifyRequest): boolean {
  const accept = (request.headers.accept ?? '').toLowerCase();
  return accept.includes('application/json') && !accept.includes('text/html');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function notBuiltPage(error: DashboardNotBuiltError): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>taskloom: dashboard not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#8882;padding:0.1rem 0.3rem;border-radius:4px}</style></head>
<body>
<h1>The taskloom dashboard is not built</h1>
<p>This server runs the API, but <code>${escapeHtml(path.join(String(error.details.web_root), 'index.html'))}</code> is missing.</p>
<p>Build the dashboard with <code>${buildCommand}</code> in the taskloom folder (<code>npm start</code> builds it when it is missing), then restart <code>taskloom serve</code>.</p>
<p>The API works meanwhile: <a href="/docs">API docs</a> · <a href="/healthz">/healthz</a></p>
</body>
</html>
`;
}

/**
 * Registers static serving of `webRoot`; returns the fallback for the not-found handler: the SPA
 * fallback (index.html for client routes), or, when the dashboard is not built, the notice.
 */
export async function registerDashboard(app: FastifyInstance, webRoot: string): Promise<DashboardFallback> {
  if (!existsSync(path.join(webRoot, 'index.html'))) {
    const error = new DashboardNotBuiltError(webRoot);
    // Logged once at start, where whoever started the server looks, not only when / is opened.
    app.log.warn({ web_root: webRoot, build_command: buildCommand }, error.message);
    return (request, reply) => {
      if (!isClientRoute(request)) return false;
      void reply.code(error.httpStatus).header('cache-control', 'no-store');
      if (prefersJson(request)) void reply.type('application/json; charset=utf-8').send({ error: error.toJSON() });
      else void reply.type('text/html; charset=utf-8').send(notBuiltPage(error));
      return true;
    };
  }
  await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: 'index.html', wildcard: true });
  return (request, reply) => {
    if (!isClientRoute(request)) return false;
    void reply.type('text/html; charset=utf-8').sendFile('index.html');
    return true;
  };
}
