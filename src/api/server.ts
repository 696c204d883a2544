/**
 * Starts the API on a port. Everything about the app itself is in app.ts.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildAppOptions } from './app.ts';

export interface ApiServerOptions extends BuildAppOptions {
  /** @default config.host */
  host?: string;
  /** 0 picks a free port. @default config.port */
  port?: number;
  /**
   * How long close() lets open connections finish before it destroys them, so a client that
   * never hangs up (a stalled upgrade, a slow stream reader) cannot keep the server from exiting.
   * @default config.shutdownGraceMs
   */
  closeGraceMs?: number;
}

export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:8000 */
  url: string;
  app: FastifyInstance;
  /** Ends open streams and stops listening; connections still open after the grace period are destroyed. */
  close(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const app = await buildApp(options);
  // Every socket, upgraded ones included: node's closeAllConnections() only knows HTTP ones.
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  try {
    await app.listen({ host: options.host ?? options.config.host, port: options.port ?? options.config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const closeGraceMs = options.closeGraceMs ?? options.config.shutdownGraceMs;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    app,
    close: () => (closing ??= (async () => {
      const deadline = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, closeGraceMs);
      try {
        await app.close();
      } finally {
        clearTimeout(deadline);
      }
    })()),
  };
}
