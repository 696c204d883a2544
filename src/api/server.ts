/**
 * Starts the API on a port. Everything about the app itself is in app.ts.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildAppOptions } from './app.ts';

export interface ApiServerOptions extends BuildAppOptions {
  /** @default config.host */
  host?: string;
  /** 0 picks a free port. @default config.port */
  port?: number;
}

export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:8000 */
  url: string;
  app: FastifyInstance;
  /** Ends open streams and stops listening. */
  close(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const app = await buildApp(options);
  try {
    await app.listen({ host: options.host ?? options.config.host, port: options.port ?? options.config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    app,
    close: () => (closing ??= app.close()),
  };
}
