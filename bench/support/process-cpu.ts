/**
 * The CPU a benchmark's servers spend, read from /proc: PostgreSQL's postmaster and its children
 * (the backends), Redis's server process. A drain on two cores is bounded by the CPU both sides
 * need per task, the engine's process and its server together, so that is what the engines are
 * compared by beside their rates. Only for servers on this machine: for one elsewhere (or where
 * /proc cannot be read) the figures are absent, never guessed.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { Pool } from '../../src/db/pool.ts';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/** user+system CPU milliseconds of the process `pid` and of its children. */
async function processTreeCpuMilliseconds(pid: number): Promise<number> {
  let ticks = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    // Fields after the parenthesised command: state ppid ... utime(14) stime(15), 1-based overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(entry) !== pid && Number(fields[1]) !== pid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / ticksPerSecond;
}

/** A process of this machine running `command` (as /proc/PID/comm names it), or undefined. */
async function localProcess(pid: number, command: string): Promise<number | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const name = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
  return name.trim() === command ? pid : undefined;
}

/** The postmaster's pid when the server runs on this machine (its `postmaster.pid`; needs a superuser). */
export async function localPostgresPid(pool: Pool): Promise<number | undefined> {
  const result = await pool.query<{ pid: string }>(`SELECT split_part(pg_read_file('postmaster.pid'), E'\\n', 1) AS pid`).catch(() => undefined);
  return localProcess(Number(result?.rows[0]?.pid), 'postgres');
}

/** The Redis server's pid when it runs on this machine (`INFO server`). */
export async function localRedisPid(info: string): Promise<number | undefined> {
  return localProcess(Number(/^process_id:(\d+)/m.exec(info)?.[1]), 'redis-server');
}

export interface CpuPerTask {
  /** The benchmark's own process: the engine's client side (Node). */
  client_us: number;
  /** The server's processes, when it runs on this machine. */
  server_us: number | null;
}

/** CPU spent so far by this process and by the server's processes (the tree under `serverPid`). */
export interface CpuSnapshot {
  client: NodeJS.CpuUsage;
  serverMilliseconds: number | undefined;
}

export async function cpuSnapshot(serverPid: number | undefined): Promise<CpuSnapshot> {
  const serverMilliseconds = serverPid === undefined ? undefined : await processTreeCpuMilliseconds(serverPid);
  return { client: process.cpuUsage(), serverMilliseconds };
}

/** Microseconds of CPU per task between two snapshots. */
export function cpuPerTask(before: CpuSnapshot, after: CpuSnapshot, tasks: number): CpuPerTask {
  const clientMicroseconds = after.client.user + after.client.system - before.client.user - before.client.system;
  const perTask = (milliseconds: number): number => Math.round((milliseconds * 1000) / tasks);
  return {
    client_us: perTask(clientMicroseconds / 1000),
    server_us: before.serverMilliseconds === undefined || after.serverMilliseconds === undefined ? null : perTask(after.serverMilliseconds - before.serverMilliseconds),
  };
}
