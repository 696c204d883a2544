/**
 * The calling tenant: its name and webhook signing secret (to verify X-Taskloom-Signature).
 */
import type { FastifyPluginAsync } from 'fastify';
import { ensureTenant, rotateWebhookSecret } from '../../integrations/webhooks/index.ts';
import { securityRequirement, type ApiContext } from '../context.ts';
import { emptyBody, emptyQuery, parseOrThrow } from '../validation.ts';

export function tenantRoutes(context: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/tenant', {
      schema: { tags: ['webhooks'], summary: 'The calling tenant and its webhook signing secret', security: securityRequirement },
    }, async (request) => {
      parseOrThrow(emptyQuery, request.query, 'query');
      const tenant = await ensureTenant(context.pool, request.tenant);
      return { tenant: tenant.name, webhook_secret: tenant.webhookSecret, created_at: tenant.createdAt };
    });

    app.post('/api/v1/tenant/webhook-secret/rotate', {
      schema: { tags: ['webhooks'], summary: 'Replace the tenant\'s webhook signing secret', security: securityRequirement },
    }, async (request) => {
      parseOrThrow(emptyQuery, request.query, 'query');
      parseOrThrow(emptyBody, request.body, 'body');
      const secret = await rotateWebhookSecret(context.pool, request.tenant);
      return { tenant: request.tenant, webhook_secret: secret };
    });
  };
}
