/**
 * The CLI as a person at a terminal uses it: `keys create/list/revoke` (the key printed once,
 * only its hash stored, and it opens the API until revoked), and `submit --wait` drawing its
 * progress bar on a real terminal (a pty from `script`).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.ts';
import { loadConfig } from '../../src/config.ts';
import type { Engine } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, testLogger } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

let database: TestDatabase;
let engine: Engine;
let server: ApiServer;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [sleepTask]);
  await engine.startWorker({ concurrency: 2 });
  server = await startApiServer({ engine, config: loadConfig({}, {}), logger: testLogger, pool: database.pool, host: '127.0.0.1', port: 0, webRoot: false, keyCacheTtlMs: 0 });
});

afterAll(async () => {
  await killChildren();
  await server?.close();
  await engine?.stop({ graceMs: 200 });
  await database?.drop();
});

function taskloom(args: string[]) {
  return spawnNode('bin/taskloom.js', args, { env: { DATABASE_URL: database.url, LOG_LEVEL: 'warn' } });
}

it('creates a key shown once and stored as a hash, lists it without the key, and revokes it', async () => {
  const create = taskloom(['keys', 'create', '--tenant', 'studio-k', '--name', 'ci', '--json']);
  expect(await create.exited).toBe(0);
  const created = JSON.parse(create.output().slice(create.output().indexOf('{'))) as { id: string; tenant: string; key: string; prefix: string };
  expect(created.tenant).toBe('studio-k');
  const stored = await database.pool.query<{ key_hash: string; prefix: string }>('SELECT key_hash, prefix FROM api_keys WHERE id = $1', [created.id]);
  expect(stored.rows[0]!.key_hash).not.toContain(created.key);
  expect(created.key.startsWith(stored.rows[0]!.prefix)).toBe(true);

  const tenant = await fetch(`${server.url}/api/v1/tenant`, { headers: { 'x-api-key': created.key } });
  expect(tenant.status).toBe(200);
  expect(((await tenant.json()) as { tenant: string }).tenant).toBe('studio-k');

  const list = taskloom(['keys', 'list', '--tenant', 'studio-k']);
  expect(await list.exited).toBe(0);
  expect(list.output()).toContain(created.prefix);
  expect(list.output()).not.toContain(created.key);

  const revoke = taskloom(['keys', 'revoke', created.prefix]);
  expect(await revoke.exited).toBe(0);
  expect(revoke.output()).toContain(`revoked ${created.prefix}`);
  const refused = await fetch(`${server.url}/api/v1/tenant`, { headers: { 'x-api-key': created.key } });
  expect(refused.status).toBe(401);
}, 60_000);

it('draws a progress bar on a terminal and prints the final status', async () => {
  // `script` gives the command a pseudo-terminal, so stdout.isTTY is true as at a prompt. Spawned
  // asynchronously: this process's worker runs the task meanwhile.
  const command = `DATABASE_URL='${database.url}' LOG_LEVEL=warn ${process.execPath} bin/taskloom.js submit sleep --data '{"ms":600,"steps":3}' --wait`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => { screen += chunk.toString('utf8'); });
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
  expect(screen).toMatch(/100\s*%/);
  expect(screen).toMatch(/step 3\/3/);
  expect(screen).toMatch(/completed \{"steps":3/);
  // A terminal gets the bar, not the JSON lines a pipe gets.
  expect(screen).not.toContain('"type":"task_progress"');
}, 60_000);
