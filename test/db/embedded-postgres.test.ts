import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { relocatedDataRoot } from '../../src/db/embedded-postgres-server.ts';
import { ensureEmbeddedPostgres, type EmbeddedPostgresHandle, type EmbeddedPostgresOptions } from '../../src/db/embedded-postgres.ts';
import { serverUrl } from '../support/database.ts';
import { freePort, killPostmasters, postmastersOn, processAlive, waitUntil } from './postmasters.ts';

let home: string;
let dataPath: string;
let port: number;
const handles: EmbeddedPostgresHandle[] = [];

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-embedded-'));
  dataPath = path.join(home, 'postgres');
  port = await freePort();
});

afterAll(async () => {
  for (const handle of handles) await handle.stop().catch(() => {});
  await killPostmasters(dataPath);
  await rm(home, { recursive: true, force: true });
});

/** In this file the tests kill the server on purpose: no watchdog restarting it behind them. */
async function ensure(options: Partial<EmbeddedPostgresOptions> = {}): Promise<EmbeddedPostgresHandle> {
  const handle = await ensureEmbeddedPostgres({ homePath: home, port, watch: false, ...options });
  handles.push(handle);
  return handle;
}

async function select(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ value: number }>('SELECT 41 + 1 AS value')).rows[0]!.value;
  } finally {
    await client.end();
  }
}

async function serverPid(): Promise<number> {
  return Number.parseInt((await readFile(path.join(dataPath, 'postmaster.pid'), 'utf8')).split('\n')[0]!, 10);
}

async function killServer(): Promise<void> {
  const pid = await serverPid();
  process.kill(pid, 'SIGKILL');
  await waitUntil(async () => !(await processAlive(pid)) && (await postmastersOn(dataPath)).length === 0, 10_000, 'the killed server to exit');
}

it('starts a real PostgreSQL on a fresh folder, once, however many ask at the same time, and the last to detach stops it', async () => {
  const [first, second] = await Promise.all([ensure(), ensure()]);
  expect([first!.owned, second!.owned].sort()).toEqual([false, true]);
  expect(first!.url).toBe(second!.url);
  expect(await select(first!.url)).toBe(42);
  // A later caller attaches to the running server.
  const third = await ensure();
  expect(third.owned).toBe(false);
  expect(await postmastersOn(dataPath)).toHaveLength(1);

  // Whichever started it, the server stays up until nobody is attached any more.
  const owner = first!.owned ? first! : second!;
  await owner.stop();
  await (owner === first ? second! : first!).stop();
  expect(await select(third.url)).toBe(42);
  await third.stop();
  expect(await postmastersOn(dataPath)).toEqual([]);
  expect(existsSync(path.join(dataPath, 'postmaster.pid'))).toBe(false);
}, 60_000);

it('restarts safely when the server it finds has died', async () => {
  await ensure();
  await killServer();
  const restarted = await ensure();
  expect(restarted.owned).toBe(true);
  expect(await select(restarted.url)).toBe(42);
  expect(await postmastersOn(dataPath)).toHaveLength(1);
}, 60_000);

it('starts at once when the pid in a left-over postmaster.pid now belongs to another program', async () => {
  await killServer();
  const pidFile = path.join(dataPath, 'postmaster.pid');
  const leftOver = await readFile(pidFile, 'utf8');
  const reuse = async (pid: number): Promise<void> => {
    await writeFile(pidFile, leftOver.replace(/^\d+/, String(pid)));
    const started = Date.now();
    const handle = await ensure();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(handle.owned).toBe(true);
    expect(await select(handle.url)).toBe(42);
    await killServer();
  };

  // A program that is not PostgreSQL at all.
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    await reuse(sleeper.pid!);
  } finally {
    sleeper.kill('SIGKILL');
    await once(sleeper, 'exit');
  }

  // A PostgreSQL process, but on other data: a backend of the test run's own server.
  const other = new pg.Client({ connectionString: serverUrl() });
  await other.connect();
  try {
    await reuse((await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
  } finally {
    await other.end();
  }
}, 60_000);

// Only root hands the server to the `postgres` system user; CI runs as root.
it.runIf(process.getuid?.() === 0)('as root, keeps the data where the postgres user can reach it when TASKLOOM_HOME is private', async () => {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'taskloom-private-'));
  let relocated: string | undefined;
  try {
    await chmod(parent, 0o700);
    const homePath = path.join(parent, 'project', '.taskloom');
    const handle = await ensureEmbeddedPostgres({ homePath, port: await freePort(), watch: false });
    relocated = path.dirname(handle.dataPath);
    expect(handle.dataPath.startsWith(`${relocatedDataRoot}/`)).toBe(true);
    expect(await readFile(path.join(relocated, 'home'), 'utf8')).toBe(`${homePath}\n`);
    expect(await select(handle.url)).toBe(42);
    // Nothing above taskloom's own folders was opened up.
    expect((await stat(parent)).mode & 0o777).toBe(0o700);
    await handle.stop();
    // pg_ctl returns once postmaster.pid is gone, a moment before the process itself.
    await waitUntil(async () => (await postmastersOn(handle.dataPath)).length === 0, 5000, 'the server to exit');
  } finally {
    if (relocated) await killPostmasters(path.join(relocated, 'postgres'));
    await rm(parent, { recursive: true, force: true });
    if (relocated) await rm(relocated, { recursive: true, force: true });
  }
}, 60_000);

if (process.getuid?.() !== 0) process.stdout.write('skipping the private TASKLOOM_HOME test: only root hands the server to the postgres user\n');
