/**
 * taskloom's departments table as a gather's source: two replacements of one project's list at
 * once leave one list or the other, never a mix, and a read of the table that fails (the
 * database's error, not Payload's) is retried like any other attempt instead of failing the run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { aladdinDepartments, listTableDepartments, replaceProjectDepartments } from '../../src/pipelines/automated-gather/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitForStatus } from '../support/engine.ts';
import { eventsOf, ofType, startGatherEngine, type GatherHarness } from './helpers.ts';

let database: TestDatabase;
let harness: GatherHarness;
/** Reads of the table that fail before the real source answers. */
let failingReads = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  // The pipeline's pool, whose reads of the departments table fail while the test asks for it:
  // a connection lost in the middle of the plan step.
  const pool = new Proxy(database.pool, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (...parameters: Parameters<TestDatabase['pool']['query']>) => {
        const text = typeof parameters[0] === 'string' ? parameters[0] : String((parameters[0] as { text?: string }).text);
        if (failingReads > 0 && text.includes('FROM departments')) {
          failingReads -= 1;
          return Promise.reject(new Error('Connection terminated unexpectedly'));
        }
        return (target.query as (...values: unknown[]) => unknown).apply(target, parameters);
      };
    },
  });
  harness = await startGatherEngine(database, { services: { pool } });
});

afterAll(async () => {
  await harness?.engine.stop({ graceMs: 500 });
  await database?.drop();
});

it('leaves one list or the other when two replacements of a project\'s departments race, never a mix', async () => {
  const [story, character, visual] = aladdinDepartments;
  const first = { departments: [{ ...story!, name: 'First Story' }, { ...character!, name: 'First Character' }] };
  const second = { departments: [{ ...story!, name: 'Second Story' }, { ...visual!, name: 'Second Visual' }] };
  const listOf = (update: typeof first): string[] => update.departments.map((entry) => `${entry.slug}=${entry.name}`).sort();
  for (let round = 0; round < 20; round += 1) {
    const projectId = `race-${round}`;
    await Promise.all([replaceProjectDepartments(database.pool, 'default', projectId, first), replaceProjectDepartments(database.pool, 'default', projectId, second)]);
    const stored = (await listTableDepartments(database.pool, 'default', projectId)).departments.map((entry) => `${entry.slug}=${entry.name}`).sort();
    expect([listOf(first), listOf(second)]).toContainEqual(stored);
  }
});

it('retries a run whose read of the departments table failed, without blaming Payload', async () => {
  failingReads = 1;
  const submitted = await harness.engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'table-read-fails', max_iterations: 1, enable_auto_evaluation: false } });
  const task = await waitForStatus(harness.engine, submitted.task.id, ['completed', 'failed'], 40_000);
  expect(task.status, JSON.stringify(task.error)).toBe('completed');
  const events = await eventsOf(harness.engine, submitted.task.id);
  // A lost connection hands the attempt back without spending it, and the run starts again.
  expect(ofType(events, 'task_started')).toHaveLength(2);
  const errors = ofType(events, 'automation_error');
  expect(errors).toEqual([expect.objectContaining({ will_retry: true })]);
  expect(JSON.stringify(errors)).not.toContain('Payload');
});
