/**
 * Waitpoints over HTTP: listing, completing (schema-checked, once, tenant-scoped), single-use
 * tokens without a key, and a task's children.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../support/http.ts';
import { waitForTask } from '../support/engine.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness({ taskTypes: testTaskTypes });
  await createSideEffectTables(api.db.pool);
});

afterAll(async () => {
  await api?.close();
});

async function waitingApproval(key = api.keyA): Promise<{ taskId: string; waitpointId: string }> {
  const submitted = await api.request('POST', '/api/v1/tasks/submit', { key, body: { task_type: 'test_approval', task_data: {}, project_id: 'launch' } });
  expect(submitted.status).toBe(202);
  await waitForTask(api.engine, submitted.body.task_id, ['waiting']);
  const listed = await api.request('GET', `/api/v1/waitpoints?status=pending&task_id=${submitted.body.task_id}`, { key });
  expect(listed.status).toBe(200);
  expect(listed.body.waitpoints).toHaveLength(1);
  return { taskId: submitted.body.task_id, waitpointId: listed.body.waitpoints[0].id };
}

it('completes a waitpoint once; a second completion is 409 with the first outcome', async () => {
  const { taskId, waitpointId } = await waitingApproval();
  const task = await api.request('GET', `/api/v1/tasks/${taskId}`);
  expect(task.body.status).toBe('waiting');
  const read = await api.request('GET', `/api/v1/waitpoints/${waitpointId}`);
  expect(read.body).toMatchObject({ id: waitpointId, task_id: taskId, project_id: 'launch', key: 'approval', kind: 'input', status: 'pending' });

  const first = await api.request('POST', `/api/v1/waitpoints/${waitpointId}/complete`, { body: { payload: { approved: true } } });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ status: 'completed', payload: { approved: true } });
  expect(first.body.completed_by).toMatch(/^api_key:/);
  const second = await api.request('POST', `/api/v1/waitpoints/${waitpointId}/complete`, { body: { payload: { approved: false } } });
  expect(second.status).toBe(409);
  expect(second.body.error).toMatchObject({ code: 'waitpoint_resolved', details: { status: 'completed', payload: { approved: true } } });
  const done = await waitForTask(api.engine, taskId, ['completed', 'failed']);
  expect((done.result as { payload: unknown }).payload).toEqual({ approved: true });
});

it('answers 400 with each problem for a bad payload, 404 for unknown ids and other tenants, and changes nothing', async () => {
  const { taskId, waitpointId } = await waitingApproval();
  const bad = await api.request('POST', `/api/v1/waitpoints/${waitpointId}/complete`, { body: { payload: { approved: 'yes', colour: 'red' } } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('validation_failed');
  expect(bad.body.error.details.issues.length).toBeGreaterThanOrEqual(1);
  const unknownField = await api.request('POST', `/api/v1/waitpoints/${waitpointId}/complete`, { body: { payload: { approved: true }, approve: true } });
  expect(unknownField.status).toBe(400);
  expect((await api.request('POST', '/api/v1/waitpoints/3b1f0c7e-0000-4000-8000-000000000000/complete', { body: { payload: {} } })).status).toBe(404);
  expect((await api.request('POST', '/api/v1/waitpoints/not-a-uuid/complete', { body: { payload: {} } })).status).toBe(404);
  expect((await api.request('POST', `/api/v1/waitpoints/${waitpointId}/complete`, { key: api.keyB, body: { payload: { approved: true } } })).status).toBe(404);
  expect((await api.request('GET', `/api/v1/waitpoints/${waitpointId}`, { key: api.keyB })).status).toBe(404);
  expect((await api.request('GET', `/api/v1/waitpoints?task_id=${taskId}`, { key: api.keyB })).body.waitpoints).toEqual([]);
  expect((await api.request('GET', `/api/v1/waitpoints/${waitpointId}`)).body.status).toBe('pending');
  expect((await api.request('GET', `/api/v1/tasks/${taskId}`)).body.status).toBe('waiting');
  expect((await api.request('POST', `/api/v1/tasks/${taskId}/cancel`)).body.status).toBe('cancelled');
});

it('completes with a single-use token and no API key', async () => {
  const { taskId, waitpointId } = await waitingApproval();
  const minted = await api.request('POST', `/api/v1/waitpoints/${waitpointId}/token`);
  expect(minted.status).toBe(200);
  const token = minted.body.token as string;
  const stored = await api.db.pool.query<{ token_hash: string }>('SELECT token_hash FROM waitpoints WHERE id = $1', [waitpointId]);
  expect(stored.rows[0]!.token_hash).not.toContain(token);
  expect((await api.request('POST', '/api/v1/waitpoints/complete-with-token', { key: null, body: { token: `${token}x`, payload: { approved: true } } })).status).toBe(404);
  const used = await api.request('POST', '/api/v1/waitpoints/complete-with-token', { key: null, body: { token, payload: { approved: true, note: 'from the email' } } });
  expect(used.status).toBe(200);
  expect(used.body.completed_by).toBe('token');
  const again = await api.request('POST', '/api/v1/waitpoints/complete-with-token', { key: null, body: { token, payload: { approved: false } } });
  expect(again.status).toBe(404);
  // A used token is told what it may be and what to do, not "token given was not found".
  expect(again.body.error.message).toContain('it was used already, replaced by a newer token');
  expect(again.body.error.details).toEqual({});
  expect((await waitForTask(api.engine, taskId, ['completed'])).status).toBe('completed');
});

it('lists a task\'s children with their parent', async () => {
  const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'test_fan_out', task_data: { count: 3 } } });
  await waitForTask(api.engine, submitted.body.task_id, ['completed']);
  const children = await api.request('GET', `/api/v1/tasks/${submitted.body.task_id}/children`);
  expect(children.status).toBe(200);
  expect(children.body.children).toHaveLength(3);
  expect(children.body.children.every((child: { parent_task_id: string }) => child.parent_task_id === submitted.body.task_id)).toBe(true);
  expect(children.body).toMatchObject({ total: 3, settled: 3, truncated: false });
  expect((await api.request('GET', `/api/v1/tasks/${submitted.body.task_id}/children`, { key: api.keyB })).status).toBe(404);

  // A fan-out wider than the list: the counts are of all of them, and the answer says it is cut.
  // The extra children are copies of a real one (1,000 tasks through the engine would add nothing here).
  await api.db.pool.query(
    `INSERT INTO tasks SELECT (jsonb_populate_record(null::tasks, to_jsonb(child) || jsonb_build_object('id', gen_random_uuid(), 'idempotency_key', null, 'status', 'queued'))).*
     FROM tasks child, generate_series(1, 1000) WHERE child.id = $1`,
    [children.body.children[0].task_id],
  );
  const wide = await api.request('GET', `/api/v1/tasks/${submitted.body.task_id}/children`);
  expect(wide.body.children).toHaveLength(1000);
  expect(wide.body).toMatchObject({ total: 1003, settled: 3, truncated: true });
});
