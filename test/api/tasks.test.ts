import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, waitFor, type ApiHarness } from '../support/http.ts';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness();
});

afterAll(async () => {
  await api?.close();
});

describe('tasks over HTTP', () => {
  it('submits with the seed shape and reads the task until it completes', async () => {
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { project_id: 'p-1', task_type: 'sleep', task_data: { ms: 20, steps: 2 } } });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ status: 'queued', message: 'Task submitted successfully' });
    const taskId = submitted.body.task_id as string;
    const done = await waitFor(() => api.request('GET', `/api/v1/tasks/${taskId}`), (response) => response.body.status === 'completed');
    expect(done.body).toMatchObject({ id: taskId, task_type: 'sleep', project_id: 'p-1', progress: 100, attempts: 1, result: { steps: 2 } });
    expect(done.body.task_data).toEqual({ ms: 20, steps: 2, project_id: 'p-1' });
    expect(done.body.started_at).toEqual(expect.any(String));
    expect(done.body.completed_at).toEqual(expect.any(String));
  });

  it('accepts Authorization: Bearer', async () => {
    const response = await api.request('GET', '/api/v1/tasks', { key: null, headers: { authorization: `Bearer ${api.keyA}` } });
    expect(response.status).toBe(200);
  });

  it('returns the first task for a repeated idempotency key', async () => {
    const body = { task_type: 'sleep', task_data: { ms: 0 }, idempotency_key: 'once' };
    const first = await api.request('POST', '/api/v1/tasks/submit', { body });
    const second = await api.request('POST', '/api/v1/tasks/submit', { body });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body.task_id).toBe(first.body.task_id);
  });

  it('lists with filters and a cursor', async () => {
    for (let index = 0; index < 5; index += 1) {
      await api.request('POST', '/api/v1/tasks/submit', { body: { project_id: 'list-project', task_type: 'sleep', task_data: { ms: 0 } } });
    }
    const first = await api.request('GET', '/api/v1/tasks?project_id=list-project&limit=2');
    expect(first.status).toBe(200);
    expect(first.body.tasks).toHaveLength(2);
    const seen = new Set<string>(first.body.tasks.map((task: { id: string }) => task.id));
    let cursor = first.body.next_cursor as string | null;
    while (cursor) {
      const page = await api.request('GET', `/api/v1/tasks?project_id=list-project&limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      for (const task of page.body.tasks) seen.add(task.id);
      cursor = page.body.next_cursor;
    }
    expect(seen.size).toBe(5);
    const byStatus = await api.request('GET', '/api/v1/tasks?status=completed,queued,running&task_type=sleep');
    expect(byStatus.status).toBe(200);
  });

  it('refuses a cursor this server never wrote with a 400 naming the cursor, not a database error', async () => {
    const cursorOf = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of [cursorOf(['2026-01-01T00:00:00Z', 'abc']), cursorOf(['1', '0193a9b0-0000-7000-8000-000000000001']), cursorOf(['2026-02-30T00:00:00.000000Z', '0193a9b0-0000-7000-8000-000000000001']), 'not-a-cursor']) {
      const page = await api.request('GET', `/api/v1/tasks?cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(400);
      expect(page.body.error).toMatchObject({ code: 'validation_failed', details: { issues: [expect.objectContaining({ path: 'cursor' })] } });
    }
  });

  it('pages through tasks submitted together (one group commit, one created_at) without skipping any', async () => {
    const submitted = await Promise.all(Array.from({ length: 12 }, () => api.request('POST', '/api/v1/tasks/submit', { body: { project_id: 'burst-project', task_type: 'sleep', task_data: { ms: 0 } } })));
    const ids = new Set(submitted.map((response) => response.body.task_id as string));
    expect(ids.size).toBe(12);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { tasks: Array<{ id: string }>; next_cursor: string | null } } = await api.request('GET', `/api/v1/tasks?project_id=burst-project&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.tasks.map((task) => task.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(12);
    expect(new Set(seen)).toEqual(ids);
  });

  it('cancels a running task with POST and a queued one with DELETE', async () => {
    const long = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 60_000, steps: 60 } } });
    const taskId = long.body.task_id as string;
    await waitFor(() => api.request('GET', `/api/v1/tasks/${taskId}`), (response) => response.body.status === 'running');
    const cancelled = await api.request('POST', `/api/v1/tasks/${taskId}/cancel`, { headers: { 'content-type': 'application/json' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ task_id: taskId, previous_state: 'running' });
    await waitFor(() => api.request('GET', `/api/v1/tasks/${taskId}`), (response) => response.body.status === 'cancelled');
    const again = await api.request('DELETE', `/api/v1/tasks/${taskId}`);
    expect(again.body).toMatchObject({ previous_state: 'cancelled', status: 'cancelled' });
  });

  it('lists task types with their input JSON Schema', async () => {
    const response = await api.request('GET', '/api/v1/task-types');
    expect(response.status).toBe(200);
    const sleep = response.body.task_types.find((type: { type: string }) => type.type === 'sleep');
    expect(sleep).toMatchObject({ queue: 'default', hard_timeout_ms: expect.any(Number), max_attempts: expect.any(Number) });
    expect(sleep.input_schema.properties.ms.type).toBe('integer');
  });

  it('reports stats for the tenant', async () => {
    const response = await api.request('GET', '/api/v1/tasks/stats');
    expect(response.status).toBe(200);
    expect(response.body.total).toBeGreaterThan(0);
    expect(response.body.by_type.sleep.completed).toBeGreaterThan(0);
    expect(response.body.durations.by_type.sleep).toMatchObject({ count: expect.any(Number), mean_ms: expect.any(Number), p95_ms: expect.any(Number) });
    expect(response.body.queue_depth).toEqual(expect.any(Object));
    // Tasks ended per 5 minutes over the last hour, by when they ended: the tasks of this file
    // ended in the last slot or the one before, whenever they were created.
    const slots = response.body.ended_last_hour as Array<{ start: string; completed: number; failed: number; cancelled: number }>;
    expect(slots).toHaveLength(12);
    expect(Date.parse(slots[11]!.start)).toBeLessThanOrEqual(Date.now());
    expect(Date.now() - Date.parse(slots[11]!.start)).toBeLessThan(300_000);
    const ended = slots.reduce((sum, slot) => sum + slot.completed + slot.failed + slot.cancelled, 0);
    const finished = response.body.by_status.completed + response.body.by_status.failed + response.body.by_status.cancelled;
    expect(ended).toBe(finished);
    // A task created long ago that ended just now counts now.
    await api.db.pool.query("UPDATE tasks SET created_at = now() - interval '3 days' WHERE tenant = 'alpha' AND status = 'completed'");
    const again = (await api.request('GET', '/api/v1/tasks/stats')).body.ended_last_hour as typeof slots;
    expect(again.reduce((sum, slot) => sum + slot.completed, 0)).toBe(response.body.by_status.completed);
  });

  it('reports running tasks in the same scrape that sees them', async () => {
    const long = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 60_000, steps: 60 } } });
    const taskId = long.body.task_id as string;
    await waitFor(() => api.request('GET', `/api/v1/tasks/${taskId}`), (response) => response.body.status === 'running');
    const metrics = await api.request('GET', '/metrics', { key: null });
    expect(metrics.text).toMatch(/^taskloom_tasks_running\{queue="default"\} [1-9]/m);
    await api.request('POST', `/api/v1/tasks/${taskId}/cancel`);
  });

  it('serves health, readiness, metrics and OpenAPI without a key', async () => {
    expect((await api.request('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
    const ready = await api.request('GET', '/readyz', { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks.worker).toMatchObject({ ok: true, source: 'in_process' });
    const metrics = await api.request('GET', '/metrics', { key: null });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('taskloom_tasks_submitted_total{task_type="sleep"}');
    expect(metrics.text).toContain('taskloom_queue_depth');
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
    const openapi = await api.request('GET', '/openapi.json', { key: null });
    expect(openapi.status).toBe(200);
    expect(openapi.body.paths['/api/v1/tasks/submit'].post).toBeDefined();
    const docs = await api.request('GET', '/docs', { key: null });
    expect(docs.status).toBeLessThan(400);
  });
});
