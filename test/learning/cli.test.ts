/**
 * `taskloom learning` against a real database and engine (a runtime built on the test database).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Runtime } from '../../src/cli/runtime.ts';
import type { Engine } from '../../src/engine/index.ts';
import { learningCommand, learningTaskTypes } from '../../src/pipelines/learning/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, testLogger } from '../support/engine.ts';
import { learningConfig, learningGateway } from './helpers.ts';
import { runCommand } from '../support/command-output.ts';

let database: TestDatabase;
let engine: Engine;
let runtime: Runtime;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = learningConfig();
  const llm = learningGateway(database, config);
  engine = await startTestEngine(database, learningTaskTypes({ config, pool: database.pool, logger: testLogger, llm }));
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
  const handle = { url: database.url, pool: database.pool, close: async () => {}, abandon: async () => {} };
  runtime = {
    loadConfig: () => config,
    logger: testLogger,
    openDatabase: async () => handle,
    openEngine: async () => ({ engine, database: handle, services: { config, pool: database.pool, logger: testLogger, llm } }),
    openReader: async () => engine,
    taskTypes: async () => engine.registry.list(),
    verbose: false,
    commandName: 'learning',
    close: async () => {},
    abandon: async () => {},
    handlesSignals: false,
    childInForeground: false,
    onClose: () => {},
  };
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

async function cli(...args: string[]): Promise<string> {
  return runCommand(learningCommand(runtime), args);
}

it('starts a big job, follows it to completion, shows its status and the knowledge learned', async () => {
  process.exitCode = undefined;
  const output = await cli('start-big', '--budget', '2', '--words-per-round', '100', '--wait');
  const lines = output.trim().split('\n');
  const { job_id: jobId } = JSON.parse(lines[0]!) as { job_id: string };
  const last = JSON.parse(lines.at(-1)!) as { status: string; total_tokens: number };
  expect(last.status).toBe('completed');
  expect(last.total_tokens).toBeGreaterThan(0);
  expect(process.exitCode).toBe(0);

  const status = JSON.parse(await cli('status', jobId)) as { job_id: string; status: string; mode: string };
  expect(status).toMatchObject({ job_id: jobId, status: 'completed', mode: 'big' });

  const listed = (await cli('knowledge', '--json', '--limit', '5')).trim().split('\n').map((line) => JSON.parse(line) as { word: string; source: string });
  expect(listed).toHaveLength(5);
  expect(listed.every((entry) => entry.source === 'wordnet-3.1')).toBe(true);
  const one = JSON.parse(await cli('knowledge', listed[0]!.word.toUpperCase())) as { normalised: string };
  expect(one.normalised).toBe(listed[0]!.word.toLowerCase());

  const quick = JSON.parse((await cli('start', '--mode', 'quick')).trim()) as { job_id: string };
  expect(quick.job_id).toMatch(/^[0-9a-f-]{36}$/);
  await expect(cli('start', '--mode', 'quick')).rejects.toMatchObject({ code: 'learning_throttled' });
  process.exitCode = undefined;
}, 30_000);
