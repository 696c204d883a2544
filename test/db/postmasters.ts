/**
 * Test helpers that look at the embedded servers from outside, through /proc (Linux), the way an
 * operator running `ps` would: which PostgreSQL servers run on a data folder, sampled over a
 * whole test to prove there was never more than one at a time.
 */
import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** True while `pid` runs and is not a zombie (a killed server is reaped late by pid 1). */
export async function processAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
}

/**
 * Pids of the PostgreSQL servers (postmasters) running on `dataPath`: processes working in the
 * folder that run the `postgres` executable with `-D`, other than initdb's runs of it and than
 * the server's own children in the instant after fork, before they retitle themselves.
 */
export async function postmastersOn(dataPath: string): Promise<number[]> {
  return [...(await postmasterCommands(dataPath)).keys()];
}

/**
 * postmastersOn() with each server's command line (spaces for NULs), for failure messages.
 * `serving`: only servers that have forked their own processes (checkpointer, backends). A
 * postmaster that PostgreSQL's interlock refuses (another server holds the data) exits before it
 * forks anything, so it never counts as a second server.
 */
export async function postmasterCommands(dataPath: string, serving = false): Promise<Map<number, string>> {
  const data = await realpath(dataPath).catch(() => dataPath);
  const candidates = new Map<number, { command: string; parent: number }>();
  const parents = new Set<number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const workingFolder = await readlink(`/proc/${name}/cwd`).catch(() => undefined);
    if (workingFolder !== data) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const parent = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '', 10);
    parents.add(parent);
    const command = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const server = path.basename(command[0] ?? '') === 'postgres' && command.includes('-D') && !command.some((argument) => ['--boot', '--single', '--check'].includes(argument));
    if (!server || !(await processAlive(Number(name)))) continue;
    candidates.set(Number(name), { command: command.join(' ').trim(), parent });
  }
  const found = new Map<number, string>();
  for (const [pid, { command, parent }] of candidates) {
    if (!candidates.has(parent) && (!serving || parents.has(pid))) found.set(pid, command);
  }
  return found;
}

export interface PostmasterSampler {
  /**
   * Stops sampling; returns the most serving servers seen at once and every one seen (pid: command).
   */
  stop(): Promise<{ mostAtOnce: number; seen: Map<number, string> }>;
}

/** Samples the serving postmasters every 20 ms until stopped. */
export function samplePostmasters(dataPath: string): PostmasterSampler {
  let running = true;
  let mostAtOnce = 0;
  const seen = new Map<number, string>();
  const loop = (async () => {
    while (running) {
      const servers = await postmasterCommands(dataPath, true);
      mostAtOnce = Math.max(mostAtOnce, servers.size);
      for (const [pid, command] of servers) seen.set(pid, command);
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { mostAtOnce, seen };
    },
  };
}

/** Waits until `condition` holds, polling every 50 ms. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Kills whatever server a failed test left running on `dataPath` (afterAll). */
export async function killPostmasters(dataPath: string): Promise<void> {
  for (const pid of await postmastersOn(dataPath)) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // Gone already.
    }
  }
  await waitUntil(async () => (await postmastersOn(dataPath)).length === 0, 10_000, 'left-over servers to exit').catch(() => {});
}
