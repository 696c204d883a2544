/**
 * The whole pipeline on the offline model (no key, no network): seven departments from the
 * table, items in every department, duplicates removed, quality rising to the threshold,
 * evaluations stored, the seed's events and result shape.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { aladdinDepartments, replaceProjectDepartments } from '../../src/pipelines/automated-gather/index.ts';
import { gatherEvents } from '../../src/pipelines/automated-gather/events.ts';
import { expectDeclaredPayloads } from '../support/declared-events.ts';
import { eventually, waitForStatus } from '../support/engine.ts';
import { repeatingOfflineProvider } from './fixtures/repeating-offline-provider.ts';
import { eventsOf, gatherConfig, ofType, startGatherEngine, testGateway, type GatherHarness } from './helpers.ts';

let database: TestDatabase;
let harness: GatherHarness;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = gatherConfig();
  harness = await startGatherEngine(database, { config, llm: testGateway(database, config, { repeating: repeatingOfflineProvider() }) });
});

afterAll(async () => {
  await harness?.engine.stop({ graceMs: 500 });
  await database?.drop();
});

it('gathers all seven departments in order and reaches each threshold', async () => {
  const { engine } = harness;
  const submitted = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'movie-1', user_id: 'user-123', max_iterations: 50 } });
  const task = await waitForStatus(engine, submitted.task.id, ['completed', 'failed'], 60_000);
  expect(task.error).toBeNull();
  expect(task.status).toBe('completed');
  const result = task.result as Record<string, any>;
  expect(Object.keys(result).sort()).toEqual(['departments_processed', 'items_created', 'iterations', 'llm_usage', 'processing_time_ms', 'status', 'summary']);
  expect(result.status).toBe('completed');
  expect(result.departments_processed).toBe(7);
  expect(result.summary.map((entry: { department: string }) => entry.department)).toEqual(['story', 'character', 'visual', 'image-quality', 'video', 'audio', 'production']);
  for (const entry of result.summary) {
    expect(Object.keys(entry).sort()).toEqual(['department', 'items_created', 'iterations', 'name', 'quality_score']);
    expect(entry.items_created).toBeGreaterThan(0);
    expect(entry.quality_score).toBeGreaterThanOrEqual(80);
  }
  const counts = await database.pool.query<{ department: string; count: number }>('SELECT department, count(*)::int AS count FROM gather_items WHERE project_id = $1 GROUP BY department', ['movie-1']);
  expect(counts.rows).toHaveLength(7);
  expect(counts.rows.reduce((sum, row) => sum + row.count, 0)).toBe(result.items_created);

  const events = await eventsOf(engine, submitted.task.id);
  expect(expectDeclaredPayloads(events, gatherEvents)).toEqual(new Set(['automation_started', 'department_started', 'deduplicating', 'iteration_complete', 'department_complete', 'automation_complete']));
  const types = events.map((event) => event.type);
  expect(types.filter((type) => !type.startsWith('task_') && type !== 'deduplicating' && type !== 'iteration_complete')).toEqual([
    'automation_started',
    ...Array.from({ length: 7 }, () => ['department_started', 'department_complete']).flat(),
    'automation_complete',
  ]);
  expect(ofType(events, 'deduplicating')).toHaveLength(result.iterations);
  expect(ofType(events, 'automation_started')[0]).toMatchObject({ departments_count: 7, max_iterations: 50, project_id: 'movie-1', task_id: submitted.task.id });
  expect(ofType(events, 'department_started')).toHaveLength(7);
  expect(ofType(events, 'department_complete')).toHaveLength(7);
  expect(ofType(events, 'iteration_complete')).toHaveLength(result.iterations);
  expect(ofType(events, 'automation_complete')[0]).toMatchObject({ total_iterations: result.iterations, departments_processed: 7, items_created: result.items_created });
  // Quality rises with the items within each department.
  for (const department of ['story', 'production']) {
    const scores = ofType(events, 'iteration_complete').filter((payload) => payload.department === department).map((payload) => payload.quality_score as number);
    expect(scores.length).toBeGreaterThan(1);
    expect(scores).toEqual([...scores].sort((left, right) => left - right));
    expect(scores.at(-1)).toBeGreaterThanOrEqual(80);
  }
  // Three model calls per iteration (generate, embed, quality), all recorded against the task.
  expect(result.llm_usage.calls).toBe(result.iterations * 3);
  // The result and the events name the model that answered, not only the one configured.
  expect(result.llm_usage.models).toEqual(expect.arrayContaining(['offline:default', 'offline:embedding']));
  expect(ofType(events, 'department_started').every((payload) => payload.model === 'offline:default')).toBe(true);
  // Each completed department got its evaluation, stored and readable.
  const evaluations = await eventually(async () => {
    const rows = await database.pool.query<{ department: string; rating: number }>('SELECT department, rating FROM department_evaluations WHERE project_id = $1', ['movie-1']);
    return rows.rows.length === 7 ? rows.rows : undefined;
  }, 30_000);
  expect(evaluations.every((row) => row.rating >= 0 && row.rating <= 100)).toBe(true);
}, 90_000);

it('removes the duplicates a model that repeats itself produces (offline model, department model routing)', async () => {
  const { engine } = harness;
  // The project's departments name the repeating model as their defaultModel: the gateway routes to it.
  await replaceProjectDepartments(database.pool, 'default', 'movie-2', {
    departments: aladdinDepartments.slice(0, 2).map((entry) => ({ ...entry, defaultModel: 'repeating:default' })),
  });
  const submitted = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'movie-2', enable_auto_evaluation: false } });
  const task = await waitForStatus(engine, submitted.task.id, ['completed', 'failed'], 60_000);
  expect(task.error).toBeNull();
  expect(task.status).toBe('completed');
  const result = task.result as Record<string, any>;
  const iterations = ofType(await eventsOf(engine, submitted.task.id), 'iteration_complete');
  const generated = iterations.reduce((sum, payload) => sum + (payload.items_generated as number), 0);
  const removed = iterations.reduce((sum, payload) => sum + (payload.duplicates_removed as number), 0);
  // Every batch carries a reworded copy of one of its own items; every batch after a department's
  // first a verbatim copy of an item saved before: all of them are removed.
  expect(removed).toBeGreaterThanOrEqual(2 * iterations.length - 2);
  expect(result.items_created).toBe(generated - removed);
  const stored = await database.pool.query<{ total: number; distinct: number }>("SELECT count(*)::int AS total, count(DISTINCT (department, content_hash))::int AS distinct FROM gather_items WHERE project_id = 'movie-2'");
  expect(stored.rows[0]).toEqual({ total: result.items_created, distinct: result.items_created });
  const calls = await database.pool.query<{ model: string }>("SELECT DISTINCT model FROM llm_calls WHERE task_id = $1 AND purpose = 'generation'", [submitted.task.id]);
  expect(calls.rows).toEqual([{ model: 'default' }]);
  const providers = await database.pool.query<{ provider: string }>("SELECT DISTINCT provider FROM llm_calls WHERE task_id = $1 AND purpose = 'generation'", [submitted.task.id]);
  expect(providers.rows).toEqual([{ provider: 'repeating' }]);
}, 60_000);
