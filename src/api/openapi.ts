/**
 * OpenAPI 3.1 from the routes' schemas (JSON Schema made from the same zod schemas that validate
 * requests), served at /openapi.json, with interactive docs at /docs.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'taskloom API',
        version: '1',
        description: 'Durable background tasks for LLM content pipelines. Errors answer {error: {code, message, details}}; see docs/api.md for the code table.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      tags: [
        { name: 'tasks', description: 'Submit, read, list, cancel' },
        { name: 'streams', description: 'SSE and WebSocket event streams' },
        { name: 'webhooks', description: 'Signed webhook delivery' },
        { name: 'llm', description: 'LLM calls, tokens and cost' },
        { name: 'operations', description: 'Health, readiness, metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
