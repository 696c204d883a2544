/**
 * The zero-configuration database: a real PostgreSQL on a data folder of TASKLOOM_HOME, shared by
 * every taskloom process of the folder through PostgreSQL's own facts (why: decision 0009):
 * - Attachment is a shared advisory lock each process holds on a session of its own, which a
 *   process that dies, however, loses with its session. The last to leave takes the lock
 *   exclusively and stops the server; one attaching meanwhile waits on the lock, loses its
 *   session to the stop, and starts the server again.
 * - The start race is PostgreSQL's (`postmaster.pid`); the starter owns nothing more.
 * - A server that dies ends every attach session, and each attached process brings it back (or
 *   finds it back). One stopped on purpose leaves no postmaster.pid behind and stays stopped.
 */
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { DependencyError } from '../errors.ts';
import {
  freePortFrom, locateDataFolder, readRecordedPort, readServerState, startServer, stopServer, urlFor,
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
  /** Detaches; the last taskloom process to detach stops the server. Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder holding the data (or, as root with a private home, the record of where it is). */
  homePath: string;
  /** Port tried first when none is recorded for the folder; a taken one is replaced by a free one. */
  port: number;
  /** Shown in `taskloom db status` as the process using the server. @default 'taskloom' */
  processName?: string;
  /** Progress detail (initdb, start times). @default ignored */
  log?: (message: string) => void;
  /** The server died and was restarted, or a restart failed. @default ignored */
  warn?: (message: string) => void;
  /** Bring the server back when it dies. @default true */
  watch?: boolean;
}

/** How long to wait for the server to start, or for another process starting it. */
const startTimeoutMs = 60_000;
/** How long a postmaster.pid may name a live process that does not answer before it counts as stale. */
const silentGraceMs = 2000;

/**
 * Finds the server running on the folder's data or starts it (on the recorded port, else `port`,
 * else a free one). `attachAs`: attach under this application name, and return the session that
 * holds the lock. Gives up when `signal` aborts.
 */
export async function bringUp(
  folder: DataFolder,
  options: { port: number; log: (message: string) => void; attachAs?: string; signal?: AbortSignal },
): Promise<{ port: number; started: boolean; session?: pg.Client }> {
  const deadline = Date.now() + startTimeoutMs;
  let silent: { text: string; since: number } | undefined;
  let started = false;
  let last: ServerState = { kind: 'stopped' };
  while (Date.now() < deadline && !options.signal?.aborted) {
    last = await readServerState(folder.dataPath, options.attachAs);
    // The grace is per file: a new server's postmaster.pid, not answering yet, is not the killed one's.
    if (last.kind !== 'silent') silent = undefined;
    else if (silent?.text !== last.text) silent = { text: last.text, since: Date.now() };
    if (last.kind === 'running') {
      const { port, session } = last;
      // Waits while the last process out stops the server, then fails with the session: look again.
      if (!session || (await session.query('SELECT pg_advisory_lock_shared($1)', [attachmentLockKey]).then(() => true, () => false))) {
        return { port, started, session };
      }
      await session.end().catch(() => {});
    } else if (last.kind !== 'busy') {
      // A dead pid is PostgreSQL's to replace; a live one that is not this data's server (a reused
      // pid, a zombie) makes it refuse to start until the pid is gone, or the file.
      if (last.kind === 'silent' && Date.now() - silent!.since >= silentGraceMs) {
        options.log(`removing postmaster.pid of ${folder.dataPath}: no server of this data answers as pid ${last.pid}`);
        // Read, compared and removed, as PostgreSQL itself does with a dead pid's: a new server's differs.
        const lockFile = path.join(folder.dataPath, 'postmaster.pid');
        if ((await readFile(lockFile, 'utf8').catch(() => '')) === last.text) await rm(lockFile, { force: true });
      }
      // Started: the next look finds it running (and attaches).
      started = await startServer(folder, await freePortFrom((await readRecordedPort(folder)) ?? options.port), options.log);
      if (started) continue;
    }
    await sleep(100 + Math.random() * 100);
  }
  const seen = last.kind === 'stopped' ? 'no server' : `${last.kind}, pid ${last.pid}`;
  const advice = `Check ${folder.logPath}, run \`taskloom db status\`, or set DATABASE_URL to use another PostgreSQL.`;
  throw new DependencyError('embedded PostgreSQL', `not ready within 60 s in ${folder.dataPath} (last seen: ${seen}). ${advice}`, {
    retryable: false, details: { data_path: folder.dataPath, log_path: folder.logPath },
  });
}

/** Starts the embedded server, or attaches to the one already running on the same data. */
export async function ensureEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const folder = await locateDataFolder(options.homePath);
  const log = options.log ?? (() => {});
  const warn = options.warn ?? (() => {});
  const closing = new AbortController();
  const { signal } = closing;
  const attach = { port: options.port, log, attachAs: `${options.processName ?? 'taskloom'} pid=${process.pid}`, signal };
  const first = await bringUp(folder, attach);
  const port = first.port;
  const named = `embedded PostgreSQL on port ${port}`;
  let session = first.session;

  const watching = (async () => {
    while (session) {
      // The attach session's end is how this process learns the server has gone ('error' comes first).
      await once(session, 'end', { signal }).catch(() => {});
      if (signal.aborted) return;
      session = undefined;
      // A clean stop removes postmaster.pid once the server has exited, a crash leaves it (both end
      // the sessions with 57P01): judged before anything may restart the server under the stop.
      let state = await readServerState(folder.dataPath);
      while (state.kind === 'busy' && !signal.aborted) state = await sleep(200).then(() => readServerState(folder.dataPath));
      if (state.kind === 'stopped') return warn(`${named} was stopped by an operator; not restarting it`);
      if (options.watch === false || signal.aborted) return;
      warn(`${named} has gone; restarting it`);
      // A failed try is repeated 1 s, 2, 4 … 30 s later.
      for (let failures = 0; !session && !signal.aborted; failures += 1) {
        try {
          const again = await bringUp(folder, attach);
          session = again.session;
          if (again.port !== port) warn(`embedded PostgreSQL came back on port ${again.port}, not ${port}; restart this process`);
          else warn(again.started ? `restarted ${named}` : `${named} is back (restarted by another process)`);
        } catch (error) {
          const delayMs = Math.min(30_000, 1000 * 2 ** failures);
          if (!signal.aborted) warn(`${named} could not be restarted; trying again in ${delayMs / 1000} s: ${(error as Error).message}`);
          await sleep(delayMs, undefined, { signal }).catch(() => {});
        }
      }
    }
  })();

  const detach = async (): Promise<void> => {
    closing.abort();
    await watching;
    if (!session) return;
    try {
      // CASE runs the two in order: true only when no other process holds the lock any more.
      const alone = (await session.query<{ alone: boolean }>(
        'SELECT CASE WHEN pg_advisory_unlock_shared($1) THEN pg_try_advisory_lock($1) END AS alone', [attachmentLockKey])).rows[0]!.alone;
      if (!alone) return log('leaving embedded PostgreSQL running for the other taskloom processes using it');
      // Holding the lock exclusively: anyone attaching now waits, and will restart it.
      await stopServer(folder);
      log('stopped embedded PostgreSQL: no taskloom process uses it any more');
    } catch (error) {
      warn(`could not detach cleanly from embedded PostgreSQL: ${(error as Error).message}`);
    } finally {
      await session.end().catch(() => {});
    }
  };
  let stopping: Promise<void> | undefined;
  return { url: urlFor(port), owned: first.started, dataPath: folder.dataPath, stop: () => (stopping ??= detach()) };
}
