/**
 * API key roles on the generic routes: a supervisor's key reads, but starts no task, cancels none
 * and neither reads nor rotates the tenant's webhook secret; a marketer's starts and cancels
 * tasks; only an admin's sees or rotates the secret. A refusal changes nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.ts';
import { startApiHarness, type ApiHarness } from '../support/http.ts';

let api: ApiHarness;
let supervisor: string;
let marketer: string;

beforeAll(async () => {
  api = await startApiHarness();
  supervisor = (await createApiKey(api.db.pool, { tenant: 'alpha', role: 'supervisor' })).key;
  marketer = (await createApiKey(api.db.pool, { tenant: 'alpha', role: 'marketer' })).key;
});

afterAll(async () => {
  await api?.close();
});

const taskCount = async (): Promise<number> => (await api.db.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM tasks WHERE tenant = 'alpha'")).rows[0]!.count;

it('lets a supervisor read but not start or cancel tasks', async () => {
  const before = await taskCount();
  const refused = await api.request('POST', '/api/v1/tasks/submit', { key: supervisor, body: { task_type: 'sleep', task_data: { ms: 10_000 } } });
  expect(refused.status).toBe(403);
  expect(refused.body.error).toMatchObject({ code: 'forbidden', details: { role: 'supervisor', required_roles: ['marketer'] } });
  expect(await taskCount()).toBe(before);

  const started = await api.request('POST', '/api/v1/tasks/submit', { key: marketer, body: { task_type: 'sleep', task_data: { ms: 10_000 } } });
  expect(started.status).toBe(202);
  const taskId = started.body.task_id as string;
  expect((await api.request('GET', `/api/v1/tasks/${taskId}`, { key: supervisor })).status).toBe(200);
  for (const [method, path] of [['POST', `/api/v1/tasks/${taskId}/cancel`], ['DELETE', `/api/v1/tasks/${taskId}`]] as const) {
    expect((await api.request(method, path, { key: supervisor })).status).toBe(403);
  }
  expect((await api.request('GET', `/api/v1/tasks/${taskId}`, { key: supervisor })).body.status).not.toBe('cancelled');
  expect((await api.request('POST', `/api/v1/tasks/${taskId}/cancel`, { key: marketer })).status).toBe(200);
});

it('shows and rotates the webhook secret to an admin only', async () => {
  const admin = await api.request('GET', '/api/v1/tenant');
  expect(admin.body).toMatchObject({ role: 'admin', webhook_secret: expect.any(String) });
  for (const key of [supervisor, marketer]) {
    const read = await api.request('GET', '/api/v1/tenant', { key });
    expect(read.status).toBe(200);
    expect(read.body.tenant).toBe('alpha');
    expect(read.body).not.toHaveProperty('webhook_secret');
    const rotate = await api.request('POST', '/api/v1/tenant/webhook-secret/rotate', { key });
    expect(rotate.status).toBe(403);
    expect(rotate.body.error.message).toMatch(/needs an "admin" key\.$/);
    expect(rotate.body.error.details.required_roles).toEqual(['admin']);
  }
  // Unchanged by the refusals.
  expect((await api.request('GET', '/api/v1/tenant')).body.webhook_secret).toBe(admin.body.webhook_secret);
  expect((await api.request('POST', '/api/v1/tenant/webhook-secret/rotate')).status).toBe(200);
});
