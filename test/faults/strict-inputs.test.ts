/**
 * Attack by typo and by encoding: unknown fields in task data and API bodies are refused with a
 * 400 naming them (never silently dropped, which would run defaults such as 50 paid
 * iterations), seed clients' fields stay accepted, and a body declared in a non-UTF-8 charset is
 * refused with 415 rather than read as UTF-8.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { automatedGatherTaskTypes, gatherRoutes } from '../../src/pipelines/automated-gather/index.ts';
import { gatherConfig, testGateway } from '../gather/helpers.ts';
import { silentLogger, startApiHarness, type ApiHarness } from '../support/http.ts';

let api: ApiHarness;

beforeAll(async () => {
  const config = gatherConfig();
  api = await startApiHarness({
    worker: false,
    config: { llmMaxRetries: 2 },
    taskTypesFor: (database) => automatedGatherTaskTypes({ config, pool: database.pool, logger: silentLogger, llm: testGateway(database, config) }),
    routePluginsFor: (database) => [gatherRoutes({ config, pool: database.pool, logger: silentLogger, llm: testGateway(database, config) })],
  });
});

afterAll(async () => {
  await api?.close();
});

async function taskCount(): Promise<number> {
  return (await api.db.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM tasks')).rows[0]!.count;
}

it('refuses a misspelt max_iterations instead of running the default 50 iterations', async () => {
  const before = await taskCount();
  const response = await api.request('POST', '/api/v1/tasks/submit', {
    body: { task_type: 'automated_gather_creation', task_data: { project_id: 'film', max_iteration: 2 } },
  });
  expect(response.status).toBe(400);
  expect(response.body.error.code).toBe('validation_failed');
  expect(response.body.error.message).toContain('max_iteration');
  expect(await taskCount()).toBe(before);
});

it('refuses unknown fields in evaluate_department task data', async () => {
  const response = await api.request('POST', '/api/v1/tasks/submit', {
    body: { task_type: 'evaluate_department', task_data: { project_id: 'film', department_number: 1, auto_trigger: true } },
  });
  expect(response.status).toBe(400);
  expect(response.body.error.message).toContain('auto_trigger');
});

it('accepts every field the seed sends', async () => {
  const gather = await api.request('POST', '/api/v1/tasks/submit', {
    body: {
      task_type: 'automated_gather_creation',
      task_data: { project_id: '507f1f77bcf86cd799439011', user_id: 'user-123', max_iterations: 50, enable_auto_evaluation: true, webhook_url: 'https://app.aladdin.com/api/webhooks/automated-gather-progress' },
    },
  });
  expect(gather.status).toBe(202);
  const evaluation = await api.request('POST', '/api/v1/tasks/submit', {
    body: { task_type: 'evaluate_department', task_data: { project_id: '507f1f77bcf86cd799439011', department_number: 1, user_id: 'user-123', auto_triggered: true } },
  });
  expect(evaluation.status).toBe(202);
});

it('refuses unknown fields at every level of the departments PUT', async () => {
  const valid = { slug: 'story', name: 'Story', codeDepNumber: 1 };
  for (const body of [
    { departments: [{ ...valid, isActiv: false }] },
    { departments: [{ ...valid, coordinationSettings: { minQualityThreshhold: 95 } }] },
  ]) {
    const response = await api.request('PUT', '/api/v1/projects/film/departments', { body });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/isActiv|minQualityThreshhold/);
  }
  const accepted = await api.request('PUT', '/api/v1/projects/film/departments', { body: { departments: [{ ...valid, coordinationSettings: { minQualityThreshold: 90, maxRetries: 2 } }] } });
  expect(accepted.status).toBe(200);
});

it('answers 415 to a body declared in a charset other than UTF-8', async () => {
  const json = JSON.stringify({ task_type: 'automated_gather_creation', task_data: { project_id: 'filmé' } });
  const before = await taskCount();
  for (const charset of ['utf-16', 'UTF-16LE', 'iso-8859-1']) {
    const response = await fetch(`${api.url}/api/v1/tasks/submit`, {
      method: 'POST',
      headers: { 'x-api-key': api.keyA, 'content-type': `application/json; charset=${charset}` },
      body: charset.startsWith('utf') || charset.startsWith('UTF') ? Buffer.from(json, 'utf16le') : Buffer.from(json, 'latin1'),
    });
    expect(response.status).toBe(415);
    expect((await response.json()).error.code).toBe('unsupported_media_type');
  }
  expect(await taskCount()).toBe(before);
  const utf8 = await api.request('POST', '/api/v1/tasks/submit', { rawBody: json, headers: { 'content-type': 'application/json; charset="UTF-8"' } });
  expect(utf8.status).toBe(202);
});
