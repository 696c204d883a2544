/**
 * Webhooks against a local receiver: signed, in order per task, retried after a 500, recorded;
 * delivery survives a dispatcher restart; refused targets are recorded and not called; an event
 * type a header cannot carry goes out percent-encoded in its header.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { WebhookDispatcher, classifyAddress, guardedLookup, refuseUrl, signWebhook, verifyWebhookSignature, webhookRetryDelayMs } from '../../src/integrations/webhooks/index.ts';
import { silentLogger, startApiHarness, waitFor, type ApiHarness } from '../support/http.ts';

interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
  status: number;
}

let api: ApiHarness;
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
/** Status to answer per call; defaults to 200. */
let answer: (request: Received) => number = () => 200;
/** Milliseconds to wait before answering a call; defaults to none. */
let delayOf: (request: Received) => number = () => 0;
const dispatchers: WebhookDispatcher[] = [];

function startDispatcher(policy = { allowLoopback: true, allowPrivate: false }): WebhookDispatcher {
  const dispatcher = new WebhookDispatcher({ pool: api.db.pool, logger: silentLogger, engine: api.engine, policy, timeoutMs: 1000, retryBaseMs: 50, retryMaxMs: 200, maxAttempts: 4, pollIntervalMs: 50 });
  dispatchers.push(dispatcher);
  return dispatcher;
}

// A pipeline's event types are its own strings: this one has a character no header can carry.
const unusualType = defineTask({
  type: 'unusual_event_type',
  description: 'emits an event whose type is not ASCII',
  queue: 'default',
  input: z.object({}).strict(),
  async run(context) {
    await context.emit('schritt→fertig', { ok: true });
    return null;
  },
});

beforeAll(async () => {
  api = await startApiHarness({ taskTypes: [sleepTask, unusualType] });
  receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const entry: Received = { body, headers: request.headers, status: 0 };
      entry.status = answer(entry);
      received.push(entry);
      setTimeout(() => {
        if (!response.destroyed) response.writeHead(entry.status, { 'content-type': 'text/plain' }).end(entry.status === 200 ? 'ok' : 'receiver is down');
      }, delayOf(entry));
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(dispatchers.map((dispatcher) => dispatcher.stop()));
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await api?.close();
});

async function storedEventIds(taskId: string): Promise<number[]> {
  const response = await api.request('GET', `/api/v1/tasks/${taskId}/events`, { headers: { accept: 'application/json' } });
  return response.body.events.map((event: { id: number }) => event.id);
}

describe('webhooks', () => {
  it('delivers every event signed and in order, retrying the one that got a 500', async () => {
    const dispatcher = startDispatcher();
    await dispatcher.start();
    let failedOnce = false;
    answer = () => {
      if (!failedOnce) {
        failedOnce = true;
        return 500;
      }
      return 200;
    };
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 30, steps: 3 }, callback_url: `${receiverUrl}/hook/a` } });
    const taskId = submitted.body.task_id as string;
    await waitFor(async () => received.filter((entry) => entry.status === 200 && JSON.parse(entry.body).task_id === taskId).map((entry) => JSON.parse(entry.body).type), (types) => types.includes('task_completed'));
    const { webhook_secret: secret } = (await api.request('GET', '/api/v1/tenant')).body;
    const mine = received.filter((entry) => JSON.parse(entry.body).task_id === taskId);
    for (const entry of mine) {
      expect(verifyWebhookSignature({ secret, body: entry.body, header: entry.headers['x-taskloom-signature'] as string })).toBe(true);
      expect(verifyWebhookSignature({ secret: 'wrong', body: entry.body, header: entry.headers['x-taskloom-signature'] as string })).toBe(false);
      expect(verifyWebhookSignature({ secret, body: `${entry.body} `, header: entry.headers['x-taskloom-signature'] as string })).toBe(false);
    }
    // The first event was answered 500, then delivered again as attempt 2, before anything else.
    expect(mine[0]!.status).toBe(500);
    expect(mine[1]!.headers['x-taskloom-event-id']).toBe(mine[0]!.headers['x-taskloom-event-id']);
    expect(mine[1]!.headers['x-taskloom-attempt']).toBe('2');
    const deliveredIds = mine.filter((entry) => entry.status === 200).map((entry) => JSON.parse(entry.body).id as number);
    expect(deliveredIds).toEqual(await storedEventIds(taskId));
    const record = await api.request('GET', `/api/v1/tasks/${taskId}/webhook`);
    expect(record.body).toMatchObject({ state: 'active', pending: false, delivered_count: deliveredIds.length, dropped_count: 0, last_status: 200 });
    expect(record.body.recent_attempts[0]).toMatchObject({ outcome: 'failed', status_code: 500, attempt: 1 });
    await dispatcher.stop();
  });

  it('retries a delivery whose receiver does not answer within the timeout', async () => {
    const dispatcher = startDispatcher();
    await dispatcher.start();
    answer = () => 200;
    let slowOnce = false;
    // The first call is answered after 1.5 s, past the dispatcher's 1 s timeout.
    delayOf = () => {
      if (slowOnce) return 0;
      slowOnce = true;
      return 1500;
    };
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 0 }, callback_url: `${receiverUrl}/hook/slow` } });
    const taskId = submitted.body.task_id as string;
    const mine = (): Received[] => received.filter((entry) => JSON.parse(entry.body).task_id === taskId);
    await waitFor(async () => mine().map((entry) => JSON.parse(entry.body).type), (types) => types.filter((type) => type === 'task_queued').length >= 2 && types.includes('task_completed'));
    const first = mine().filter((entry) => JSON.parse(entry.body).type === 'task_queued');
    expect(first.map((entry) => entry.headers['x-taskloom-attempt'])).toEqual(['1', '2']);
    const record = await api.request('GET', `/api/v1/tasks/${taskId}/webhook`);
    const attempts = record.body.recent_attempts as Array<{ outcome: string; attempt: number; status_code: number | null }>;
    expect(attempts.find((attempt) => attempt.attempt === 1 && attempt.outcome === 'failed')).toMatchObject({ status_code: null });
    delayOf = () => 0;
    await dispatcher.stop();
  });

  it('keeps the outbox across a dispatcher restart and drops an event only after its last attempt', async () => {
    answer = () => 503;
    const first = startDispatcher();
    await first.start();
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 0 }, callback_url: `${receiverUrl}/hook/b` } });
    const taskId = submitted.body.task_id as string;
    const mine = (): Received[] => received.filter((entry) => JSON.parse(entry.body).task_id === taskId);
    // The first event's attempts are spent (4), so it is dropped and the second is tried.
    await waitFor(async () => mine().length, (count) => count >= 5);
    await first.stop();
    answer = () => 200;
    const second = startDispatcher();
    await second.start();
    await waitFor(async () => mine().filter((entry) => entry.status === 200).map((entry) => JSON.parse(entry.body).type), (types) => types.includes('task_completed'));
    const stored = await storedEventIds(taskId);
    const firstEventAttempts = mine().filter((entry) => Number(entry.headers['x-taskloom-event-id']) === stored[0]);
    expect(firstEventAttempts.map((entry) => entry.status)).toEqual([503, 503, 503, 503]);
    const delivered = mine().filter((entry) => entry.status === 200).map((entry) => JSON.parse(entry.body).id);
    expect(delivered).toEqual(stored.slice(1));
    const record = await api.request('GET', `/api/v1/tasks/${taskId}/webhook`);
    expect(record.body).toMatchObject({ dropped_count: 1, delivered_count: stored.length - 1, pending: false });
    await second.stop();
  });

  it('sends an event type a header cannot carry percent-encoded in its header, exact in its body', async () => {
    const dispatcher = startDispatcher();
    await dispatcher.start();
    answer = () => 200;
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'unusual_event_type', task_data: {}, callback_url: `${receiverUrl}/hook/unusual` } });
    const taskId = submitted.body.task_id as string;
    await waitFor(async () => received.filter((entry) => JSON.parse(entry.body).task_id === taskId).map((entry) => JSON.parse(entry.body).type), (types) => types.includes('task_completed'));
    const mine = received.filter((entry) => JSON.parse(entry.body).task_id === taskId);
    expect(mine.map((entry) => JSON.parse(entry.body).id)).toEqual(await storedEventIds(taskId));
    const unusual = mine.find((entry) => JSON.parse(entry.body).type === 'schritt→fertig')!;
    expect(unusual.headers['x-taskloom-event-type']).toBe('schritt%E2%86%92fertig');
    expect(decodeURIComponent(unusual.headers['x-taskloom-event-type'] as string)).toBe('schritt→fertig');
    expect(mine.every((entry) => entry.status === 200)).toBe(true);
    await dispatcher.stop();
  });

  it('never sends a task\'s events twice at once when its lease lapses during a POST', async () => {
    const dispatcher = startDispatcher();
    await dispatcher.start();
    answer = () => 200;
    delayOf = (entry) => (JSON.parse(entry.body).type === 'task_queued' ? 600 : 0);
    try {
      const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 0 }, callback_url: `${receiverUrl}/hook/lapse` } });
      const taskId = submitted.body.task_id as string;
      const mine = (): Received[] => received.filter((entry) => JSON.parse(entry.body).task_id === taskId);
      await waitFor(async () => mine().length, (count) => count === 1);
      // The first POST is still waiting for its answer when the lease runs out (pool waits and a
      // slow receiver can add up to it): the dispatcher's next passes must leave the task alone.
      await api.db.pool.query("UPDATE webhook_deliveries SET lease_expires_at = now() - interval '1 second' WHERE task_id = $1", [taskId]);
      await waitFor(async () => mine().map((entry) => JSON.parse(entry.body).type), (types) => types.includes('task_completed'));
      expect(mine().map((entry) => JSON.parse(entry.body).id)).toEqual(await storedEventIds(taskId));
    } finally {
      delayOf = () => 0;
      await dispatcher.stop();
    }
  });

  it('records a refused target and never calls it', async () => {
    const dispatcher = startDispatcher({ allowLoopback: false, allowPrivate: false });
    await dispatcher.start();
    const before = received.length;
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 0 }, callback_url: `${receiverUrl}/hook/c` } });
    const taskId = submitted.body.task_id as string;
    const record = await waitFor(() => api.request('GET', `/api/v1/tasks/${taskId}/webhook`), (response) => response.body.state === 'refused');
    expect(record.body.last_error).toContain('loopback');
    expect(received.length).toBe(before);
    await dispatcher.stop();
  });
});

describe('webhook target policy and signatures', () => {
  it('classifies addresses', () => {
    expect(classifyAddress('127.0.0.1')).toBe('loopback');
    expect(classifyAddress('::1')).toBe('loopback');
    expect(classifyAddress('::ffff:127.0.0.1')).toBe('loopback');
    expect(classifyAddress('10.1.2.3')).toBe('private');
    expect(classifyAddress('172.20.0.1')).toBe('private');
    expect(classifyAddress('192.168.1.1')).toBe('private');
    expect(classifyAddress('fd12::1')).toBe('private');
    expect(classifyAddress('169.254.169.254')).toBe('metadata');
    expect(classifyAddress('169.254.10.10')).toBe('link_local');
    expect(classifyAddress('fe80::1')).toBe('link_local');
    expect(classifyAddress('0.0.0.0')).toBe('unspecified');
    expect(classifyAddress('224.0.0.1')).toBe('multicast');
    expect(classifyAddress('93.184.216.34')).toBe('public');
    expect(classifyAddress('2606:4700::1111')).toBe('public');
  });

  it('refuses URLs by policy before any DNS', () => {
    const strict = { allowLoopback: false, allowPrivate: false };
    expect(refuseUrl('https://example.com/hook', strict)).toBeUndefined();
    expect(refuseUrl('http://localhost:8080/', strict)).toContain('loopback');
    expect(refuseUrl('http://localhost:8080/', { allowLoopback: true, allowPrivate: false })).toBeUndefined();
    expect(refuseUrl('http://[::1]/', strict)).toContain('loopback');
    // A refusal an operator can lift names the setting; one no setting lifts names none.
    expect(refuseUrl('http://127.0.0.1/hook', strict)).toBe('loopback address 127.0.0.1 is not allowed; set TASKLOOM_WEBHOOK_ALLOW_LOOPBACK=true to allow it (receivers on this machine)');
    expect(refuseUrl('http://localhost/hook', strict)).toContain('TASKLOOM_WEBHOOK_ALLOW_LOOPBACK=true');
    expect(refuseUrl('http://192.168.1.4/hook', strict)).toContain('TASKLOOM_WEBHOOK_ALLOW_PRIVATE=true');
    expect(refuseUrl('http://169.254.169.254/', strict)).not.toContain('TASKLOOM_');
    expect(refuseUrl('http://169.254.169.254/', { allowLoopback: true, allowPrivate: true })).toContain('metadata');
    expect(refuseUrl('http://[::ffff:169.254.169.254]/', { allowLoopback: true, allowPrivate: true })).toContain('metadata');
    expect(refuseUrl('file:///etc/passwd', strict)).toContain('scheme');
  });

  it('checks every resolved address at connection time', async () => {
    const resolve = (allowLoopback: boolean): Promise<{ error: Error | null; address: unknown }> => new Promise((done) => {
      guardedLookup({ allowLoopback, allowPrivate: false })('localhost', { all: true }, (error, address) => done({ error, address }));
    });
    const refused = await resolve(false);
    expect(refused.error?.message).toContain('loopback');
    expect(refused.error?.message).toContain('set TASKLOOM_WEBHOOK_ALLOW_LOOPBACK=true to allow it');
    const allowed = await resolve(true);
    expect(allowed.error).toBeNull();
    expect(allowed.address).toEqual(expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]));
  });

  it('verifies signatures with a tolerance window', () => {
    const body = '{"id":1}';
    const header = signWebhook('secret', 1_000_000, body);
    expect(verifyWebhookSignature({ secret: 'secret', body, header, now: 1_000_100 })).toBe(true);
    expect(verifyWebhookSignature({ secret: 'secret', body, header, now: 1_001_000 })).toBe(false);
    expect(verifyWebhookSignature({ secret: 'secret', body, header: 't=abc,v1=00', now: 1_000_000 })).toBe(false);
    expect(verifyWebhookSignature({ secret: 'secret', body, header: undefined })).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(webhookRetryDelayMs(1, 1000, 60_000, () => 0.5)).toBe(1000);
    expect(webhookRetryDelayMs(3, 1000, 60_000, () => 0.5)).toBe(4000);
    expect(webhookRetryDelayMs(20, 1000, 60_000, () => 0.5)).toBe(60_000);
    expect(webhookRetryDelayMs(2, 1000, 60_000, () => 0)).toBe(1600);
  });
});

describe('the delivery record', () => {
  it('has every field before a dispatcher has taken the task up, and a task without a callback_url has none', async () => {
    // No dispatcher runs here: the record is the route's own, before any delivery row exists.
    const withHook = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 1 }, callback_url: `${receiverUrl}/record` } });
    const record = await api.request('GET', `/api/v1/tasks/${withHook.body.task_id}/webhook`);
    expect(record.status).toBe(200);
    expect(record.body).toEqual({
      task_id: withHook.body.task_id, url: `${receiverUrl}/record`, state: 'active', pending: true, attempts: 0, delivered_count: 0, dropped_count: 0,
      last_status: null, last_error: null, last_attempt_at: null, next_attempt_at: null, recent_attempts: [],
    });
    const withoutHook = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 1 } } });
    const none = await api.request('GET', `/api/v1/tasks/${withoutHook.body.task_id}/webhook`);
    expect(none.status).toBe(404);
    expect(none.body.error).toMatchObject({ code: 'not_found', message: expect.stringContaining('Webhook delivery for task') });
  });
});
