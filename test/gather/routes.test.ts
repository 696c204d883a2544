/**
 * The gather routes inside the real API app (authentication, tenant scoping, validation, errors):
 * items with pagination and the department filter, departments read and replaced per project,
 * evaluations.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { replaceProjectDepartments } from '../../src/pipelines/automated-gather/index.ts';
import { departmentsUpdate } from '../../src/pipelines/automated-gather/schemas.ts';
import { buildApp, createApiKey } from '../../src/api/index.ts';
import { gatherRoutes } from '../../src/pipelines/automated-gather/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, testLogger, waitForStatus } from '../support/engine.ts';
import { startGatherEngine, type GatherHarness } from './helpers.ts';

let database: TestDatabase;
let harness: GatherHarness;
let app: FastifyInstance;
let key: string;
let otherKey: string;

beforeAll(async () => {
  database = await createTestDatabase();
  harness = await startGatherEngine(database);
  app = await buildApp({
    engine: harness.engine,
    config: harness.config,
    logger: testLogger,
    webRoot: false,
    routePlugins: [gatherRoutes({ config: harness.config, pool: database.pool, logger: testLogger, llm: harness.llm })],
  });
  key = (await createApiKey(database.pool, { tenant: 'default' })).key;
  otherKey = (await createApiKey(database.pool, { tenant: 'studio-b' })).key;
  const submitted = await harness.engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'film', max_iterations: 3 } });
  await waitForStatus(harness.engine, submitted.task.id, ['completed'], 30_000);
});

afterAll(async () => {
  await app?.close();
  await harness?.engine.stop({ graceMs: 500 });
  await database?.drop();
});

const get = (url: string, apiKey = key) => app.inject({ method: 'GET', url, headers: { 'x-api-key': apiKey } });

it('lists a project\'s items page by page, filtered by department, scoped by tenant', async () => {
  const total = (await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM gather_items WHERE project_id = 'film'")).rows[0]!.count;
  expect(total).toBeGreaterThan(10);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const response = await get(`/api/v1/projects/film/gather?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    expect(response.statusCode).toBe(200);
    const body = response.json() as { items: Array<Record<string, unknown>>; next_cursor: string | null };
    seen.push(...body.items.map((item) => item.id as string));
    cursor = body.next_cursor;
  } while (cursor);
  expect(seen).toHaveLength(total);
  expect(new Set(seen).size).toBe(total);

  const story = (await get('/api/v1/projects/film/gather?department=story&limit=500')).json() as { items: Array<Record<string, any>> };
  expect(story.items.length).toBeGreaterThan(0);
  expect(story.items.every((item) => item.department === 'story')).toBe(true);
  expect(Object.keys(story.items[0]!).sort()).toEqual(['automationMetadata', 'content', 'contentHash', 'context', 'createdAt', 'createdBy', 'department', 'duplicateCheckScore', 'id', 'isAutomated', 'lastUpdated', 'projectId', 'summary'].sort());
  expect(story.items[0]!.automationMetadata).toMatchObject({ department: 'story', departmentName: 'Story Department', departmentNumber: 1, iteration: 1 });

  // Another tenant sees nothing of it; no key, no access; bad input answers validation_failed.
  expect((await get('/api/v1/projects/film/gather', otherKey)).json()).toMatchObject({ items: [], next_cursor: null });
  expect((await app.inject({ method: 'GET', url: '/api/v1/projects/film/gather' })).statusCode).toBe(401);
  const invalid = await get('/api/v1/projects/film/gather?limit=0');
  expect(invalid.statusCode).toBe(400);
  expect(invalid.json()).toMatchObject({ error: { code: 'validation_failed' } });
  expect((await get('/api/v1/projects/film/gather?cursor=not-a-cursor')).statusCode).toBe(400);
  // Cursors that decode but hold what no page wrote: a date JavaScript reads ("1"), an id that is no uuid.
  for (const held of [['1', story.items[0]!.id], ['2026-12-05T10:00:00.000000Z', 'not-a-uuid'], ['2026-13-45T10:00:00.000000Z', story.items[0]!.id], ['2026-02-30T10:00:00.000000Z', story.items[0]!.id]]) {
    const refused = await get(`/api/v1/projects/film/gather?cursor=${Buffer.from(JSON.stringify(held)).toString('base64url')}`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ error: { code: 'validation_failed', details: { issues: [{ path: 'cursor' }] } } });
  }
});

it('reads the tenant default departments and replaces one project\'s list', async () => {
  const defaults = (await get('/api/v1/projects/film/departments')).json() as { source: string; departments: Array<Record<string, any>> };
  expect(defaults.source).toBe('tenant');
  expect(defaults.departments.map((entry) => [entry.codeDepNumber, entry.slug])).toEqual([[1, 'story'], [2, 'character'], [3, 'visual'], [4, 'image-quality'], [5, 'video'], [6, 'audio'], [7, 'production']]);
  expect(defaults.departments[0]).toMatchObject({ gatherCheck: true, isActive: true, defaultModel: 'anthropic/claude-sonnet-4.5', coordinationSettings: { minQualityThreshold: 80, maxRetries: 3 } });

  // A new tenant receives the same seven on first read.
  const other = (await get('/api/v1/projects/x/departments', otherKey)).json() as { departments: unknown[] };
  expect(other.departments).toHaveLength(7);

  const replaced = await app.inject({
    method: 'PUT',
    url: '/api/v1/projects/short-film/departments',
    headers: { 'x-api-key': key },
    payload: { departments: [
      { slug: 'story', name: 'Story', description: 'Plot.', codeDepNumber: 1, defaultModel: null, coordinationSettings: { minQualityThreshold: 70, maxRetries: 1 } },
      { slug: 'audio', name: 'Audio', description: 'Sound.', codeDepNumber: 2, isActive: false },
    ] },
  });
  expect(replaced.statusCode).toBe(200);
  expect((replaced.json() as { source: string }).source).toBe('project');
  const read = (await get('/api/v1/projects/short-film/departments')).json() as { source: string; departments: Array<Record<string, any>> };
  expect(read.departments.map((entry) => [entry.slug, entry.isActive, entry.coordinationSettings.minQualityThreshold])).toEqual([['story', true, 70], ['audio', false, 80]]);
  // Other projects keep the defaults.
  expect(((await get('/api/v1/projects/film/departments')).json() as { source: string }).source).toBe('tenant');

  const duplicate = await app.inject({ method: 'PUT', url: '/api/v1/projects/short-film/departments', headers: { 'x-api-key': key }, payload: { departments: [{ slug: 'a', name: 'A', codeDepNumber: 1 }, { slug: 'a', name: 'B', codeDepNumber: 2 }] } });
  expect(duplicate.statusCode).toBe(400);
  const badSlug = await app.inject({ method: 'PUT', url: '/api/v1/projects/short-film/departments', headers: { 'x-api-key': key }, payload: { departments: [{ slug: 'Bad Slug', name: 'A', codeDepNumber: 1 }] } });
  expect(badSlug.statusCode).toBe(400);
  // Two departments with one number: the cascade's order and an evaluation by number are ambiguous.
  const sameNumber = await app.inject({ method: 'PUT', url: '/api/v1/projects/short-film/departments', headers: { 'x-api-key': key }, payload: { departments: [{ slug: 'a', name: 'A', codeDepNumber: 3 }, { slug: 'b', name: 'B', codeDepNumber: 3 }] } });
  expect(sameNumber.statusCode).toBe(400);
  expect((sameNumber.json() as { error: { details: { issues: Array<{ path: string }> } } }).error.details.issues).toEqual([expect.objectContaining({ path: 'departments.1.codeDepNumber' })]);
  // A model whose provider has no key here would fail the run at that department: refused now.
  const noProvider = await app.inject({ method: 'PUT', url: '/api/v1/projects/short-film/departments', headers: { 'x-api-key': key }, payload: { departments: [{ slug: 'a', name: 'A', codeDepNumber: 1 }, { slug: 'b', name: 'B', codeDepNumber: 2, defaultModel: 'google:gemini-2.5-pro' }] } });
  expect(noProvider.statusCode).toBe(400);
  const refusal = (noProvider.json() as { error: { details: { issues: Array<{ path: string; message: string }> } } }).error.details.issues;
  expect(refusal).toEqual([{ path: 'departments.1.defaultModel', message: expect.stringContaining('needs provider "google", which is not configured') }]);
  // A blank model is no model: refused, where it was stored as "  " and failed the run.
  const blank = await app.inject({ method: 'PUT', url: '/api/v1/projects/short-film/departments', headers: { 'x-api-key': key }, payload: { departments: [{ slug: 'a', name: 'A', codeDepNumber: 1, defaultModel: '  ' }] } });
  expect(blank.statusCode).toBe(400);
  expect((blank.json() as { error: { details: { issues: Array<{ path: string }> } } }).error.details.issues).toEqual([expect.objectContaining({ path: 'departments.0.defaultModel' })]);

  // A gather of that project uses its own list: only the active department.
  const submitted = await harness.engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'short-film', max_iterations: 2, enable_auto_evaluation: false } });
  const task = await waitForStatus(harness.engine, submitted.task.id, ['completed', 'failed'], 30_000);
  expect((task.result as { summary: Array<{ department: string }> }).summary.map((entry) => entry.department)).toEqual(['story']);

  // A list written without the route's check (an earlier version, the table by hand): the run
  // fails before its first department, naming the model, and calls no model.
  await replaceProjectDepartments(database.pool, 'default', 'bad-model', departmentsUpdate.parse({ departments: [
    { slug: 'story', name: 'Story', description: 'Plot.', codeDepNumber: 1, defaultModel: null },
    { slug: 'music', name: 'Music', description: 'Score.', codeDepNumber: 2, defaultModel: 'google:gemini-2.5-pro' },
  ] }));
  const refused = await harness.engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'bad-model', max_iterations: 2, enable_auto_evaluation: false } });
  const failed = await waitForStatus(harness.engine, refused.task.id, ['completed', 'failed'], 30_000);
  expect(failed.status).toBe('failed');
  expect((failed.error as { message: string }).message).toContain('music: Model "google:gemini-2.5-pro" needs provider "google"');
  expect(failed.attempts).toBe(1);
  const started = (await harness.engine.readEvents({ taskId: failed.id })).filter((event) => event.type === 'department_started');
  expect(started).toEqual([]);
  const calls = await database.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM llm_calls WHERE task_id = $1', [failed.id]);
  expect(calls.rows[0]!.count).toBe(0);
});

it('refuses a supervisor\'s department list and keeps the one in place', async () => {
  const supervisor = (await createApiKey(database.pool, { tenant: 'default', role: 'supervisor' })).key;
  const before = (await get('/api/v1/projects/role-film/departments', supervisor)).json() as { departments: unknown[] };
  const refused = await app.inject({
    method: 'PUT',
    url: '/api/v1/projects/role-film/departments',
    headers: { 'x-api-key': supervisor },
    payload: { departments: [{ slug: 'story', name: 'Story', description: 'Plot.', codeDepNumber: 1 }] },
  });
  expect(refused.statusCode).toBe(403);
  expect(refused.json()).toMatchObject({ error: { code: 'forbidden', details: { role: 'supervisor', required_roles: ['marketer'] } } });
  const after = (await get('/api/v1/projects/role-film/departments', supervisor)).json() as { source: string; departments: unknown[] };
  expect(after.source).toBe('tenant');
  expect(after.departments).toEqual(before.departments);
});

it('lists evaluations newest first, per department', async () => {
  const evaluations = await eventually(async () => {
    const body = (await get('/api/v1/projects/film/evaluations')).json() as { evaluations: Array<Record<string, any>> };
    return body.evaluations.length > 0 ? body.evaluations : undefined;
  }, 20_000);
  expect(evaluations[0]).toMatchObject({ projectId: 'film', autoTriggered: true });
  expect(typeof evaluations[0]!.rating).toBe('number');
  const filtered = (await get(`/api/v1/projects/film/evaluations?department=${evaluations[0]!.department}`)).json() as { evaluations: Array<Record<string, any>> };
  expect(filtered.evaluations.every((entry) => entry.department === evaluations[0]!.department)).toBe(true);
  expect(((await get('/api/v1/projects/film/evaluations', otherKey)).json() as { evaluations: unknown[] }).evaluations).toEqual([]);
});
