import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { withTransaction } from '../../src/db/pool.ts';
import { appendEvents } from '../../src/engine/event-log.ts';
import { openSse, startApiHarness, waitFor, type ApiHarness, type SseMessage } from '../support/http.ts';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness();
});

afterAll(async () => {
  await api?.close();
});

async function storedEvents(taskId: string): Promise<Array<{ id: number; type: string }>> {
  const response = await api.request('GET', `/api/v1/tasks/${taskId}/events`, { headers: { accept: 'application/json' } });
  expect(response.status).toBe(200);
  return response.body.events;
}

function wsUrl(path: string, key: string): string {
  return `${api.url.replace('http', 'ws')}${path}${path.includes('?') ? '&' : '?'}api_key=${key}`;
}

function collect(socket: WebSocket): { messages: any[]; closed: Promise<{ code: number; reason: string }> } {
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  return { messages, closed };
}

describe('SSE', () => {
  it('resumes with Last-Event-ID after a dropped connection and loses nothing', async () => {
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 1200, steps: 12 } } });
    const taskId = submitted.body.task_id as string;
    const url = `${api.url}/api/v1/tasks/${taskId}/events`;
    const first = await openSse(url, { 'x-api-key': api.keyA });
    expect(first.status).toBe(200);
    const received: SseMessage[] = [];
    while (received.length < 4) received.push((await first.next())!);
    first.close();
    // Events keep coming while nobody listens.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await openSse(url, { 'x-api-key': api.keyA, 'last-event-id': String(received.at(-1)!.id) });
    for (;;) {
      const message = await second.next();
      if (!message) break;
      received.push(message);
    }
    second.close();
    const stored = await storedEvents(taskId);
    expect(received.map((message) => message.id)).toEqual(stored.map((event) => event.id));
    expect(received.at(-1)!.data.type).toBe('task_completed');
    expect(received[0]!.data).toMatchObject({ task_id: taskId, type: 'task_queued' });
    // Finished and nothing after the cursor: 204 stops EventSource from reconnecting.
    const after = await fetch(url, { headers: { 'x-api-key': api.keyA, 'last-event-id': String(stored.at(-1)!.id) } });
    expect(after.status).toBe(204);
  });

  it('honours ?after= and the api_key query parameter', async () => {
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 0 } } });
    const taskId = submitted.body.task_id as string;
    await waitFor(() => api.request('GET', `/api/v1/tasks/${taskId}`), (response) => response.body.status === 'completed');
    const stored = await storedEvents(taskId);
    const stream = await openSse(`${api.url}/api/v1/tasks/${taskId}/events?after=${stored[0]!.id}&api_key=${api.keyA}`);
    const ids: number[] = [];
    for (;;) {
      const message = await stream.next();
      if (!message) break;
      ids.push(message.id);
    }
    expect(ids).toEqual(stored.slice(1).map((event) => event.id));
  });
});

describe('WebSocket', () => {
  it('streams every event of a project\'s tasks, in order, and only the tenant\'s own', async () => {
    const project = 'ws-project';
    const socketA = new WebSocket(wsUrl(`/ws/projects/${project}`, api.keyA));
    const socketB = new WebSocket(wsUrl(`/ws/projects/${project}`, api.keyB));
    const a = collect(socketA);
    const b = collect(socketB);
    await Promise.all([new Promise((resolve) => socketA.once('open', resolve)), new Promise((resolve) => socketB.once('open', resolve))]);
    const ids: string[] = [];
    for (let index = 0; index < 2; index += 1) {
      const response = await api.request('POST', '/api/v1/tasks/submit', { body: { project_id: project, task_type: 'sleep', task_data: { ms: 50, steps: 2 } } });
      ids.push(response.body.task_id);
    }
    await waitFor(async () => a.messages.filter((message) => message.type === 'task_completed').length, (count) => count === 2);
    const stored = (await Promise.all(ids.map(storedEvents))).flat().map((event) => event.id).sort((left, right) => left - right);
    expect(a.messages.map((message) => message.id)).toEqual(stored);
    expect(new Set(a.messages.map((message) => message.task_id))).toEqual(new Set(ids));
    expect(b.messages).toEqual([]);
    socketA.close();
    socketB.close();
    await Promise.all([a.closed, b.closed]);
  });

  it('streams one task and closes after its terminal event; resumes with ?after=', async () => {
    const response = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 60, steps: 3 } } });
    const taskId = response.body.task_id as string;
    const socket = new WebSocket(wsUrl(`/ws/tasks/${taskId}`, api.keyA));
    const stream = collect(socket);
    const closed = await stream.closed;
    expect(closed).toEqual({ code: 1000, reason: 'task finished' });
    const stored = await storedEvents(taskId);
    expect(stream.messages.map((message) => message.id)).toEqual(stored.map((event) => event.id));
    const resumed = new WebSocket(wsUrl(`/ws/tasks/${taskId}?after=${stored[1]!.id}`, api.keyA));
    const rest = collect(resumed);
    await rest.closed;
    expect(rest.messages.map((message) => message.id)).toEqual(stored.slice(2).map((event) => event.id));
  });

  it('ends a finished task\'s stream once what is stored is sent, also when its log goes on after its terminal event', async () => {
    const response = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 20, steps: 1 } } });
    const taskId = response.body.task_id as string;
    await waitFor(() => storedEvents(taskId), (events) => events.some((event) => event.type === 'task_completed'));
    // A decision on what the task made, recorded in its log after it ended (content approvals do).
    await withTransaction(api.db.pool, (transaction) => appendEvents(transaction, [{ taskId, tenant: 'alpha', projectId: null, type: 'approval_decided', payload: { decision: 'approved' } }]));
    const stored = await storedEvents(taskId);
    const terminal = stored.find((event) => event.type === 'task_completed')!;
    expect(stored.at(-1)!.type).toBe('approval_decided');

    // SSE resumed after the terminal event: the later event, then the end (the next reconnect gets 204).
    const sse = await openSse(`${api.url}/api/v1/tasks/${taskId}/events`, { 'x-api-key': api.keyA, 'last-event-id': String(terminal.id) });
    expect(sse.status).toBe(200);
    expect((await sse.next(2_000))?.id).toBe(stored.at(-1)!.id);
    expect(await sse.next(2_000)).toBeUndefined();
    sse.close();

    // WebSocket resumed after the terminal event, and after everything: both close as finished.
    for (const [after, expected] of [[terminal.id, [stored.at(-1)!.id]], [stored.at(-1)!.id, []]] as const) {
      const socket = new WebSocket(wsUrl(`/ws/tasks/${taskId}?after=${after}`, api.keyA));
      const stream = collect(socket);
      expect(await stream.closed).toEqual({ code: 1000, reason: 'task finished' });
      expect(stream.messages.map((message) => message.id)).toEqual(expected);
    }
  });

  it('refuses the upgrade without a key (401) and for an unknown task (404)', async () => {
    const status = (url: string, headers: Record<string, string> = {}): Promise<number> => new Promise((resolve) => {
      const socket = new WebSocket(url, { headers });
      socket.on('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('open', () => {
        resolve(101);
        socket.close();
      });
      socket.on('error', () => {});
    });
    const base = api.url.replace('http', 'ws');
    expect(await status(`${base}/ws/projects/x`)).toBe(401);
    expect(await status(`${base}/ws/projects/x?api_key=wrong-key-wrong-key`)).toBe(401);
    expect(await status(`${base}/ws/tasks/00000000-0000-4000-8000-000000000000`, { 'x-api-key': api.keyA })).toBe(404);
    // A browser's stream can set no header: the refusal points it at the query parameter.
    const refused = await fetch(`${api.url}/api/v1/tasks/00000000-0000-4000-8000-000000000000/events`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('?api_key=');
  });
});
