/**
 * An exclusive lock between processes: a file that exists while a process holds the lock and
 * names that process. Node has no flock(), so a holder that dies leaves its file behind; the
 * next process that finds the holder dead removes it.
 *
 * Two details keep two processes from ever both holding it:
 * - The file is written complete before it appears (a temporary file hard-linked into place, and
 *   link() fails if the lock exists), so a reader never sees an empty lock and takes it for stale.
 * - Removing a stale lock happens under a second, short-lived lock (`<lock>.break`). Without it,
 *   two processes that both read the same dead holder would both remove "the stale lock", the
 *   second removing the fresh lock the first had just taken. The break lock is held only to
 *   re-read and remove one file, so it is judged stale by age instead of by holder.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatMark, markAlive, parseMark, processMark } from './process-liveness.ts';

export type ReleaseLock = () => Promise<void>;

/** A break lock older than this belongs to a process that died inside the break step. */
const breakLockStaleMs = 10_000;

/** Creates `lockPath` holding this process's mark; false if it exists already. */
async function create(lockPath: string): Promise<boolean> {
  const temporaryPath = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temporaryPath, formatMark(await processMark()));
  try {
    await link(temporaryPath, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporaryPath, { force: true });
  }
}

async function holderAlive(lockPath: string): Promise<boolean | 'missing'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  const mark = parseMark(text);
  return mark !== undefined && (await markAlive(mark));
}

/** Removes `lockPath` if its holder is dead, under the break lock. */
async function removeIfStale(lockPath: string): Promise<void> {
  const breakPath = `${lockPath}.break`;
  if (!(await create(breakPath))) {
    const age = await stat(breakPath).then((stats) => Date.now() - stats.mtimeMs, () => 0);
    if (age > breakLockStaleMs) await rm(breakPath, { force: true });
    return;
  }
  try {
    // Re-read under the break lock: another process may have replaced the stale lock already.
    if ((await holderAlive(lockPath)) === false) await rm(lockPath, { force: true });
  } finally {
    await rm(breakPath, { force: true });
  }
}

/** Takes the lock, or returns undefined when a live process holds it. */
export async function tryLock(lockPath: string): Promise<ReleaseLock | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await create(lockPath)) return () => rm(lockPath, { force: true });
    const alive = await holderAlive(lockPath);
    if (alive === true) return undefined;
    if (alive === false) await removeIfStale(lockPath);
  }
  return undefined;
}

/**
 * Waits for the lock until `deadline` (epoch ms); undefined if it is still held then. Polls,
 * with jitter so that processes queued on the same lock do not retry in step.
 */
export async function acquireLock(lockPath: string, deadline: number): Promise<ReleaseLock | undefined> {
  for (;;) {
    const release = await tryLock(lockPath);
    if (release || Date.now() >= deadline) return release;
    await sleep(50 + Math.random() * 50);
  }
}
