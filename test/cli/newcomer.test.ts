/**
 * taskloom as a newcomer meets it: `npm start` from a private folder (as root, a `mktemp -d` or
 * /root, which the postgres user cannot enter) and stopped the way `docker stop`, systemd and CI
 * runners stop it, with one SIGTERM to npm; two folders serving at once; the left-over server of
 * a folder deleted after a `kill -9`; and the `db` commands.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { locateDataFolder, relocatedDataRoot } from '../../src/db/embedded-postgres-server.ts';
import { killChildren, spawnNode, type Child } from '../support/processes.ts';
import { freePort, killPostmasters, postmastersOn, samplePostmasters, waitUntil } from '../db/postmasters.ts';

const root = process.getuid?.() === 0;
const folders: string[] = [];
const dataFolders: string[] = [];

afterEach(async () => {
  await killChildren();
  for (const dataPath of dataFolders) await killPostmasters(dataPath);
});

afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  for (const dataPath of dataFolders.filter((folder) => folder.startsWith(`${relocatedDataRoot}/`))) await rm(path.dirname(dataPath), { recursive: true, force: true });
});

/** A new private folder (mkdtemp makes it 0700), removed after the file. */
async function privateFolder(): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'taskloom-newcomer-'));
  folders.push(folder);
  return folder;
}

/** The data folder named in a start-up line (`... (embedded, data in /x/postgres) ...`). */
function dataFolderIn(output: string): string {
  const match = /\(embedded, data in ([^)]+)\)/.exec(output);
  if (!match) throw new Error(`no data folder in:\n${output}`);
  dataFolders.push(match[1]!);
  return match[1]!;
}

/** Pids of the processes in process group `group` (Linux /proc; field 5 of stat). */
async function processGroup(group: number): Promise<number[]> {
  const members: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === group && fields[0] !== 'Z') members.push(Number(name));
  }
  return members;
}

function taskloom(args: string[], home: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/taskloom.js', ...args], { env: { ...process.env, DATABASE_URL: '', TASKLOOM_HOME: home, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function serve(home: string, env: NodeJS.ProcessEnv = {}): Child {
  return spawnNode('bin/taskloom.js', ['serve'], { env: { DATABASE_URL: '', TASKLOOM_HOME: home, LOG_LEVEL: 'warn', ...env } });
}

async function healthy(output: string): Promise<boolean> {
  const url = /taskloom serving (http:\/\/\S+)/.exec(output)?.[1];
  return url !== undefined && (await fetch(`${url}/healthz`)).ok;
}

it('npm start from a private folder serves, says where the data is, and one SIGTERM to npm leaves no process behind', async () => {
  // A checkout in a folder only its owner can enter: the project files, linked.
  const checkout = path.join(await privateFolder(), 'taskloom');
  await mkdir(checkout);
  await copyFile('package.json', path.join(checkout, 'package.json'));
  for (const entry of ['bin', 'src', 'scripts', 'web', 'node_modules']) await symlink(path.resolve(entry), path.join(checkout, entry));
  const environment: NodeJS.ProcessEnv = { ...process.env, PORT: String(await freePort()) };
  for (const name of ['DATABASE_URL', 'TASKLOOM_HOME', 'TASKLOOM_EMBEDDED_PG_PORT', 'LOG_LEVEL']) delete environment[name];
  // Its own process group, so the test can see every process npm started.
  const npm = spawn('npm', ['start'], { cwd: checkout, env: environment, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  npm.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = once(npm, 'exit');
  try {
    await waitUntil(() => output.includes('taskloom serving') || npm.exitCode !== null, 120_000, 'npm start to serve');
    expect(output).toContain('taskloom serving');
    const dataPath = dataFolderIn(output);
    // As root the postgres user cannot enter the private folder: the data goes where it can.
    expect(dataPath.startsWith(root ? `${relocatedDataRoot}/` : `${checkout}/.taskloom/`), dataPath).toBe(true);
    expect(await healthy(output)).toBe(true);
    expect(await postmastersOn(dataPath)).toHaveLength(1);

    process.kill(npm.pid!, 'SIGTERM');
    await exited;
    await waitUntil(async () => (await processGroup(npm.pid!)).length === 0, 20_000, 'every process npm started to exit');
    await waitUntil(async () => (await postmastersOn(dataPath)).length === 0, 20_000, 'the embedded PostgreSQL to stop');
  } finally {
    if (npm.exitCode === null) process.kill(-npm.pid!, 'SIGKILL');
  }
}, 180_000);

it('two folders serve at once, and a deleted folder\'s left-over server is reported, never reused', async () => {
  const port = await freePort();
  const [first, second, third] = [path.join(await privateFolder(), 'a'), path.join(await privateFolder(), 'b'), path.join(await privateFolder(), 'c')];
  // The same default port for all: the first takes it, the others pick free ones.
  const env = { TASKLOOM_EMBEDDED_PG_PORT: String(port) };
  const servers = [serve(first, { ...env, PORT: String(await freePort()) }), serve(second, { ...env, PORT: String(await freePort()) })];
  await Promise.all(servers.map((child) => child.waitForLine('taskloom serving', 90_000)));
  for (const child of servers) expect(await healthy(child.output())).toBe(true);
  const [firstData, secondData] = servers.map((child) => dataFolderIn(child.output()));
  expect(firstData).not.toBe(secondData);
  const ports = servers.map((child) => Number(/127\.0\.0\.1:(\d+)\/postgres/.exec(child.output())![1]));
  expect(new Set(ports).size).toBe(2);
  expect(ports).toContain(port);

  // The server on the default port is killed outright and its folder deleted: its PostgreSQL
  // runs on (it is not a child of taskloom), on data that no longer exists.
  const holder = servers[ports.indexOf(port)]!;
  const holderData = ports.indexOf(port) === 0 ? firstData! : secondData!;
  const [leftOver] = await postmastersOn(holderData);
  holder.process.kill('SIGKILL');
  await holder.exited;
  await rm(ports.indexOf(port) === 0 ? first : second, { recursive: true, force: true });
  if (holderData.startsWith(`${relocatedDataRoot}/`)) await rm(path.dirname(holderData), { recursive: true, force: true });

  try {
    const status = await taskloom(['db', 'status', '--json'], third, env);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'stopped', other_servers: [{ port, folder_deleted: true }] });
    const late = serve(third, { ...env, PORT: String(await freePort()) });
    await late.waitForLine('taskloom serving', 90_000);
    expect(await healthy(late.output())).toBe(true);
    dataFolderIn(late.output());
    expect(late.output()).not.toContain(`127.0.0.1:${port}/postgres`);
  } finally {
    process.kill(leftOver!, 'SIGQUIT');
  }
}, 180_000);

it('db status, start, stop and psql', async () => {
  const home = path.join(await privateFolder(), 'project');
  const env = { TASKLOOM_EMBEDDED_PG_PORT: String(await freePort()) };
  const before = await taskloom(['db', 'status', '--json'], home, env);
  expect(before.code, before.stderr).toBe(0);
  const stopped = JSON.parse(before.stdout) as { state: string; data_path: string; log_path: string; processes: unknown[] };
  expect(stopped).toMatchObject({ database: 'embedded', state: 'stopped', processes: [] });
  dataFolders.push(stopped.data_path);

  const start = await taskloom(['db', 'start'], home, env);
  expect(start.code, start.stderr).toBe(0);
  expect(start.stdout).toMatch(/^started: postgres:\/\//);
  const server = serve(home, { ...env, PORT: String(await freePort()) });
  await server.waitForLine('taskloom serving', 60_000);
  const running = JSON.parse((await taskloom(['db', 'status', '--json'], home, env)).stdout) as { state: string; port: number; log_path: string; processes: Array<{ application_name: string }> };
  expect(running.state).toBe('running');
  expect(running.log_path).toBe(stopped.log_path);
  expect(running.processes.map((entry) => entry.application_name)).toEqual([`taskloom serve pid=${server.process.pid}`]);

  const psql = await taskloom(['db', 'psql', '--', '-tAc', 'SELECT 40 + 2'], home, env);
  expect(psql.code, psql.stderr).toBe(0);
  expect(psql.stdout.trim()).toBe('42');

  const refused = await taskloom(['db', 'stop'], home, env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^error \[database_in_use\]: .*taskloom serve pid=/);
  expect(await postmastersOn(stopped.data_path)).toHaveLength(1);

  // serve, the last process using it, stops it on its way out.
  server.process.kill('SIGTERM');
  expect(await server.exited).toBe(0);
  await waitUntil(async () => (await postmastersOn(stopped.data_path)).length === 0, 20_000, 'the server to stop with serve');
  expect(JSON.parse((await taskloom(['db', 'status', '--json'], home, env)).stdout)).toMatchObject({ state: 'stopped' });

  // Stopping by hand, when only a reader uses it.
  await taskloom(['db', 'start'], home, env);
  const stop = await taskloom(['db', 'stop'], home, env);
  expect(stop.code, stop.stderr).toBe(0);
  expect(await postmastersOn(stopped.data_path)).toEqual([]);

  // --force stops it under a server, which takes it as an operator's stop and does not restart it.
  const second = serve(home, { ...env, PORT: String(await freePort()) });
  await second.waitForLine('taskloom serving', 60_000);
  const forced = await taskloom(['db', 'stop', '--force'], home, env);
  expect(forced.code, forced.stderr).toBe(0);
  await second.waitForLine('was stopped by an operator; not restarting it', 10_000);
  expect(await postmastersOn(stopped.data_path)).toEqual([]);
  second.process.kill('SIGTERM');
  await second.exited;
  expect(await postmastersOn(stopped.data_path)).toEqual([]);
}, 180_000);

it('a SIGTERM while serve is still starting the embedded server leaves no server behind', async () => {
  const home = path.join(await privateFolder(), 'early');
  const { dataPath } = await locateDataFolder(home);
  dataFolders.push(dataPath);
  const early = serve(home, { TASKLOOM_EMBEDDED_PG_PORT: String(await freePort()), PORT: String(await freePort()) });
  // initdb is done and the server log opened: pg_ctl is starting the server, in its own session.
  await waitUntil(() => existsSync(path.join(dataPath, 'server.log')), 30_000, 'the server start to begin');
  early.process.kill('SIGTERM');
  await early.exited;
  expect(early.output()).not.toContain('taskloom serving');
  // Nothing comes up afterwards either: a start already under way was waited for and stopped.
  const sampler = samplePostmasters(dataPath);
  await sleep(2000);
  expect((await sampler.stop()).mostAtOnce).toBe(0);
}, 60_000);
