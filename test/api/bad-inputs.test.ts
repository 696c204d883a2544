/**
 * A table of bad inputs: every one answers 4xx with a stable code, and none writes anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../support/http.ts';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness({ worker: false, config: { apiBodyLimitBytes: 64 * 1024 } });
});

afterAll(async () => {
  await api?.close();
});

const submit = '/api/v1/tasks/submit';
const valid = { task_type: 'sleep', task_data: { ms: 0 } };
let nested: unknown = { leaf: true };
for (let depth = 0; depth < 100; depth += 1) nested = { nested };
const craftedCursor = Buffer.from(JSON.stringify(['2024-01-01T00:00:00Z', 'not-a-uuid'])).toString('base64url');

interface Case {
  name: string;
  method?: string;
  path?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  key?: string | null;
  status: number;
  code: string;
  /** Part of the message: what is wrong, and how to fix it. */
  message?: string;
  /** `details.location` of a validation error: which part of the request is wrong. */
  location?: string;
}

const cases: Case[] = [
  { name: 'malformed JSON', raw: '{"task_type": "sleep",', status: 400, code: 'invalid_json', message: 'JSON' },
  { name: 'JSON null', raw: 'null', status: 400, code: 'validation_failed' },
  { name: 'JSON array', body: [valid], status: 400, code: 'validation_failed' },
  { name: 'empty body', raw: '', status: 400, code: 'validation_failed' },
  { name: 'prototype poisoning', raw: '{"task_type":"sleep","__proto__":{"polluted":true}}', status: 400, code: 'invalid_json', message: 'a "__proto__" key' },
  { name: 'task_type of the wrong type', body: { task_type: 5, task_data: {} }, status: 400, code: 'validation_failed' },
  { name: 'missing task_type', body: { task_data: {} }, status: 400, code: 'validation_failed' },
  { name: 'task_data not an object', body: { task_type: 'sleep', task_data: [1, 2] }, status: 400, code: 'validation_failed' },
  { name: 'unknown top-level field', body: { ...valid, surprise: true }, status: 400, code: 'validation_failed' },
  { name: 'unknown task type', body: { task_type: 'nope', task_data: {} }, status: 400, code: 'unknown_task_type' },
  { name: 'task input out of range', body: { task_type: 'sleep', task_data: { ms: -1 } }, status: 400, code: 'validation_failed' },
  { name: 'task input unknown field', body: { task_type: 'sleep', task_data: { ms: 1, colour: 'red' } }, status: 400, code: 'validation_failed' },
  { name: 'task input number overflow', raw: '{"task_type":"sleep","task_data":{"ms":1e400}}', status: 400, code: 'validation_failed' },
  { name: 'conflicting project ids', body: { project_id: 'a', task_type: 'sleep', task_data: { project_id: 'b' } }, status: 400, code: 'validation_failed' },
  { name: 'project_id a number (the contract says string)', body: { ...valid, project_id: 123 }, status: 400, code: 'validation_failed' },
  { name: 'empty project_id', body: { ...valid, project_id: '' }, status: 400, code: 'validation_failed' },
  { name: 'huge project_id', body: { ...valid, project_id: 'x'.repeat(201) }, status: 400, code: 'validation_failed' },
  { name: 'NUL character in a string', body: { ...valid, project_id: 'a\u0000b' }, status: 400, code: 'validation_failed' },
  { name: 'NUL character in task_data', body: { task_type: 'sleep', task_data: { 'k\u0000': 1 } }, status: 400, code: 'validation_failed' },
  { name: 'unpaired surrogate', raw: '{"task_type":"sleep","project_id":"\\ud800"}', status: 400, code: 'validation_failed' },
  { name: 'nesting 100 deep', body: { task_type: 'sleep', task_data: { deep: nested } }, status: 400, code: 'validation_failed' },
  { name: 'priority too large', body: { ...valid, priority: 1e9 }, status: 400, code: 'validation_failed' },
  { name: 'fractional priority', body: { ...valid, priority: 1.5 }, status: 400, code: 'validation_failed' },
  { name: 'empty idempotency key', body: { ...valid, idempotency_key: '' }, status: 400, code: 'validation_failed' },
  { name: 'callback_url not a URL', body: { ...valid, callback_url: 'not a url' }, status: 400, code: 'validation_failed' },
  { name: 'callback_url ftp', body: { ...valid, callback_url: 'ftp://example.com/x' }, status: 400, code: 'validation_failed', message: 'callback_url: must be an http or https URL' },
  { name: 'callback_url metadata address', body: { ...valid, callback_url: 'http://169.254.169.254/latest' }, status: 400, code: 'validation_failed' },
  { name: 'callback_url private address', body: { ...valid, callback_url: 'http://10.0.0.5/hook' }, status: 400, code: 'validation_failed', message: 'set TASKLOOM_WEBHOOK_ALLOW_PRIVATE=true to allow it' },
  { name: 'callback_url with credentials', body: { ...valid, callback_url: 'http://user:pw@example.com/hook' }, status: 400, code: 'validation_failed' },
  { name: 'body over the size limit', body: { task_type: 'sleep', task_data: { padding: 'x'.repeat(100 * 1024) } }, status: 413, code: 'payload_too_large' },
  { name: 'text/plain body', raw: 'hello', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', message: 'Content-Type text/plain is not supported' },
  { name: 'text/plain body to a path no route serves', path: '/api/v1/no-such-route', raw: 'hello', headers: { 'content-type': 'text/plain' }, status: 404, code: 'route_not_found' },
  { name: 'malformed JSON, said where', raw: '{"task_type": sleep}', status: 400, code: 'invalid_json', message: 'Request body is not valid JSON: Unexpected token' },
  { name: 'no API key', body: valid, key: null, status: 401, code: 'unauthorized' },
  { name: 'unknown API key', body: valid, key: 'tlk_this-key-does-not-exist', status: 401, code: 'unauthorized' },
  { name: 'malformed bearer', body: valid, key: null, headers: { authorization: 'Bearer' }, status: 401, code: 'unauthorized' },
  { name: 'wrong method', method: 'PUT', body: valid, status: 404, code: 'route_not_found' },
  { name: 'unknown route', method: 'GET', path: '/api/v1/nothing-here', status: 404, code: 'route_not_found' },
  { name: 'plain HTTP on a WebSocket endpoint', method: 'GET', path: '/ws/projects/some-project', status: 426, code: 'upgrade_required' },
  { name: 'task id not a uuid', method: 'GET', path: '/api/v1/tasks/not-a-uuid', status: 404, code: 'not_found' },
  { name: 'task id with NUL', method: 'GET', path: '/api/v1/tasks/%00', status: 400, code: 'validation_failed' },
  { name: 'malformed %-escape in the path', method: 'GET', path: '/api/v1/tasks/%ZZ', status: 400, code: 'validation_failed' },
  { name: 'task id too long', method: 'GET', path: `/api/v1/tasks/${'a'.repeat(300)}`, status: 400, code: 'validation_failed' },
  { name: 'cancel with a bad id', method: 'POST', path: '/api/v1/tasks/123/cancel', status: 404, code: 'not_found' },
  { name: 'list limit 0', method: 'GET', path: '/api/v1/tasks?limit=0', status: 400, code: 'validation_failed' },
  { name: 'list limit not a number', method: 'GET', path: '/api/v1/tasks?limit=abc', status: 400, code: 'validation_failed' },
  { name: 'list limit too large', method: 'GET', path: '/api/v1/tasks?limit=100000', status: 400, code: 'validation_failed' },
  { name: 'list unknown status', method: 'GET', path: '/api/v1/tasks?status=finished', status: 400, code: 'validation_failed' },
  { name: 'list unknown parameter', method: 'GET', path: '/api/v1/tasks?colour=red', status: 400, code: 'validation_failed' },
  { name: 'list garbage cursor', method: 'GET', path: '/api/v1/tasks?cursor=%%%garbage', status: 400, code: 'validation_failed' },
  { name: 'list crafted cursor', method: 'GET', path: `/api/v1/tasks?cursor=${craftedCursor}`, status: 400, code: 'validation_failed', message: 'Invalid request query: cursor: ', location: 'query' },
  { name: 'list repeated parameter', method: 'GET', path: '/api/v1/tasks?limit=1&limit=2', status: 400, code: 'validation_failed' },
  { name: 'task types unknown parameter', method: 'GET', path: '/api/v1/task-types?colour=red', status: 400, code: 'validation_failed' },
  { name: 'tenant unknown parameter', method: 'GET', path: '/api/v1/tenant?zzz=1', status: 400, code: 'validation_failed' },
  { name: 'secret rotation with a body', method: 'POST', path: '/api/v1/tenant/webhook-secret/rotate', body: { secret: 'mine' }, status: 400, code: 'validation_failed' },
  { name: 'stats window 0', method: 'GET', path: '/api/v1/tasks/stats?window_hours=0', status: 400, code: 'validation_failed' },
  { name: 'events after negative', method: 'GET', path: '/api/v1/tasks/00000000-0000-4000-8000-000000000000/events?after=-1', status: 400, code: 'validation_failed' },
  { name: 'events bad Last-Event-ID', method: 'GET', path: '/api/v1/tasks/00000000-0000-4000-8000-000000000000/events', headers: { 'last-event-id': 'abc' }, status: 404, code: 'not_found' },
];

async function taskCount(): Promise<number> {
  const result = await api.db.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM tasks');
  return result.rows[0]!.count;
}

describe('bad inputs', () => {
  it.each(cases)('$name -> $status $code', async (entry) => {
    const before = await taskCount();
    const response = await api.request(entry.method ?? 'POST', entry.path ?? submit, {
      key: entry.key,
      body: entry.raw === undefined ? entry.body : undefined,
      rawBody: entry.raw,
      headers: entry.raw !== undefined ? { 'content-type': 'application/json', ...entry.headers } : entry.headers,
    });
    expect(response.status, response.text).toBe(entry.status);
    expect(response.body.error.code, response.text).toBe(entry.code);
    expect(response.body.error.message).toEqual(expect.any(String));
    if (entry.message !== undefined) expect(response.body.error.message).toContain(entry.message);
    if (entry.location !== undefined) expect(response.body.error.details.location).toBe(entry.location);
    expect(response.body.error.details).toEqual(expect.any(Object));
    expect(await taskCount()).toBe(before);
  });

  it('a body over the limit is told the limit', async () => {
    const response = await api.request('POST', submit, { body: { task_type: 'sleep', task_data: { padding: 'x'.repeat(api.config.apiBodyLimitBytes) } } });
    expect(response.status).toBe(413);
    expect(response.body.error).toMatchObject({ code: 'payload_too_large', details: { limit_bytes: api.config.apiBodyLimitBytes } });
    expect(response.body.error.message).toContain(`${api.config.apiBodyLimitBytes} bytes`);
  });

  it('unknown task type lists the valid ones', async () => {
    const response = await api.request('POST', submit, { body: { task_type: 'nope', task_data: {} } });
    expect(response.body.error.details.valid_task_types).toContain('sleep');
  });

  it('validation errors name the path inside task_data', async () => {
    const response = await api.request('POST', submit, { body: { task_type: 'sleep', task_data: { ms: 'slow' } } });
    expect(response.body.error.details.issues).toEqual([{ path: 'task_data.ms', message: expect.any(String) }]);
  });

  it('the valid request still works after all of that', async () => {
    const response = await api.request('POST', submit, { body: valid });
    expect(response.status).toBe(202);
  });
});
