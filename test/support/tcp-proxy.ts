/**
 * A TCP proxy in front of a test server (PostgreSQL, Redis), to cut the network the way an outage
 * does: `cut()` drops every connection and refuses new ones (a restart or failover, as clients see
 * it), `restore()` accepts again on the same port, and `freeze()` keeps connections open but
 * silent. Processes under test connect to `url`.
 */
import net from 'node:net';

export interface TcpProxy {
  /** The server's URL rewritten to go through the proxy. */
  url: string;
  /** Connections currently open through the proxy. */
  readonly openConnections: number;
  cut(): Promise<void>;
  /**
   * Stops forwarding bytes, both ways, on every connection, open or new, while keeping them open:
   * a server that accepts requests and never answers (blocked, or a half-open link).
   */
  freeze(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(serverUrl: string): Promise<TcpProxy> {
  const target = new URL(serverUrl);
  const targetPort = Number(target.port || (target.protocol === 'redis:' ? 6379 : 5432));
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((client) => {
    if (frozen) {
      sockets.add(client);
      client.on('error', () => {});
      client.once('close', () => sockets.delete(client));
      return;
    }
    const upstream = net.connect(targetPort, target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number): Promise<void> => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(serverUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const stopListening = (): Promise<void> => new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
  return {
    url: url.toString(),
    get openConnections() {
      return sockets.size / 2;
    },
    async cut() {
      const closed = stopListening();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    freeze() {
      frozen = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    async restore() {
      if (!server.listening) await listen(port);
    },
    async close() {
      const closed = stopListening();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
