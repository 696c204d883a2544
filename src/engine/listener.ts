/**
 * One dedicated connection per process that LISTENs on every channel the engine uses: new
 * events, cancellation requests and queues made ready (work submitted, requeued or freed). A
 * NOTIFY is only a hint that something changed; whoever hears it reads the truth from the
 * tables. After a reconnect the `reconnected` handlers run, because notifications sent while
 * disconnected are lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../logger.ts';

type Handler = (payload: string) => void;

export class NotificationListener {
  readonly #url: string;
  readonly #logger: Logger;
  readonly #handlers = new Map<string, Set<Handler>>();
  readonly #reconnectHandlers = new Set<() => void>();
  #client: pg.Client | undefined;
  #stopped = false;
  #connecting: Promise<void> | undefined;
  /** LISTEN commands issued after connecting, run one after another. */
  #commands: Promise<void> = Promise.resolve();

  constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
  }

  /** Connects and listens on every channel registered so far (and any registered later). */
  async start(): Promise<void> {
    await this.#connect();
  }

  on(channel: string, handler: Handler): () => void {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
      const client = this.#client;
      if (client) {
        // One command at a time on the connection: pg only queues overlapping queries, and warns
        // that it will stop doing so.
        this.#commands = this.#commands
          .then(() => client.query(`LISTEN "${channel}"`))
          .then(() => undefined, (error: unknown) => this.#logger.warn({ err: error, channel }, 'LISTEN failed'));
      }
    }
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  onReconnect(handler: () => void): () => void {
    this.#reconnectHandlers.add(handler);
    return () => this.#reconnectHandlers.delete(handler);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#connecting?.catch(() => {});
    await this.#commands;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    this.#connecting = (async () => {
      let delay = 100;
      while (!this.#stopped) {
        // The connect timeout keeps a reconnect during a network cut from hanging on one attempt
        // for minutes; keepalive finds a silently dead connection (notifications stop arriving).
        const client = new pg.Client({ connectionString: this.#url, application_name: 'taskloom-listener', keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: 5000 });
        // Listening for errors before connecting: a server that starts shutting down as it
        // accepts the connection sends "ready" and its FATAL in one packet, and pg emits that
        // error before `await client.connect()` resumes here; with no listener yet, Node exits.
        // Until the connection is set up, an error only marks this attempt as failed.
        let failedDuringSetup: unknown;
        const duringSetup = (error: unknown): void => { failedDuringSetup ??= error; };
        client.on('error', duringSetup);
        try {
          await client.connect();
          client.on('notification', (message) => {
            const handlers = this.#handlers.get(message.channel);
            if (!handlers) return;
            for (const handler of handlers) {
              try {
                handler(message.payload ?? '');
              } catch (error) {
                this.#logger.error({ err: error, channel: message.channel }, 'notification handler threw');
              }
            }
          });
          for (const channel of this.#handlers.keys()) await client.query(`LISTEN "${channel}"`);
          if (failedDuringSetup !== undefined) throw failedDuringSetup;
          client.off('error', duringSetup);
          client.on('error', (error) => {
            this.#logger.warn({ err: error }, 'notification connection lost; reconnecting');
            if (this.#client === client) this.#client = undefined;
            client.end().catch(() => {});
            if (!this.#stopped) void this.#connect().then(() => this.#fireReconnect());
          });
          if (this.#stopped) {
            await client.end();
            return;
          }
          this.#client = client;
          return;
        } catch (error) {
          await client.end().catch(() => {});
          this.#logger.warn({ err: error, retryInMs: delay }, 'notification connection failed');
          await sleep(delay);
          delay = Math.min(delay * 2, 5000);
        }
      }
    })();
    await this.#connecting;
  }

  #fireReconnect(): void {
    for (const handler of this.#reconnectHandlers) {
      try {
        handler();
      } catch (error) {
        this.#logger.error({ err: error }, 'reconnect handler threw');
      }
    }
  }
}
