/**
 * `taskloom gather` against a real database and engine (a runtime built on the test database,
 * so the command runs before the task types are registered in builtinTaskTypes).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeGatherEvent, gatherCommand } from '../../src/pipelines/automated-gather/index.ts';
import type { Runtime } from '../../src/cli/runtime.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testLogger } from '../support/engine.ts';
import { slowOfflineProvider } from './fixtures/slow-offline-provider.ts';
import { gatherConfig, startGatherEngine, testGateway, type GatherHarness } from './helpers.ts';
import { runCommand } from '../support/command-output.ts';

let database: TestDatabase;
let harness: GatherHarness;
let runtime: Runtime;

/** A CLI runtime on the test database whose engine is `on`'s. */
function runtimeOf(on: GatherHarness): Runtime {
  const handle = { url: database.url, pool: database.pool, close: async () => {}, abandon: async () => {} };
  return {
    loadConfig: () => on.config,
    logger: testLogger,
    openDatabase: async () => handle,
    openEngine: async () => ({ engine: on.engine, database: handle, services: { config: on.config, pool: database.pool, logger: testLogger, llm: on.llm } }),
    openReader: async () => on.engine,
    taskTypes: async () => on.engine.registry.list(),
    verbose: false,
    commandName: 'gather',
    close: async () => {},
    abandon: async () => {},
    handlesSignals: false,
    childInForeground: false,
    onClose: () => {},
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  harness = await startGatherEngine(database);
  runtime = runtimeOf(harness);
});

afterAll(async () => {
  await harness?.engine.stop({ graceMs: 500 });
  await database?.drop();
});

async function cli(...args: string[]): Promise<string> {
  return runCommand(gatherCommand(runtime), args);
}

it('starts a run, follows it to the end and lists its items, departments and evaluations', async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'taskloom-departments-'));
  const file = path.join(folder, 'departments.json');
  await writeFile(file, JSON.stringify([{ slug: 'story', name: 'Story', description: 'Plot and premise.', codeDepNumber: 1, defaultModel: null }]));
  const set = JSON.parse(await cli('departments', '--project', 'cli-film', '--set', file).finally(() => rm(folder, { recursive: true, force: true }))) as { source: string; departments: Array<{ slug: string }> };
  expect(set.source).toBe('project');
  expect(set.departments.map((entry) => entry.slug)).toEqual(['story']);
  // A model no provider here serves is refused, as the API refuses it, and nothing is replaced.
  const unusableFolder = await mkdtemp(path.join(os.tmpdir(), 'taskloom-departments-'));
  const unusable = path.join(unusableFolder, 'departments.json');
  await writeFile(unusable, JSON.stringify([{ slug: 'visual', name: 'Visual', codeDepNumber: 3, defaultModel: 'google:gemini-2.5-pro' }]));
  await expect(cli('departments', '--project', 'cli-film', '--set', unusable).finally(() => rm(unusableFolder, { recursive: true, force: true }))).rejects.toThrow(/needs provider "google", which is not configured/);
  expect((JSON.parse(await cli('departments', '--project', 'cli-film')) as { departments: Array<{ slug: string }> }).departments.map((entry) => entry.slug)).toEqual(['story']);
  // A file that is not there, and text PostgreSQL cannot store, are the user's to fix: each a
  // validation error naming the file and what is wrong, and nothing is replaced.
  const missing = path.join(os.tmpdir(), 'taskloom-no-such-departments.json');
  await expect(cli('departments', '--project', 'cli-film', '--set', missing)).rejects.toMatchObject({ code: 'validation_failed', message: `--set ${missing}: no such file` });
  const storableFolder = await mkdtemp(path.join(os.tmpdir(), 'taskloom-departments-'));
  try {
    for (const [field, department] of [
      ['departments.0.name', { slug: 'art', name: 'A\u0000B', codeDepNumber: 1 }],
      ['departments.0.description', { slug: 'art', name: 'Art', description: 'x\ud800y', codeDepNumber: 1 }],
    ] as const) {
      const unstorable = path.join(storableFolder, 'departments.json');
      await writeFile(unstorable, JSON.stringify([department]));
      await expect(cli('departments', '--project', 'cli-film', '--set', unstorable)).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringContaining(field) });
    }
  } finally {
    await rm(storableFolder, { recursive: true, force: true });
  }
  expect((JSON.parse(await cli('departments', '--project', 'cli-film')) as { departments: Array<{ slug: string }> }).departments.map((entry) => entry.slug)).toEqual(['story']);

  const output = await cli('start', '--project', 'cli-film', '--max-iterations', '5', '--wait');
  const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
  const last = lines.at(-1)!;
  expect(last.status).toBe('completed');
  expect(last.result.summary.map((entry: { department: string }) => entry.department)).toEqual(['story']);
  expect(lines.some((line) => line.type === 'department_complete')).toBe(true);
  expect(process.exitCode ?? 0).toBe(0);

  const items = (await cli('items', '--project', 'cli-film', '--json')).trim().split('\n');
  expect(items).toHaveLength(last.result.items_created);
  const evaluations = await vi.waitFor(async () => {
    const text = (await cli('evaluations', '--project', 'cli-film')).trim();
    if (!text) throw new Error('no evaluation yet');
    return text.split('\n');
  }, { timeout: 20_000, interval: 200 });
  expect(JSON.parse(evaluations[0]!)).toMatchObject({ department: 'story', projectId: 'cli-film' });
});

it('says what a run does after a stagnant department, as its on_stagnation asks', () => {
  const stagnant = (onStagnation: string) => describeGatherEvent({
    id: 1, task_id: 'task', tenant: 'default', project_id: 'project', type: 'quality_stagnant', created_at: new Date().toISOString(),
    payload: { department_name: 'Story Department', best_quality_score: 61, iterations_without_improvement: 3, on_stagnation: onStagnation },
  });
  expect(stagnant('continue')).toBe('Story Department: quality stagnant at 61 for 3 iterations; going on (on_stagnation: continue)');
  expect(stagnant('next_department')).toBe('Story Department: quality stagnant at 61 for 3 iterations; moving on to the next department');
});

it('exits non-zero after --wait when the run stopped at its soft timeout', async () => {
  // Its own engine, with slow models and a short soft timeout; the first one's worker stops first.
  const config = gatherConfig({ llmGenerationModel: 'slow:default', llmEmbeddingModel: 'slow:embedding', gatherSoftTimeoutMs: 1500, gatherHardTimeoutMs: 20_000 });
  await harness.engine.stop({ graceMs: 500 });
  harness = await startGatherEngine(database, { config, llm: testGateway(database, config, { slow: slowOfflineProvider(60) }) });
  const before = process.exitCode;
  try {
    const output = await runCommand(gatherCommand(runtimeOf(harness)), ['start', '--project', 'cli-slow', '--max-iterations', '50', '--wait']);
    const last = JSON.parse(output.trim().split('\n').at(-1)!) as { status: string; result: { status: string } };
    expect(last).toMatchObject({ status: 'completed', result: { status: 'timeout' } });
    expect(process.exitCode).toBe(1);
  } finally {
    process.exitCode = before;
  }
}, 60_000);
