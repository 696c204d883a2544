/**
 * Makes a key revocation take effect in this process: the key's cached lookup is forgotten and
 * every stream it opened is closed, as soon as the revocation's NOTIFY arrives (a few
 * milliseconds after the commit). Notifications sent while the listener was reconnecting are
 * lost, so after a reconnect the whole cache is dropped and the open streams' keys are checked.
 */
import type { Pool } from '../db/pool.ts';
import type { Engine } from '../engine/index.ts';
import type { Logger } from '../logger.ts';
import type { KeyAuthenticator } from './auth.ts';
import type { OpenStream } from './context.ts';
import { apiKeyRevokedChannel } from './keys.ts';

export interface RevocationOptions {
  engine: Engine;
  pool: Pool;
  logger: Logger;
  authenticator: KeyAuthenticator;
  streams: Set<OpenStream>;
}

/** Starts following revocations; returns the function that stops. */
export function followRevocations(options: RevocationOptions): () => void {
  const { authenticator, streams } = options;
  const endStreamsOf = (revoked: Set<string>): void => {
    for (const stream of streams) {
      if (revoked.has(stream.keyId)) stream.end('revoked');
    }
  };
  const stopListening = options.engine.listener.on(apiKeyRevokedChannel, (keyId) => {
    authenticator.forget(keyId);
    endStreamsOf(new Set([keyId]));
  });
  const stopReconnect = options.engine.listener.onReconnect(() => {
    authenticator.clear();
    const keyIds = [...new Set([...streams].map((stream) => stream.keyId))];
    if (keyIds.length === 0) return;
    options.pool.query<{ id: string }>('SELECT id FROM api_keys WHERE id = ANY($1::uuid[]) AND revoked_at IS NOT NULL', [keyIds])
      .then((result) => endStreamsOf(new Set(result.rows.map((row) => row.id))))
      .catch((error: unknown) => options.logger.warn({ err: error }, 'checking open streams\' keys after a reconnect failed'));
  });
  return () => {
    stopListening();
    stopReconnect();
  };
}
