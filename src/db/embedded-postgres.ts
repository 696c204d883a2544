/**
 * The zero-configuration database: a real PostgreSQL on a data folder of TASKLOOM_HOME, shared
 * by every taskloom process of the folder (`serve` in one terminal, `submit` in another).
 *
 * Only PostgreSQL's own facts are used:
 * - Attachment: each process holds a shared advisory lock on one session of its own. A process
 *   that dies, however, loses its session and with it the lock. The last to leave takes the lock
 *   exclusively (no one else holds it) and stops the server; a process attaching meanwhile waits
 *   on the lock, loses its session to the stop, and starts the server again.
 * - Start race: `postmaster.pid` (see embedded-postgres-server.ts); the process whose server
 *   started owns nothing more than the others.
 * - A server that dies ends every attach session; each attached process then brings it back (or
 *   finds it back) on the same port. A server stopped on purpose (`taskloom db stop --force`)
 *   leaves no postmaster.pid behind, unlike a crash, and is left stopped.
 *
 * The reasons and the machinery this replaced: docs/decisions/0009-embedded-postgres-on-postgres-facts.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { DependencyError } from '../errors.ts';
import {
  freePortFrom, locateDataFolder, readRecordedPort, readServerState, removeStaleLockFile, startServer, stopServer, urlFor,
  type DataFolder, type ServerState,
} from './embedded-postgres-server.ts';

/** The advisory lock every attached process holds shared. */
export const attachmentLockKey = 7_214_221_016;

export interface EmbeddedPostgresHandle {
  /** Connection string of the server's `postgres` database. */
  url: string;
  /** True when this call started the server rather than finding it running. */
  owned: boolean;
  /** Where the data lives (under /var/lib/taskloom when root's home is private). */
  dataPath: string;
  /** Brings the server back if it has gone (the pool calls it on a broken connection). Never throws. */
  check(): Promise<void>;
  /** Detaches; the last taskloom process to detach stops the server. Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder holding the data (or, as root with a private home, the record of where it is). */
  homePath: string;
  /** Port tried first when no port is recorded for the folder; a taken one is replaced by a free one. */
  port: number;
  /** Shown in `taskloom db status` as the process using the server. @default 'taskloom' */
  processName?: string;
  /** Progress detail (initdb, start times). @default ignored */
  log?: (message: string) => void;
  /** The server died and was restarted, or a restart failed. @default ignored */
  warn?: (message: string) => void;
  /** How long to wait for the server to start, or for another process starting it. @default 60000 */
  startTimeoutMs?: number;
  /** Bring the server back when it dies. @default true */
  watch?: boolean;
}

/** How long a postmaster.pid may name a live process that does not answer before it counts as stale. */
const silentGraceMs = 2000;

/**
 * Finds the server running on the folder's data or starts it, until the timeout. `preferredPort`:
 * where this process needs it (a restart); otherwise the recorded port, else `port`. `keepAs`:
 * return the connection that found it, named so (the attach session).
 */
export async function bringUp(
  folder: DataFolder,
  options: { port: number; preferredPort?: number; timeoutMs: number; log: (message: string) => void; keepAs?: string; shouldContinue?: () => boolean },
): Promise<{ port: number; started: boolean; session?: pg.Client }> {
  const deadline = Date.now() + options.timeoutMs;
  let silentSince: number | undefined;
  let started = false;
  let last: ServerState = { kind: 'stopped' };
  while (Date.now() < deadline && (options.shouldContinue?.() ?? true)) {
    last = await readServerState(folder.dataPath, options.keepAs);
    if (last.kind === 'running') return { port: last.port, started, session: last.session };
    if (last.kind === 'silent') {
      silentSince ??= Date.now();
      if (Date.now() - silentSince >= silentGraceMs) {
        options.log(`removing postmaster.pid of ${folder.dataPath}: pid ${last.pid} lives but no server of this data answers`);
        await removeStaleLockFile(folder.dataPath, last.text);
      }
    } else if (last.kind !== 'busy') {
      silentSince = undefined;
      const port = await freePortFrom(options.preferredPort ?? (await readRecordedPort(folder)) ?? options.port);
      // Started: the next look finds it running (and connects).
      if (await startServer(folder, port, { timeoutMs: Math.max(1000, deadline - Date.now()), log: options.log })) {
        started = true;
        continue;
      }
    }
    await sleep(100 + Math.random() * 100);
  }
  throw new DependencyError('embedded PostgreSQL', `did not become ready within ${options.timeoutMs} ms in ${folder.dataPath} (last seen: ${last.kind === 'stopped' ? 'no server' : `${last.kind}, pid ${last.pid}`}). Check ${folder.logPath}, run \`taskloom db status\`, or set DATABASE_URL to use another PostgreSQL.`, {
    retryable: false,
    details: { data_path: folder.dataPath, log_path: folder.logPath },
  });
}

/** Starts the embedded server, or attaches to the one already running on the same data. */
export async function ensureEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const folder = await locateDataFolder(options.homePath);
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  const warn = options.warn ?? (() => {});
  const processName = options.processName ?? 'taskloom';
  let closed = false;

  /** Brings the server up and attaches; retried when a last process stops it under us. */
  const connect = async (preferredPort?: number): Promise<{ port: number; started: boolean; session: pg.Client }> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const place = await bringUp(folder, { port: options.port, preferredPort, timeoutMs: deadline - Date.now(), log, keepAs: `${processName} pid=${process.pid}`, shouldContinue: () => !closed });
      const session = place.session!;
      try {
        await session.query('SELECT pg_advisory_lock_shared($1)', [attachmentLockKey]);
        return { ...place, session };
      } catch (error) {
        await session.end().catch(() => {});
        if (Date.now() >= deadline || closed) throw error;
      }
    }
  };

  const first = await connect();
  const port = first.port;
  let session: pg.Client | undefined;
  let checking: Promise<void> | undefined;
  let failures = 0;

  /** Watches the attach session: its end is how this process learns the server has gone. */
  let stoppedByOperator = false;

  const watchSession = (current: pg.Client): void => {
    session = current;
    current.once('end', () => {
      if (session !== current) return;
      session = undefined;
      // Judged before anything restarts it (a broken pooled connection calls check() too, and
      // would otherwise start a server under the stop). A clean stop (`taskloom db stop --force`)
      // removes postmaster.pid once the server has exited; a crash leaves it behind. (Both end
      // sessions with 57P01.)
      const judging = (async () => {
        let state = await readServerState(folder.dataPath);
        for (let waited = 0; state.kind === 'busy' && waited < timeoutMs && !closed; waited += 200) {
          await sleep(200);
          state = await readServerState(folder.dataPath);
        }
        stoppedByOperator = state.kind === 'stopped';
        if (stoppedByOperator) warn(`embedded PostgreSQL on port ${port} was stopped by an operator; not restarting it`);
      })().catch(() => {}).finally(() => { checking = undefined; });
      checking = judging;
      void judging.then(() => check());
    });
  };

  // A failed restart is tried again after 1 s, then 2, 4 … up to 30 s.
  const check = (): Promise<void> => {
    if (closed || session || stoppedByOperator || options.watch === false) return checking ?? Promise.resolve();
    checking ??= (async () => {
      warn(`embedded PostgreSQL on port ${port} has gone; restarting it`);
      const again = await connect(port);
      if (closed) return void (await again.session.end().catch(() => {}));
      watchSession(again.session);
      failures = 0;
      if (again.port !== port) warn(`embedded PostgreSQL now runs on port ${again.port}, but this process connects to port ${port}; restart this process`);
      else warn(again.started ? `restarted embedded PostgreSQL on port ${port}` : `embedded PostgreSQL on port ${port} is back (restarted by another process)`);
    })().catch((error: unknown) => {
      const delayMs = Math.min(30_000, 1000 * 2 ** failures++);
      if (closed) return;
      warn(`embedded PostgreSQL could not be restarted; trying again in ${delayMs / 1000} s: ${error instanceof Error ? error.message : String(error)}`);
      setTimeout(() => void check(), delayMs).unref();
    }).finally(() => { checking = undefined; });
    return checking;
  };
  watchSession(first.session);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      closed = true;
      await checking;
      const current = session;
      session = undefined;
      if (!current) return;
      try {
        await current.query('SELECT pg_advisory_unlock_shared($1)', [attachmentLockKey]);
        const alone = (await current.query<{ alone: boolean }>('SELECT pg_try_advisory_lock($1) AS alone', [attachmentLockKey])).rows[0]?.alone;
        if (!alone) {
          log('leaving embedded PostgreSQL running for the other taskloom processes using it');
          return;
        }
        // Holding the lock exclusively: anyone attaching now waits, and will restart it.
        await stopServer(folder, { timeoutMs });
        log('stopped embedded PostgreSQL: no taskloom process uses it any more');
      } catch (error) {
        warn(`could not detach cleanly from embedded PostgreSQL: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        await current.end().catch(() => {});
      }
    })();
    return stopping;
  };

  return { url: urlFor(port), owned: first.started, dataPath: folder.dataPath, check, stop };
}
