/**
 * `submit --wait` on a database with no worker anywhere says so at once, instead of waiting in
 * silence; when a worker starts, the same command finishes the task.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

let database: TestDatabase;
let engine: Engine | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await killChildren();
  await engine?.stop({ graceMs: 200 });
  await database?.drop();
});

it('warns that no worker is running, then completes once one starts', async () => {
  const child = spawnNode('bin/taskloom.js', ['submit', 'sleep', '--data', '{"ms":10}', '--wait'], { env: { DATABASE_URL: database.url, LOG_LEVEL: 'warn' } });
  await child.waitForLine('no taskloom worker is running');
  expect(child.output()).toContain('npx taskloom worker');
  engine = await startTestEngine(database, [sleepTask]);
  await engine.startWorker({ concurrency: 1 });
  expect(await child.exited).toBe(0);
  expect(child.output()).toContain('task_completed');
}, 60_000);
