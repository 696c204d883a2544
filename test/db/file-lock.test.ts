import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { acquireLock, tryLock } from '../../src/db/file-lock.ts';
import { formatMark, markAlive, processMark } from '../../src/db/process-liveness.ts';

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'taskloom-lock-'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

it('is held by one caller at a time, and names its holder', async () => {
  const lockPath = path.join(folder, 'held.lock');
  const release = await tryLock(lockPath);
  expect(release).toBeDefined();
  expect(await readFile(lockPath, 'utf8')).toBe(formatMark(await processMark()));
  // The holder is alive (this process), so nobody else gets it, not even this process again.
  expect(await tryLock(lockPath)).toBeUndefined();
  expect(await acquireLock(lockPath, Date.now() + 300)).toBeUndefined();
  await release!();
  const again = await tryLock(lockPath);
  expect(again).toBeDefined();
  await again!();
});

it('is taken over from a holder that died, and from a later process that reused its pid', async () => {
  const lockPath = path.join(folder, 'stale.lock');
  await writeFile(lockPath, String(await deadPid()));
  const fromDead = await tryLock(lockPath);
  expect(fromDead).toBeDefined();
  await fromDead!();

  const mark = await processMark();
  if (mark.startTime !== undefined) {
    // Same pid as a live process (this one), but not the process that wrote the lock.
    const reused = { pid: mark.pid, startTime: String(Number(mark.startTime) - 1) };
    expect(await markAlive(reused)).toBe(false);
    await writeFile(lockPath, formatMark(reused));
    const fromReused = await tryLock(lockPath);
    expect(fromReused).toBeDefined();
    await fromReused!();
  }
});

it('goes to exactly one of many callers racing to replace the same stale lock', async () => {
  // Removing a stale lock without the break lock lets two callers win in about 2% of rounds
  // (measured), so 100 rounds catch it with high probability.
  const lockPath = path.join(folder, 'race.lock');
  const dead = String(await deadPid());
  for (let round = 0; round < 100; round++) {
    await writeFile(lockPath, dead);
    const results = await Promise.all(Array.from({ length: 20 }, () => tryLock(lockPath)));
    const winners = results.filter((release) => release !== undefined);
    expect(winners).toHaveLength(1);
    await winners[0]!();
  }
}, 30_000);
