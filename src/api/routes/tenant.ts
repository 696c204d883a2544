/**
 * The calling tenant: its name, the key's role, and (for an admin's key) the webhook signing
 * secret (to verify X-Taskloom-Signature), which only an admin may rotate: a new secret breaks
 * every receiver's signature check until it is updated.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ensureTenant, rotateWebhookSecret } from '../../integrations/webhooks/index.ts';
import { requireAdminKey } from '../auth.ts';
import { securityRequirement, type ApiContext } from '../context.ts';
import { emptyBody, emptyQuery, parseOrThrow } from '../validation.ts';

export function tenantRoutes(context: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/tenant', {
      schema: { tags: ['webhooks'], summary: 'The calling tenant and its webhook signing secret', security: securityRequirement },
    }, async (request) => {
      parseOrThrow(emptyQuery, request.query, 'query');
      const tenant = await ensureTenant(context.pool, request.tenant);
      const admin = request.apiKeyRole === 'admin';
      return { tenant: tenant.name, role: request.apiKeyRole, ...(admin ? { webhook_secret: tenant.webhookSecret } : {}), created_at: tenant.createdAt };
    });

    app.post('/api/v1/tenant/webhook-secret/rotate', {
      schema: { tags: ['webhooks'], summary: 'Replace the tenant\'s webhook signing secret', security: securityRequirement },
    }, async (request) => {
      requireAdminKey(request, 'the webhook secret signs every delivery of the tenant');
      parseOrThrow(emptyQuery, request.query, 'query');
      parseOrThrow(emptyBody, request.body, 'body');
      const secret = await rotateWebhookSecret(context.pool, request.tenant);
      return { tenant: request.tenant, webhook_secret: secret };
    });
  };
}
