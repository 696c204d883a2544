/**
 * The HTTP API as a Fastify app: `buildApp` wires the plugins and routes and returns the app
 * unstarted (tests inject or listen on port 0; server.ts listens for real).
 *
 * Layout: public operational routes (/healthz, /readyz, /metrics, /openapi.json, /docs, the
 * dashboard), and one authenticated scope holding every /api/v1 and /ws route plus the
 * `routePlugins` pipelines add. In that scope each request has `request.tenant` and counts
 * against its key's rate limit.
 *
 * Validation: every route parses its inputs with zod through `parseOrThrow`; the JSON Schemas
 * attached to routes only document them (Fastify's own validator is switched off, so one
 * schema is the single source of truth and errors have one shape).
 */
import websocket from '@fastify/websocket';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.ts';
import { ValidationError } from '../errors.ts';
import type { Pool } from '../db/pool.ts';
import { coreMigrations, type MigrationSource } from '../db/migrate.ts';
import type { Engine } from '../engine/index.ts';
import type { Logger } from '../logger.ts';
import { instrumentEngine, taskloomMetrics } from '../metrics.ts';
import { authenticationHook, KeyAuthenticator } from './auth.ts';
import { followRevocations } from './revocations.ts';
import type { ApiContext } from './context.ts';
import { decorateHeldStreams } from './held-streams.ts';
import { declaredCharset, InvalidJsonError, PayloadTooLargeError, RateLimitedError, RouteNotFoundError, toErrorResponse, UnsupportedMediaTypeError } from './errors.ts';
import { registerOpenApi } from './openapi.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { llmUsageRoutes } from './routes/llm-usage.ts';
import { streamRoutes } from './routes/streams.ts';
import { taskTypeRoutes } from './routes/task-types.ts';
import { taskRoutes } from './routes/tasks.ts';
import { waitpointRoutes, waitpointTokenRoutes } from './routes/waitpoints.ts';
import { tenantRoutes } from './routes/tenant.ts';
import { defaultWebRoot, registerDashboard } from './static.ts';
import { assertStorable } from './validation.ts';

export interface BuildAppOptions {
  engine: Engine;
  config: Config;
  logger: Logger;
  /** @default engine.pool */
  pool?: Pool;
  /**
   * Extra routes registered inside the authenticated scope (after the core routes): requests
   * carry `request.tenant`, count against the rate limit, and should validate with parseOrThrow.
   */
  routePlugins?: FastifyPluginAsync[];
  /** The migrations /readyz checks are applied (src/pipelines/index.ts migrationSources). @default the core's */
  migrations?: readonly MigrationSource[];
  /** Folder of the built dashboard; false serves none. @default <package>/web/dist when it exists */
  webRoot?: string | false;
  /** How long an API key lookup is reused in this process. @default 10000 */
  keyCacheTtlMs?: number;
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { engine, config } = options;
  const logger = options.logger.child({ component: 'api' });
  const pool = options.pool ?? engine.pool;
  const context: ApiContext = {
    engine,
    pool,
    config,
    logger,
    webhookPolicy: { allowLoopback: config.webhookAllowLoopback, allowPrivate: config.webhookAllowPrivate },
    streams: new Set(),
    migrations: options.migrations ?? [coreMigrations],
  };
  const metrics = taskloomMetrics();

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request log lines cost ~10 % of submit throughput; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.apiBodyLimitBytes,
    return503OnClosing: true,
    // Unknown query keys must reach zod (which rejects them), not be dropped.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Errors Fastify raises before routing (a malformed %-escape in the path) get our shape too.
    frameworkErrors: (error, request, reply) => {
      const response = toErrorResponse(new ValidationError(`The request URL is malformed: ${error.message}`, { issues: [{ path: 'url', message: error.message }] }));
      // A WebSocket upgrade refused here never reaches a route, so @fastify/websocket's
      // onResponse hook, which destroys refused upgrade sockets, does not run: the socket would
      // sit in CLOSE-WAIT for good and keep the server from closing. End it once the answer is out.
      if (request.headers.upgrade !== undefined) reply.raw.once('finish', () => request.raw.socket.destroy());
      // The reply here is typed for no route in particular; the body is the API's error shape.
      void (reply as unknown as { code(status: number): { send(body: unknown): void } }).code(response.statusCode).send(response.body);
    },
  });
  decorateHeldStreams(app, context.streams);

  // One schema per shape: zod validates in the handlers; route JSON Schemas are documentation.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // An empty body with Content-Type: application/json (common on POST .../cancel) is no body.
  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  // JSON only: any other body type answers 415 instead of reaching the schemas as a string.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = declaredCharset(request.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new UnsupportedMediaTypeError(request.headers['content-type']), undefined);
      return;
    }
    if (body === '' || (typeof body === 'string' && body.trim() === '')) {
      done(null, undefined);
      return;
    }
    defaultJsonParser(request, body as string, (error, parsed) => {
      if (!error) {
        done(null, parsed);
        return;
      }
      // Fastify answers every refusal "Body is not valid JSON": say what is wrong with this one.
      let reason: string;
      try {
        JSON.parse(body as string);
        reason = 'a "__proto__" key, or "constructor" holding "prototype", is refused (it would pollute objects); rename the key';
      } catch (syntaxError) {
        reason = (syntaxError as Error).message;
      }
      done(new InvalidJsonError(reason), undefined);
    });
  });
  // Any other body type: 415 naming the type that was sent (Fastify's own answer named none).
  app.addContentTypeParser('*', (request, _payload, done) => {
    // A path no route serves is a 404 whatever its body (Fastify's own order without this parser).
    if (request.is404) {
      done(null, undefined);
      return;
    }
    done(new UnsupportedMediaTypeError(request.headers['content-type']), undefined);
  });

  app.decorateRequest('tenant', '');
  app.decorateRequest('apiKeyId', '');
  app.decorateRequest('apiKeyRole', 'admin');
  app.decorateRequest('streamTarget', null);

  app.addHook('preValidation', async (request) => {
    if (request.body !== undefined) assertStorable(request.body, 'body');
    assertStorable(request.query, 'query');
    assertStorable(request.params, 'params');
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error, request, reply) => {
    // Fastify's error does not say the limit; the answer does, so a client knows what fits.
    const response = toErrorResponse((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? new PayloadTooLargeError(config.apiBodyLimitBytes) : error);
    if (response.internal) request.log.error({ err: error, method: request.method, url: request.routeOptions.url }, 'request failed');
    if (response.headers) void reply.headers(response.headers);
    void reply.code(response.statusCode).send(response.body);
  });

  const detachMetrics = instrumentEngine(engine);
  app.addHook('preClose', async () => {
    for (const stream of context.streams) stream.end('shutdown');
  });
  app.addHook('onClose', async () => {
    detachMetrics();
  });

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await registerOpenApi(app);

  await app.register(healthRoutes(context));
  await app.register(waitpointTokenRoutes(context));

  const authenticator = new KeyAuthenticator(pool, logger, { cacheTtlMs: options.keyCacheTtlMs });
  app.decorate('keyAuthenticator', authenticator);
  const stopRevocations = followRevocations({ engine, pool, logger, authenticator, streams: context.streams });
  app.addHook('onClose', async () => stopRevocations());
  await app.register(async (scope) => {
    scope.addHook('onRequest', authenticationHook(authenticator));
    await scope.register(rateLimit, {
      max: config.apiRateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => request.apiKeyId || request.ip,
      errorResponseBuilder: (_request, limit) => new RateLimitedError(Math.max(1, Math.ceil(limit.ttl / 1000)), limit.max),
    });
    await scope.register(taskRoutes(context));
    await scope.register(taskTypeRoutes(context));
    await scope.register(eventRoutes(context));
    await scope.register(streamRoutes(context));
    await scope.register(tenantRoutes(context));
    await scope.register(llmUsageRoutes(context));
    await scope.register(waitpointRoutes(context));
    for (const plugin of options.routePlugins ?? []) await scope.register(plugin);
  });

  const webRoot = options.webRoot === undefined ? defaultWebRoot : options.webRoot;
  const spaFallback = webRoot === false ? undefined : await registerDashboard(app, webRoot);
  app.setNotFoundHandler((request, reply) => {
    if (spaFallback?.(request, reply)) return;
    const response = toErrorResponse(new RouteNotFoundError(request.method, request.url));
    void reply.code(response.statusCode).send(response.body);
  });

  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The API key lookup cache (clear() makes a revocation take effect at once). */
    keyAuthenticator: KeyAuthenticator;
  }
}
