/**
 * Tenant isolation over every route: tenant beta can never see, cancel, stream or count
 * alpha's tasks, and alpha's task id answers beta exactly like a task that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startApiHarness, waitFor, type ApiHarness } from '../support/http.ts';

let api: ApiHarness;
let taskOfA: string;
const missing = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  api = await startApiHarness();
  const submitted = await api.request('POST', '/api/v1/tasks/submit', {
    body: { project_id: 'shared-name', task_type: 'sleep', task_data: { ms: 0 }, callback_url: 'http://127.0.0.1:9/hook' },
  });
  taskOfA = submitted.body.task_id;
  await waitFor(() => api.request('GET', `/api/v1/tasks/${taskOfA}`), (response) => response.body.status === 'completed');
});

afterAll(async () => {
  await api?.close();
});

function wsStatus(path: string, key: string): Promise<{ status: number; messages: unknown[] }> {
  return new Promise((resolve) => {
    const messages: unknown[] = [];
    const socket = new WebSocket(`${api.url.replace('http', 'ws')}${path}?api_key=${key}`);
    socket.on('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, messages });
      socket.terminate();
    });
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.on('open', () => setTimeout(() => socket.close(), 300));
    socket.on('close', () => resolve({ status: 101, messages }));
    socket.on('error', () => {});
  });
}

const routes: Array<{ name: string; method: string; path: (id: string) => string; headers?: Record<string, string> }> = [
  { name: 'read', method: 'GET', path: (id) => `/api/v1/tasks/${id}` },
  { name: 'cancel', method: 'POST', path: (id) => `/api/v1/tasks/${id}/cancel` },
  { name: 'delete', method: 'DELETE', path: (id) => `/api/v1/tasks/${id}` },
  { name: 'events as JSON', method: 'GET', path: (id) => `/api/v1/tasks/${id}/events`, headers: { accept: 'application/json' } },
  { name: 'events as SSE', method: 'GET', path: (id) => `/api/v1/tasks/${id}/events`, headers: { accept: 'text/event-stream' } },
  { name: 'webhook record', method: 'GET', path: (id) => `/api/v1/tasks/${id}/webhook` },
];

describe('tenant isolation', () => {
  it.each(routes)('$name: another tenant\'s task answers 404 like a missing one', async (route) => {
    const foreign = await api.request(route.method, route.path(taskOfA), { key: api.keyB, headers: route.headers });
    const absent = await api.request(route.method, route.path(missing), { key: api.keyB, headers: route.headers });
    expect(foreign.status).toBe(404);
    expect(absent.status).toBe(404);
    expect(JSON.parse(JSON.stringify(foreign.body).replaceAll(taskOfA, missing))).toEqual(absent.body);
    // The owner still sees it.
    const own = await api.request(route.method === 'GET' ? 'GET' : 'GET', `/api/v1/tasks/${taskOfA}`);
    expect(own.status).toBe(200);
  });

  it('the task WebSocket refuses another tenant\'s task with 404', async () => {
    expect((await wsStatus(`/ws/tasks/${taskOfA}`, api.keyB)).status).toBe(404);
    expect((await wsStatus(`/ws/tasks/${missing}`, api.keyB)).status).toBe(404);
  });

  it('the project WebSocket of a shared project name carries none of the other tenant\'s events', async () => {
    const beta = await wsStatus('/ws/projects/shared-name', api.keyB);
    expect(beta.status).toBe(101);
    expect(beta.messages).toEqual([]);
    const alpha = await wsStatus('/ws/projects/shared-name', api.keyA);
    expect(alpha.messages.length).toBeGreaterThan(0);
  });

  it('list and stats never count another tenant\'s tasks', async () => {
    const list = await api.request('GET', '/api/v1/tasks', { key: api.keyB });
    expect(list.body.tasks).toEqual([]);
    const byProject = await api.request('GET', '/api/v1/tasks?project_id=shared-name', { key: api.keyB });
    expect(byProject.body.tasks).toEqual([]);
    const stats = await api.request('GET', '/api/v1/tasks/stats', { key: api.keyB });
    expect(stats.body.total).toBe(0);
    expect(stats.body.by_type).toEqual({});
    const statsA = await api.request('GET', '/api/v1/tasks/stats', { key: api.keyA });
    expect(statsA.body.total).toBe(1);
  });

  it('cancel by another tenant changed nothing', async () => {
    const task = await api.request('GET', `/api/v1/tasks/${taskOfA}`);
    expect(task.body.status).toBe('completed');
    expect(task.body.cancel_requested_at).toBeNull();
  });

  it('each tenant has its own webhook secret', async () => {
    const alpha = await api.request('GET', '/api/v1/tenant', { key: api.keyA });
    const beta = await api.request('GET', '/api/v1/tenant', { key: api.keyB });
    expect(alpha.body.tenant).toBe('alpha');
    expect(beta.body.tenant).toBe('beta');
    expect(alpha.body.webhook_secret).not.toBe(beta.body.webhook_secret);
  });
});
