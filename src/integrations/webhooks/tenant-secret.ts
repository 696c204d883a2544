/**
 * Per-tenant webhook signing secrets. A tenant row is created on first need (a key is created
 * for it, or one of its tasks has a webhook to send), with a fresh random secret.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../db/pool.ts';

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** Ensures the tenant exists and returns its webhook secret. */
export async function ensureTenant(database: Queryable, tenant: string): Promise<{ name: string; webhookSecret: string; createdAt: string }> {
  const result = await database.query<{ name: string; webhook_secret: string; created_at: Date }>(
    `WITH inserted AS (
       INSERT INTO tenants (name, webhook_secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name, webhook_secret, created_at
     )
     SELECT name, webhook_secret, created_at FROM inserted
     UNION ALL
     SELECT name, webhook_secret, created_at FROM tenants WHERE name = $1
     LIMIT 1`,
    [tenant, newWebhookSecret()],
  );
  // A concurrent first insert can hide the row from this statement's snapshot; read it again.
  const row = result.rows[0]
    ?? (await database.query<{ name: string; webhook_secret: string; created_at: Date }>('SELECT name, webhook_secret, created_at FROM tenants WHERE name = $1', [tenant])).rows[0]!;
  return { name: row.name, webhookSecret: row.webhook_secret, createdAt: row.created_at.toISOString() };
}

/** Replaces the tenant's webhook secret; deliveries sign with the new one from now on. */
export async function rotateWebhookSecret(database: Queryable, tenant: string): Promise<string> {
  await ensureTenant(database, tenant);
  const secret = newWebhookSecret();
  await database.query('UPDATE tenants SET webhook_secret = $2 WHERE name = $1', [tenant, secret]);
  return secret;
}
