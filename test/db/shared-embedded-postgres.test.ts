/**
 * Several real taskloom processes on one embedded PostgreSQL, as from several terminals in one
 * folder: they share one server, it outlives the process that started it while others use it,
 * the last one out stops it, and a server that dies is brought back by one of them while the
 * others carry on. /proc is sampled throughout to prove there is never a second server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { killChildren, spawnNode, type Child } from '../support/processes.ts';
import { freePort, killPostmasters, postmastersOn, samplePostmasters, waitUntil } from './postmasters.ts';

const homes: string[] = [];

afterEach(async () => {
  await killChildren();
  for (const home of homes) await killPostmasters(path.join(home, 'postgres'));
});

afterAll(async () => {
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

async function newHome(): Promise<{ home: string; dataPath: string; port: number }> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-shared-'));
  homes.push(home);
  return { home, dataPath: path.join(home, 'postgres'), port: await freePort() };
}

function attachedProcess(home: string, port: number): Child {
  return spawnNode('test/db/fixtures/attached-process.ts', [], {
    env: { DATABASE_URL: '', TASKLOOM_HOME: home, TASKLOOM_EMBEDDED_PG_PORT: String(port), TASKLOOM_TEST_LOG: 'debug' },
  });
}

/** The fixture's query results, in order: `ok <server start time>` or `error <code>`. */
function results(child: Child): string[] {
  return child.output().split('\n').filter((line) => line.startsWith('ok ') || line.startsWith('error '));
}

async function stopGracefully(child: Child): Promise<void> {
  child.process.kill('SIGTERM');
  await child.waitForLine('closed', 15_000);
  expect(await child.exited).toBe(0);
}

it('a process that attached keeps its server when the process that started it exits, and the last one out stops it', async () => {
  const { home, dataPath, port } = await newHome();
  const sampler = samplePostmasters(dataPath);
  const starter = attachedProcess(home, port);
  await starter.waitForLine('attached');
  const attached = attachedProcess(home, port);
  await attached.waitForLine('attached');
  // stdout and stderr are separate pipes: the log line may arrive after "attached".
  await starter.waitForLine('started embedded PostgreSQL', 5000);
  await attached.waitForLine('using running embedded PostgreSQL', 5000);

  await stopGracefully(starter);
  const before = results(attached).length;
  await waitUntil(() => results(attached).length >= before + 15, 10_000, 'the attached process to run 15 more queries');
  const after = results(attached).slice(before);
  // Not a single failed query, and still the first server: nobody stopped it under the worker.
  expect(after.filter((line) => !line.startsWith('ok '))).toEqual([]);
  expect(new Set(results(attached)).size).toBe(1);
  expect(await postmastersOn(dataPath)).toHaveLength(1);

  await stopGracefully(attached);
  expect(await postmastersOn(dataPath)).toEqual([]);
  expect(existsSync(path.join(dataPath, 'postmaster.pid'))).toBe(false);
  const { mostAtOnce, seen } = await sampler.stop();
  expect(mostAtOnce, JSON.stringify([...seen])).toBe(1);
  expect(seen.size, JSON.stringify([...seen])).toBe(1);
}, 30_000);

it('processes started together share one server, survive the starter being killed, and bring a killed server back once', async () => {
  const { home, dataPath, port } = await newHome();
  const sampler = samplePostmasters(dataPath);
  // Three "terminals" at once on a fresh folder: exactly one of them initialises and starts.
  const children = [attachedProcess(home, port), attachedProcess(home, port), attachedProcess(home, port)];
  await Promise.all(children.map((child) => child.waitForLine('attached')));
  const starters = children.filter((child) => child.output().includes('started embedded PostgreSQL'));
  expect(starters).toHaveLength(1);
  const starter = starters[0]!;
  const others = children.filter((child) => child !== starter);

  // The starter dies without closing anything: the server is not its child, so nothing changes.
  starter.process.kill('SIGKILL');
  await starter.exited;
  const marks = others.map((child) => results(child).length);
  await waitUntil(() => others.every((child, index) => results(child).length >= marks[index]! + 10), 10_000, 'the others to run 10 more queries');
  for (const [index, child] of others.entries()) {
    expect(results(child).slice(marks[index]).filter((line) => !line.startsWith('ok '))).toEqual([]);
  }
  const firstServer = results(others[0]!).at(-1)!;

  // Now the server itself dies. Every attached process notices; one restarts it, the other finds
  // it back, and both answer again without restarting themselves.
  const [serverPid] = await postmastersOn(dataPath);
  process.kill(serverPid!, 'SIGKILL');
  // Bounded, not timed: how fast is a benchmark's business, and a loaded CI machine once took 5.1 s.
  await waitUntil(() => others.every((child) => { const last = results(child).at(-1); return last !== undefined && last.startsWith('ok ') && last !== firstServer; }), 20_000, 'both processes to answer from a restarted server');
  // The restarting process reports the restart once its start call returns, which can be a
  // few milliseconds after both pools are already answering from the new server.
  const restarts = (): number => others.reduce((sum, child) => sum + child.output().split('restarted embedded PostgreSQL on port').length - 1, 0);
  await waitUntil(() => restarts() >= 1, 5000, 'the restart to be reported');
  expect(restarts()).toBe(1);
  const secondServer = results(others[0]!).at(-1);
  expect(results(others[1]!).at(-1)).toBe(secondServer);

  const marksAfter = others.map((child) => results(child).length);
  await waitUntil(() => others.every((child, index) => results(child).length >= marksAfter[index]! + 5), 10_000, 'five more queries each');
  for (const [index, child] of others.entries()) {
    expect(results(child).slice(marksAfter[index]).every((line) => line === secondServer)).toBe(true);
  }

  await Promise.all(others.map((child) => stopGracefully(child)));
  expect(await postmastersOn(dataPath)).toEqual([]);
  const { mostAtOnce, seen } = await sampler.stop();
  expect(mostAtOnce, JSON.stringify([...seen])).toBe(1);
  expect(seen.size, JSON.stringify([...seen])).toBe(2);
}, 30_000);
