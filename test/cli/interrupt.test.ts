/**
 * Ctrl-C on a command that is waiting (here `submit --wait` with no worker) closes it properly:
 * it detaches from the shared embedded PostgreSQL, and being the last process attached, stops
 * it. The server runs in its own session, so without this it would outlive the terminal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort, killPostmasters, postmastersOn, waitUntil } from '../db/postmasters.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

let home: string | undefined;

afterAll(async () => {
  await killChildren();
  if (home) {
    await killPostmasters(path.join(home, 'postgres'));
    await rm(home, { recursive: true, force: true });
  }
});

it('detaches on SIGINT and, as the last process out, stops the embedded server', async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-interrupt-'));
  const dataPath = path.join(home, 'postgres');
  const child = spawnNode('bin/taskloom.js', ['submit', 'sleep', '--data', '{"ms":10}', '--wait'], {
    env: { DATABASE_URL: '', TASKLOOM_HOME: home, TASKLOOM_EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'warn' },
  });
  await child.waitForLine('no taskloom worker is running', 60_000);
  expect(await postmastersOn(dataPath)).toHaveLength(1);
  child.process.kill('SIGINT');
  expect(await child.exited).toBe(130);
  await waitUntil(async () => (await postmastersOn(dataPath)).length === 0, 15_000, 'the embedded server to stop');
}, 90_000);
