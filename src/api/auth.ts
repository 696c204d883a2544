/**
 * API key authentication. Every route in the authenticated scope carries `request.tenant`.
 *
 * Keys arrive as `X-API-Key`, `Authorization: Bearer <key>`, or (streams only, for browsers'
 * EventSource and WebSocket, which cannot set headers) `?api_key=`. Lookups are cached for
 * `cacheTtlMs` per process as a backstop; a revocation's NOTIFY (keys.ts) evicts the key from
 * every process's cache at once.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AnyTaskDefinition } from '../engine/task-definition.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { ForbiddenError, UnauthorizedError } from './errors.ts';
import { findKey, hashApiKey, touchKeys, type ApiKeyRole, type KeyIdentity } from './keys.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key's tenant. Set on every route of the authenticated scope. */
    tenant: string;
    /** The authenticated key's id (rate limits are per key). */
    apiKeyId: string;
    /** The authenticated key's role (`admin`, `marketer`, `supervisor`); see requireRole. */
    apiKeyRole: ApiKeyRole;
  }
  interface FastifyContextConfig {
    /** Accept the key as `?api_key=` too (streams opened by browsers). @default false */
    allowQueryKey?: boolean;
  }
}

export interface KeyCacheOptions {
  /** How long a lookup (found or not) is reused. @default 10000 */
  cacheTtlMs?: number;
  /** last_used_at is written at most this often per key. @default 60000 */
  touchIntervalMs?: number;
}

const maxCachedKeys = 10_000;

export class KeyAuthenticator {
  readonly #pool: Pool;
  readonly #logger: Logger;
  readonly #ttlMs: number;
  readonly #touchIntervalMs: number;
  readonly #cache = new Map<string, { identity: KeyIdentity | undefined; expiresAt: number }>();
  readonly #touched = new Map<string, number>();

  constructor(pool: Pool, logger: Logger, options: KeyCacheOptions = {}) {
    this.#pool = pool;
    this.#logger = logger;
    this.#ttlMs = options.cacheTtlMs ?? 10_000;
    this.#touchIntervalMs = options.touchIntervalMs ?? 60_000;
  }

  async identify(key: string): Promise<KeyIdentity | undefined> {
    if (key.length < 16 || key.length > 256) return undefined;
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = this.#cache.get(hash);
    let identity: KeyIdentity | undefined;
    if (cached && cached.expiresAt > now) {
      identity = cached.identity;
    } else {
      identity = await findKey(this.#pool, key);
      if (this.#cache.size >= maxCachedKeys) this.#cache.clear();
      this.#cache.set(hash, { identity, expiresAt: now + this.#ttlMs });
    }
    if (identity && now - (this.#touched.get(identity.keyId) ?? 0) > this.#touchIntervalMs) {
      this.#touched.set(identity.keyId, now);
      touchKeys(this.#pool, [identity.keyId]).catch((error: unknown) => this.#logger.debug({ err: error }, 'recording key use failed'));
    }
    return identity;
  }

  /** Forgets cached lookups (tests revoke a key and expect it refused at once). */
  clear(): void {
    this.#cache.clear();
  }

  /** Forgets the cached lookups of one key (it was revoked). */
  forget(keyId: string): void {
    for (const [hash, entry] of this.#cache) {
      if (entry.identity?.keyId === keyId) this.#cache.delete(hash);
    }
  }
}

export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header.trim();
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  if (request.routeOptions.config.allowQueryKey) {
    const query = request.query as Record<string, unknown> | undefined;
    const fromQuery = query?.api_key;
    if (typeof fromQuery === 'string' && fromQuery.length > 0) return fromQuery;
  }
  return undefined;
}

/** The onRequest hook of the authenticated scope. */
export function authenticationHook(authenticator: KeyAuthenticator) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const key = presentedKey(request);
    // A stream a browser opens (EventSource, WebSocket) can set no header: it is told of ?api_key=.
    if (!key) throw request.routeOptions.config.allowQueryKey ? new UnauthorizedError('A valid API key is required: send it as ?api_key= (EventSource and WebSocket cannot set headers), X-API-Key or Authorization: Bearer.') : new UnauthorizedError();
    const identity = await authenticator.identify(key);
    if (!identity) throw new UnauthorizedError('The API key is not valid (unknown or revoked).');
    request.tenant = identity.tenant;
    request.apiKeyId = identity.keyId;
    request.apiKeyRole = identity.role;
  };
}

/**
 * The tenant of an authenticated request, for routes (core or a pipeline's) registered in the
 * authenticated scope; a route registered outside it fails loudly instead of leaking across tenants.
 */
export function tenantOf(request: FastifyRequest): string {
  const tenant = request.tenant;
  if (typeof tenant !== 'string' || tenant.length === 0) throw new UnauthorizedError('This endpoint needs an authenticated tenant (X-API-Key).');
  return tenant;
}

/**
 * Refuses (403 `forbidden`) a request whose key is not an admin's, saying `reason` (what the
 * request would do that only an admin may).
 */
export function requireAdminKey(request: FastifyRequest, reason: string): void {
  tenantOf(request);
  const role = request.apiKeyRole;
  if (role === 'admin') return;
  throw new ForbiddenError(`This API key's role "${role}" may not do this: ${reason}; it needs an "admin" key.`, { role, required_roles: ['admin'] });
}

/**
 * Refuses a submit of `definition` with `input` (validated) when the task type says that input
 * needs an admin's key (`requiresAdminKey`): every route that submits a type by request asks it.
 */
export function requireKeyForSubmit(request: FastifyRequest, definition: AnyTaskDefinition, input: unknown): void {
  const reason = definition.requiresAdminKey?.(input);
  if (reason) requireAdminKey(request, reason);
}

/**
 * Refuses (403 `forbidden`) a request whose key has none of `roles`; `admin` is always allowed.
 * Returns the key's role.
 */
export function requireRole(request: FastifyRequest, ...roles: ApiKeyRole[]): ApiKeyRole {
  tenantOf(request);
  const role = request.apiKeyRole;
  if (role === 'admin' || roles.includes(role)) return role;
  throw new ForbiddenError(`This API key's role "${role}" may not do this; it needs ${roles.length === 1 ? `the role "${roles[0]}"` : `one of the roles ${roles.map((entry) => `"${entry}"`).join(', ')}`} (or "admin").`, { role, required_roles: roles });
}
