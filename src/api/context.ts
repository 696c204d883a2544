/**
 * What the routes need, passed down from buildApp.
 */
import type { Config } from '../config.ts';
import type { MigrationSource } from '../db/migrate.ts';
import type { Pool } from '../db/pool.ts';
import type { Engine } from '../engine/index.ts';
import type { TargetPolicy } from '../integrations/webhooks/index.ts';
import type { Logger } from '../logger.ts';

export interface ApiContext {
  engine: Engine;
  pool: Pool;
  config: Config;
  logger: Logger;
  webhookPolicy: TargetPolicy;
  /** The migrations this build expects (for /readyz). */
  migrations: readonly MigrationSource[];
  /** Open SSE and WebSocket streams: ended when the server closes or their key is revoked. */
  streams: Set<OpenStream>;
}

/** A stream a client holds open, and how to end it. */
export interface OpenStream {
  /** The API key that opened it. */
  keyId: string;
  end(reason: 'shutdown' | 'revoked'): void;
}

/** The security requirement every authenticated route documents. */
export const securityRequirement: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];
