/**
 * `serve` on a port another process holds (a second `npm start` in the same folder): it stops
 * with a configuration error naming PORT, before its worker has claimed anything.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

let database: TestDatabase;
let engine: Engine;
let holder: Server;
let port: number;

beforeAll(async () => {
  database = await createTestDatabase();
  // Submits only: no worker in this process, so only the server under test could claim a task.
  engine = await startTestEngine(database, [sleepTask]);
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  port = (holder.address() as { port: number }).port;
});

afterAll(async () => {
  await killChildren();
  holder?.close();
  await engine?.stop({ graceMs: 200 });
  await database?.drop();
});

it('refuses a port in use, naming PORT, and claims no task first', async () => {
  const { task } = await engine.submit({ taskType: 'sleep', input: { ms: 10 } });
  const child = spawnNode('bin/taskloom.js', ['serve'], { env: { DATABASE_URL: database.url, LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1' } });
  expect(await child.exited).toBe(2);
  expect(child.output()).toContain(`PORT=${port} cannot be listened on (another process is using it)`);
  expect(child.output()).not.toContain('internal_error');
  expect((await engine.getTask(task.id)).status).toBe('queued');
  const started = await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM task_events WHERE task_id = $1 AND type = 'task_started'", [task.id]);
  expect(started.rows[0]!.count).toBe(0);
}, 60_000);
