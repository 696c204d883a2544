/**
 * A worker process SIGKILLed mid-department: another worker resumes the run from its last
 * completed step and finishes with the same items and counts as an uninterrupted run, with no
 * duplicate item and no LLM call repeated for a step that had completed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { aladdinDepartments, replaceProjectDepartments } from '../../src/pipelines/automated-gather/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, waitForStatus } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { slowOfflineProvider } from './fixtures/slow-offline-provider.ts';
import { gatherConfig, startGatherEngine, testGateway } from './helpers.ts';

let database: TestDatabase;
let engine: Engine;
const departments = aladdinDepartments.slice(0, 3).map((entry) => ({ ...entry }));
const tenants = ['reference', 'default'] as const;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = gatherConfig({ llmGenerationModel: 'slow:default', llmEmbeddingModel: 'slow:embedding' });
  // Maintenance on and no worker yet: this engine's supervisor notices the dead worker's lapsed heartbeat.
  ({ engine } = await startGatherEngine(database, { config, llm: testGateway(database, config, { slow: slowOfflineProvider(60) }), worker: false, maintenance: true }));
  // One project in two tenants: the prompts name the project, so the uninterrupted run and the
  // crashed one ask the offline model the same questions only for the same project id.
  for (const tenant of tenants) await replaceProjectDepartments(database.pool, tenant, 'film', { departments });
});

afterAll(async () => {
  await killChildren();
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

async function countsOf(tenant: string): Promise<Record<string, number>> {
  const rows = await database.pool.query<{ department: string; count: number }>("SELECT department, count(*)::int AS count FROM gather_items WHERE tenant = $1 AND project_id = 'film' GROUP BY department ORDER BY department", [tenant]);
  return Object.fromEntries(rows.rows.map((row) => [row.department, row.count]));
}

it('resumes after SIGKILL with identical counts, no duplicate items and no repeated LLM call for a completed step', async () => {
  const child = spawnNode('test/gather/fixtures/gather-worker.ts', [database.url, '60']);
  await child.waitForLine('ready');
  const reference = await engine.submit({ taskType: 'automated_gather_creation', tenant: 'reference', input: { project_id: 'film', max_iterations: 50, enable_auto_evaluation: false } });
  const referenceTask = await waitForStatus(engine, reference.task.id, ['completed', 'failed'], 40_000);
  expect(referenceTask.status).toBe('completed');

  const crashing = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'film', max_iterations: 50, enable_auto_evaluation: false } });
  // Kill in the middle of the second department, between or inside steps.
  await eventually(async () => {
    const done = await database.pool.query("SELECT 1 FROM task_steps WHERE task_id = $1 AND key = 'character:1:save'", [crashing.task.id]);
    return (done.rowCount ?? 0) > 0;
  }, 40_000, 5);
  child.process.kill('SIGKILL');
  await child.exited;
  const stepsAtCrash = (await database.pool.query('SELECT key FROM task_steps WHERE task_id = $1', [crashing.task.id])).rows.map((row) => row.key as string);
  expect(stepsAtCrash).toContain('character:1:save');
  expect(stepsAtCrash).not.toContain('complete');

  await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
  const resumed = await waitForStatus(engine, crashing.task.id, ['completed', 'failed'], 60_000);
  expect(resumed.error).toBeNull();
  expect(resumed.status).toBe('completed');
  expect(resumed.attempts).toBe(2);

  const expected = referenceTask.result as Record<string, any>;
  const actual = resumed.result as Record<string, any>;
  expect(actual.status).toBe('completed');
  expect(actual.iterations).toBe(expected.iterations);
  expect(actual.items_created).toBe(expected.items_created);
  expect(actual.summary).toEqual(expected.summary);
  expect(await countsOf('default')).toEqual(await countsOf('reference'));
  expect(actual.items_created).toBe(Object.values(await countsOf('default')).reduce((sum, count) => sum + count, 0));

  // Same texts as the uninterrupted run, each once.
  const texts = async (tenant: string): Promise<string[]> => (await database.pool.query<{ content_hash: string }>("SELECT content_hash FROM gather_items WHERE tenant = $1 AND project_id = 'film' ORDER BY content_hash", [tenant])).rows.map((row) => row.content_hash);
  const crashedTexts = await texts('default');
  expect(new Set(crashedTexts).size).toBe(crashedTexts.length);
  expect(crashedTexts).toEqual(await texts('reference'));

  // Successful model calls per step: one each, except the step the kill interrupted (whose call
  // may have finished before its checkpoint committed).
  const calls = await database.pool.query<{ step: string; purpose: string; calls: number }>(
    `SELECT step, purpose, count(*)::int AS calls FROM llm_calls WHERE task_id = $1 AND error IS NULL GROUP BY step, purpose`,
    [crashing.task.id],
  );
  const repeated = calls.rows.filter((row) => row.calls > 1);
  expect(repeated.length).toBeLessThanOrEqual(1);
  for (const row of repeated) expect(stepsAtCrash).not.toContain(row.step);
}, 120_000);
