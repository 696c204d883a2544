/**
 * Tenants' API keys. A key is shown once, when created; the database keeps only its SHA-256
 * (32 random bytes need no slow hash: nobody can brute-force 2^192 guesses, and a fast hash
 * keeps authentication at one indexed lookup) and a short prefix to recognise it in listings.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/pool.ts';
import { isUuid } from '../db/sql.ts';
import { ValidationError } from '../errors.ts';
// The module itself, not the webhooks index: that pulls in the engine and pg-boss, 250 ms of a CLI read.
import { ensureTenant } from '../integrations/webhooks/tenant-secret.ts';

export const tenantNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const keyMarker = 'tlk_';

/**
 * NOTIFY channel of revocations (payload: the key id). Every API process LISTENs on it, forgets
 * the key's cached lookup and closes the streams the key opened, so a revocation takes effect
 * everywhere within a notification's delay rather than a cache lifetime.
 */
export const apiKeyRevokedChannel = 'taskloom_api_key_revoked';

/**
 * What a key may do. `admin`: everything (the default, so keys created before roles keep working);
 * `marketer`: run jobs and edit content; `supervisor`: read, approve and reject only.
 */
export const apiKeyRoles = ['admin', 'marketer', 'supervisor'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];

export function assertApiKeyRole(role: string): asserts role is ApiKeyRole {
  if (!(apiKeyRoles as readonly string[]).includes(role)) {
    throw new ValidationError(`Role "${role}" is invalid: use one of ${apiKeyRoles.join(', ')}.`, { issues: [{ path: 'role', message: `must be one of ${apiKeyRoles.join(', ')}` }] });
  }
}

export function generateApiKey(): string {
  return `${keyMarker}${randomBytes(24).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function prefixOf(key: string): string {
  return key.slice(0, keyMarker.length + 6);
}

export function assertTenantName(tenant: string): void {
  if (!tenantNamePattern.test(tenant)) {
    throw new ValidationError(`Tenant name "${tenant}" is invalid: use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit.`, {
      issues: [{ path: 'tenant', message: 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' }],
    });
  }
}

export interface CreatedKey {
  id: string;
  tenant: string;
  name: string | null;
  role: ApiKeyRole;
  prefix: string;
  /** The key itself; shown once, never stored. */
  key: string;
  webhookSecret: string;
  createdAt: string;
}

/**
 * Creates a key for `tenant` (creating the tenant too). `key` imports a chosen key (TASKLOOM_API_KEY).
 * `role` @default 'admin'
 */
export async function createApiKey(database: Queryable, options: { tenant: string; name?: string; key?: string; role?: string }): Promise<CreatedKey> {
  assertTenantName(options.tenant);
  const role = options.role ?? 'admin';
  assertApiKeyRole(role);
  const tenant = await ensureTenant(database, options.tenant);
  const key = options.key ?? generateApiKey();
  const id = randomUUID();
  const inserted = await database.query<{ created_at: Date }>(
    'INSERT INTO api_keys (id, tenant, name, prefix, key_hash, role) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at',
    [id, options.tenant, options.name ?? null, prefixOf(key), hashApiKey(key), role],
  );
  return { id, tenant: options.tenant, name: options.name ?? null, role, prefix: prefixOf(key), key, webhookSecret: tenant.webhookSecret, createdAt: inserted.rows[0]!.created_at.toISOString() };
}

export interface KeyIdentity {
  keyId: string;
  tenant: string;
  role: ApiKeyRole;
}

/** The tenant of an active key, or undefined for an unknown or revoked one. */
export async function findKey(database: Queryable, key: string): Promise<KeyIdentity | undefined> {
  const result = await database.query<{ id: string; tenant: string; role: ApiKeyRole }>(
    'SELECT id, tenant, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [hashApiKey(key)],
  );
  const row = result.rows[0];
  return row ? { keyId: row.id, tenant: row.tenant, role: row.role } : undefined;
}

export async function touchKeys(database: Queryable, keyIds: string[]): Promise<void> {
  if (keyIds.length === 0) return;
  await database.query('UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1::uuid[])', [keyIds]);
}

export interface KeyListing {
  id: string;
  tenant: string;
  name: string | null;
  role: ApiKeyRole;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export async function listApiKeys(database: Queryable, options: { tenant?: string } = {}): Promise<KeyListing[]> {
  const iso = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS ${column}`;
  const result = await database.query<KeyListing>(
    `SELECT id, tenant, name, role, prefix, ${iso('created_at')}, ${iso('last_used_at')}, ${iso('revoked_at')}
     FROM api_keys ${options.tenant === undefined ? '' : 'WHERE tenant = $1'} ORDER BY tenant, created_at`,
    options.tenant === undefined ? [] : [options.tenant],
  );
  return result.rows;
}

/** Revokes the key with this id or prefix. Returns the keys revoked (0 or 1; an ambiguous prefix revokes none). */
export async function revokeApiKey(database: Queryable, idOrPrefix: string): Promise<KeyListing[]> {
  const isId = isUuid(idOrPrefix);
  const matches = await database.query<{ id: string }>(
    isId ? 'SELECT id FROM api_keys WHERE id = $1 AND revoked_at IS NULL' : 'SELECT id FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL',
    [idOrPrefix],
  );
  if (matches.rows.length !== 1) return [];
  // One statement: the NOTIFY is sent when the revocation commits, never without it.
  await database.query(
    'WITH revoked AS (UPDATE api_keys SET revoked_at = now() WHERE id = $1 RETURNING id) SELECT pg_notify($2, id::text) FROM revoked',
    [matches.rows[0]!.id, apiKeyRevokedChannel],
  );
  return (await listApiKeys(database)).filter((key) => key.id === matches.rows[0]!.id);
}

/**
 * What `taskloom serve` does at start: with `apiKey` (TASKLOOM_API_KEY), make sure that key
 * exists for the default tenant; otherwise, when no active key exists at all, create one for the
 * default tenant. Returns the key when it was generated here (to print once).
 */
export async function ensureBootstrapKey(database: Queryable, options: { apiKey?: string } = {}): Promise<{ generated?: CreatedKey; imported: boolean }> {
  if (options.apiKey) {
    const existing = await database.query('SELECT 1 FROM api_keys WHERE key_hash = $1', [hashApiKey(options.apiKey)]);
    if (existing.rows.length > 0) return { imported: false };
    await createApiKey(database, { tenant: 'default', name: 'TASKLOOM_API_KEY', key: options.apiKey });
    return { imported: true };
  }
  const active = await database.query('SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1');
  if (active.rows.length > 0) return { imported: false };
  return { generated: await createApiKey(database, { tenant: 'default', name: 'bootstrap' }), imported: false };
}
