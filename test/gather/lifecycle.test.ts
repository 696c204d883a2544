/**
 * Cancel, soft timeout and one-run-per-project, on the offline models behind a small delay so a
 * run lasts long enough to interrupt.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConcurrencyConflictError } from '../../src/errors.ts';
import { replaceProjectDepartments, aladdinDepartments } from '../../src/pipelines/automated-gather/index.ts';
import { gatherEvents } from '../../src/pipelines/automated-gather/events.ts';
import { expectDeclaredPayloads } from '../support/declared-events.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, waitForStatus } from '../support/engine.ts';
import { slowOfflineProvider } from './fixtures/slow-offline-provider.ts';
import { eventsOf, gatherConfig, ofType, startGatherEngine, testGateway, type GatherHarness } from './helpers.ts';

let database: TestDatabase;
let harness: GatherHarness;
let timeoutHarness: GatherHarness;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = gatherConfig({ llmGenerationModel: 'slow:default', llmEmbeddingModel: 'slow:embedding' });
  harness = await startGatherEngine(database, { config, llm: testGateway(database, config, { slow: slowOfflineProvider(40) }) });
});

afterAll(async () => {
  await timeoutHarness?.engine.stop({ graceMs: 500 });
  await harness?.engine.stop({ graceMs: 500 });
  await database?.drop();
});

async function itemCount(projectId: string): Promise<number> {
  return (await database.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM gather_items WHERE project_id = $1', [projectId])).rows[0]!.count;
}

it('a second submit for the same project while one is active answers a conflict with the running task id', async () => {
  const { engine } = harness;
  const first = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'conflict', max_iterations: 2 } });
  const attempts = await Promise.allSettled(Array.from({ length: 5 }, () => engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'conflict', max_iterations: 2 } })));
  for (const attempt of attempts) {
    expect(attempt.status).toBe('rejected');
    const error = (attempt as PromiseRejectedResult).reason as ConcurrencyConflictError;
    expect(error).toBeInstanceOf(ConcurrencyConflictError);
    expect(error.httpStatus).toBe(409);
    expect(error.details.running_task_id).toBe(first.task.id);
  }
  // Another project is not blocked.
  const other = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'conflict-other', max_iterations: 1 } });
  await waitForStatus(engine, first.task.id, ['completed', 'failed'], 30_000);
  await waitForStatus(engine, other.task.id, ['completed', 'failed'], 30_000);
  // Once the first has finished, the project accepts a new run.
  const again = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'conflict', max_iterations: 1 } });
  expect((await waitForStatus(engine, again.task.id, ['completed', 'failed'], 30_000)).status).toBe('completed');
}, 60_000);

it('cancel mid-run stops, emits automation_cancelled and keeps the partial results', async () => {
  const { engine } = harness;
  const submitted = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'cancel-me', max_iterations: 50 } });
  await eventually(async () => ofType(await eventsOf(engine, submitted.task.id), 'department_complete').length >= 1, 30_000);
  await engine.cancel(submitted.task.id);
  const task = await waitForStatus(engine, submitted.task.id, ['cancelled', 'completed', 'failed'], 30_000);
  expect(task.status).toBe('cancelled');
  const result = task.result as Record<string, any>;
  expect(result.status).toBe('cancelled');
  expect(result.departments_processed).toBeGreaterThanOrEqual(1);
  expect(result.departments_processed).toBeLessThan(7);
  expect(result.items_created).toBeGreaterThan(0);
  expect(result.items_created).toBe(await itemCount('cancel-me'));
  const cancelled = ofType(await eventsOf(engine, submitted.task.id), 'automation_cancelled');
  expect(cancelled).toHaveLength(1);
  expect(cancelled[0]).toMatchObject({ items_created_so_far: result.items_created, project_id: 'cancel-me', task_id: submitted.task.id });
  expect(ofType(await eventsOf(engine, submitted.task.id), 'automation_complete')).toHaveLength(0);
  expect(expectDeclaredPayloads(await eventsOf(engine, submitted.task.id), gatherEvents)).toContain('automation_cancelled');
}, 60_000);

it('at the soft timeout the run stops after its last saved step and returns status timeout', async () => {
  const config = gatherConfig({ llmGenerationModel: 'slow:default', llmEmbeddingModel: 'slow:embedding', gatherSoftTimeoutMs: 1500, gatherHardTimeoutMs: 20_000 });
  // A second engine on the same database with its own timeouts; it alone runs this project's task
  // because the first engine's worker is stopped first.
  await harness.engine.stop({ graceMs: 500 });
  timeoutHarness = await startGatherEngine(database, { config, llm: testGateway(database, config, { slow: slowOfflineProvider(60) }) });
  const { engine } = timeoutHarness;
  await replaceProjectDepartments(database.pool, 'default', 'slow-project', { departments: aladdinDepartments.map((entry) => ({ ...entry })) });
  const submitted = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'slow-project', max_iterations: 50 } });
  const task = await waitForStatus(engine, submitted.task.id, ['completed', 'failed', 'cancelled'], 30_000);
  expect(task.status).toBe('completed');
  const result = task.result as Record<string, any>;
  expect(result.status).toBe('timeout');
  expect(result.items_created).toBe(await itemCount('slow-project'));
  expect(result.items_created).toBeGreaterThan(0);
  expect(result.processing_time_ms).toBeGreaterThanOrEqual(1400);
  const events = await eventsOf(engine, submitted.task.id);
  expect(ofType(events, 'automation_timeout')).toHaveLength(1);
  expect(ofType(events, 'automation_timeout')[0]).toMatchObject({ items_created: result.items_created, iterations: result.iterations });
  expect(ofType(events, 'automation_complete')).toHaveLength(0);
  expect(expectDeclaredPayloads(events, gatherEvents)).toContain('automation_timeout');
}, 60_000);
