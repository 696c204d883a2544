/**
 * Whether a process named in a file (a lock holder, an attached taskloom process, the PostgreSQL
 * server in `postmaster.pid`) still runs.
 *
 * A pid alone can lie in two ways. A process that exited but was not reaped yet (a zombie) still
 * answers `kill(pid, 0)`; the embedded server is detached from taskloom, so when it exits it is
 * reaped by pid 1, and in containers whose pid 1 does not reap orphans it stays a zombie forever.
 * And once a process is gone its pid is reused by an unrelated one. On Linux /proc settles both:
 * the process state tells a zombie, and the start time tells the process that wrote the file from
 * a later one with the same pid. Elsewhere the pid is all there is.
 */
import { readFile } from 'node:fs/promises';

/** A process as recorded in a file: its pid and, where the platform tells it, its start time. */
export interface ProcessMark {
  pid: number;
  /** Clock ticks after boot (field 22 of /proc/<pid>/stat); absent off Linux. */
  startTime?: string;
}

interface ProcessStatus {
  state: string;
  startTime: string;
}

/**
 * Reads /proc/<pid>/stat. `gone`: the process does not exist; undefined: it cannot be told (not
 * Linux, or /proc hides other users' processes).
 */
async function readStatus(pid: number): Promise<ProcessStatus | 'gone' | undefined> {
  if (process.platform !== 'linux') return undefined;
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  // Field 2, the command name, is in parentheses and may itself hold spaces and parentheses, so
  // the fields are counted from the last closing one: state is field 3, start time field 22.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  return state && startTime ? { state, startTime } : undefined;
}

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user (PostgreSQL runs as `postgres` under root).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` names a running process (not a zombie). */
export async function processAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0 || !signalable(pid)) return false;
  const status = await readStatus(pid);
  if (status === 'gone') return false;
  return status === undefined || (status.state !== 'Z' && status.state !== 'X');
}

/** The mark of a running process (this one by default), to write into a file. */
export async function processMark(pid: number = process.pid): Promise<ProcessMark> {
  const status = await readStatus(pid);
  return typeof status === 'object' ? { pid, startTime: status.startTime } : { pid };
}

/** True when the process that wrote `mark` still runs (not merely another one with its pid). */
export async function markAlive(mark: ProcessMark): Promise<boolean> {
  if (!(await processAlive(mark.pid))) return false;
  if (mark.startTime === undefined) return true;
  const status = await readStatus(mark.pid);
  return typeof status !== 'object' || status.startTime === mark.startTime;
}

/** `pid` or `pid@startTime`: one line, for lock and attachment files. */
export function formatMark(mark: ProcessMark): string {
  return mark.startTime === undefined ? String(mark.pid) : `${mark.pid}@${mark.startTime}`;
}

/** Parses formatMark's output; undefined for anything else. */
export function parseMark(text: string): ProcessMark | undefined {
  const match = /^(\d+)(?:@(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const pid = Number.parseInt(match[1]!, 10);
  return match[2] === undefined ? { pid } : { pid, startTime: match[2] };
}
