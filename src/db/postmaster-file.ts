/**
 * What PostgreSQL's own `postmaster.pid` in the data folder says, checked against the process it
 * names.
 *
 * The file is written by the server at start and removed at a clean stop. Its lines: 1 the
 * server's pid, 2 the data folder, 3 the start time, 4 the port, 5 the socket folder, 6 the
 * listen address, 7 the shared memory key, 8 the status (`starting`, `ready`, `stopping`).
 *
 * A file left by a server that was killed names a pid that may since belong to any other process.
 * PostgreSQL itself refuses to start while that pid is alive ("lock file postmaster.pid already
 * exists"), so taskloom has to tell a live server on this data from an unrelated process that
 * reused its pid. On Linux /proc answers it: the server runs the `postgres` executable and its
 * working folder is the data folder (the postmaster changes into it at start).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, readlink, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { processAlive } from './process-liveness.ts';

const run = promisify(execFile);

export type ServerStatus = 'starting' | 'ready' | 'stopping' | 'standby' | 'unknown';

export type ServerState =
  /** No postmaster.pid: no server runs on the data (or it stopped cleanly). */
  | { kind: 'stopped' }
  /** postmaster.pid names a process that is dead or is not PostgreSQL on this data. */
  | { kind: 'stale'; pid: number; port: number | undefined; reason: 'dead' | 'not_postgres' }
  /** The server runs on this data (`port` is unknown until it has written that far). */
  | { kind: 'running'; pid: number; port: number | undefined; status: ServerStatus }
  /** A live process that this platform cannot identify; the caller asks the port instead. */
  | { kind: 'unverified'; pid: number; port: number };

export function postmasterFilePath(dataPath: string): string {
  return path.join(dataPath, 'postmaster.pid');
}

type Identity = 'this_server' | 'other' | 'unknown';

/** Whether `pid` is a PostgreSQL server running on `dataPath`. */
async function identify(pid: number, dataPath: string): Promise<Identity> {
  if (process.platform === 'linux') return identifyFromProc(pid, dataPath);
  if (process.platform === 'win32') return 'unknown';
  // Elsewhere ps names the executable, though not the data folder it serves.
  try {
    const { stdout } = await run('ps', ['-o', 'comm=', '-p', String(pid)]);
    return path.basename(stdout.trim()).startsWith('postgres') ? 'this_server' : 'other';
  } catch {
    return 'unknown';
  }
}

/**
 * True for the server's processes by their command line: the postmaster keeps its own
 * (`/…/bin/postgres -D …`), the processes it forks show a title (`postgres: checkpointer`).
 */
function isPostgresCommand(commandLine: string): boolean {
  const first = commandLine.split('\0')[0] ?? '';
  return path.basename(first).startsWith('postgres') || first.startsWith('postgres:');
}

async function identifyFromProc(pid: number, dataPath: string): Promise<Identity> {
  let commandLine: string;
  try {
    commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return 'unknown';
  }
  if (!isPostgresCommand(commandLine)) return 'other';
  let workingFolder: string;
  try {
    workingFolder = await readlink(`/proc/${pid}/cwd`);
  } catch {
    // No right to look means another user's process. Ours never is: unprivileged, the server
    // runs as this user; as root, every process can be looked at. So it is not this server.
    return 'other';
  }
  const data = await realpath(dataPath).catch(() => dataPath);
  // A PostgreSQL on some other data folder that happens to have the recorded pid is not ours.
  return workingFolder === data ? 'this_server' : 'other';
}

function parseStatus(line: string | undefined): ServerStatus {
  const status = line?.trim();
  return status === 'starting' || status === 'ready' || status === 'stopping' || status === 'standby' ? status : 'unknown';
}

export async function readServerState(dataPath: string): Promise<ServerState> {
  let text: string;
  try {
    text = await readFile(postmasterFilePath(dataPath), 'utf8');
  } catch {
    return { kind: 'stopped' };
  }
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const parsedPort = Number.parseInt(lines[3] ?? '', 10);
  const port = Number.isInteger(parsedPort) ? parsedPort : undefined;
  // The server writes the file in steps; an incomplete one is a server still starting, unless
  // the pid in it is already dead.
  if (!Number.isInteger(pid) || !(await processAlive(pid))) {
    return Number.isInteger(pid) ? { kind: 'stale', pid, port, reason: 'dead' } : { kind: 'stopped' };
  }
  const identity = await identify(pid, dataPath);
  if (identity === 'other') return { kind: 'stale', pid, port, reason: 'not_postgres' };
  if (port === undefined) return { kind: 'running', pid, port, status: 'starting' };
  if (identity === 'unknown') return { kind: 'unverified', pid, port };
  return { kind: 'running', pid, port, status: parseStatus(lines[7]) };
}

/**
 * Pids of processes still working in the data folder (server processes change into it) on
 * Linux; empty elsewhere. Backends of a killed server exit on their own within moments; until
 * they have, a new server must not start on the data, and PostgreSQL's own guard for that reads
 * the postmaster.pid that removeStalePostmasterFile() is about to remove.
 */
export async function processesInDataFolder(dataPath: string): Promise<number[]> {
  if (process.platform !== 'linux') return [];
  const data = await realpath(dataPath).catch(() => dataPath);
  const names = await readdir('/proc').catch(() => [] as string[]);
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const workingFolder = await readlink(`/proc/${name}/cwd`).catch(() => undefined);
    if (workingFolder !== data) continue;
    const commandLine = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (isPostgresCommand(commandLine) && (await processAlive(Number(name)))) found.push(Number(name));
  }
  return found;
}

/**
 * Removes a postmaster.pid whose process is gone or is not this server, so PostgreSQL starts
 * instead of refusing. Call only under the start lock, after readServerState said `stale`.
 */
export async function removeStalePostmasterFile(dataPath: string): Promise<void> {
  await rm(postmasterFilePath(dataPath), { force: true });
}
