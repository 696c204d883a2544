import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/db/embedded-postgres.ts';

let home: string;
const handles: EmbeddedPostgresHandle[] = [];
const port = 57_000 + Math.floor(Math.random() * 2000);

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-embedded-'));
});

afterAll(async () => {
  for (const handle of handles) await handle.stop().catch(() => {});
  await rm(home, { recursive: true, force: true });
});

async function select(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ value: number }>('SELECT 41 + 1 AS value')).rows[0]!.value;
  } finally {
    await client.end();
  }
}

it('starts a real PostgreSQL on a fresh folder, once, however many processes ask at the same time', async () => {
  const [first, second] = await Promise.all([ensureEmbeddedPostgres({ homePath: home, port }), ensureEmbeddedPostgres({ homePath: home, port })]);
  handles.push(first!, second!);
  expect([first!.owned, second!.owned].sort()).toEqual([false, true]);
  expect(first!.url).toBe(second!.url);
  expect(await select(first!.url)).toBe(42);
  // A later caller attaches to the running server.
  const third = await ensureEmbeddedPostgres({ homePath: home, port });
  handles.push(third);
  expect(third.owned).toBe(false);
}, 60_000);

it('restarts safely when the server it finds has died', async () => {
  const pid = Number.parseInt((await readFile(path.join(home, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]!, 10);
  process.kill(pid, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const restarted = await ensureEmbeddedPostgres({ homePath: home, port });
  handles.push(restarted);
  expect(restarted.owned).toBe(true);
  expect(await select(restarted.url)).toBe(42);
  await restarted.stop();
}, 60_000);
