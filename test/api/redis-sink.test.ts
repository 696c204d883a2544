/**
 * The Redis sink against the machine's Redis (127.0.0.1:6379): events of automated gather
 * tasks arrive on `automated-gather:{projectId}` (the default tenant's, the seed's channel) in
 * order, in the seed's shape; other tenants publish on their own prefixed channels and never
 * reach each other; other task types are not published; an unreachable Redis never fails a task,
 * and what a task emitted while Redis was down is published once it is back; a Redis that stops
 * answering stops no other process from publishing.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../../src/api/keys.ts';
import { defineTask } from '../../src/engine/index.ts';
import { RedisEventSink } from '../../src/integrations/redis-sink.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { silentLogger, startApiHarness, waitFor, type ApiHarness } from '../support/http.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

const redisUrl = process.env.TASKLOOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

// Stands in for the real pipeline: the sink only looks at the task type and the events.
const fakeGather = defineTask({
  type: 'automated_gather_creation',
  description: 'test double',
  queue: 'default',
  input: z.object({ project_id: z.string() }).strict(),
  async run(context) {
    await context.emit('automation_started', { departments: 2 });
    await context.emit('department_started', { department: 'story', department_name: 'Story Department', threshold: 80 });
    await context.emit('automation_complete', { total_iterations: 3, departments_processed: 2 });
    return { ok: true };
  },
});

// The evaluation task's double: only its `department_evaluated` is the channel's.
const fakeEvaluation = defineTask({
  type: 'evaluate_department',
  description: 'test double',
  queue: 'default',
  input: z.object({ project_id: z.string() }).strict(),
  async run(context) {
    await context.emit('department_evaluated', { department: 'story', rating: 77 });
    return { ok: true };
  },
});

let api: ApiHarness;
let defaultKey: string;
let subscriber: Redis;
const sinks: RedisEventSink[] = [];

beforeAll(async () => {
  api = await startApiHarness({ taskTypes: [sleepTask, fakeGather, fakeEvaluation] });
  defaultKey = (await createApiKey(api.db.pool, { tenant: 'default' })).key;
  subscriber = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await subscriber.connect();
});

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.stop()));
  subscriber?.disconnect();
  await api?.close();
});

/** A sink of this process started, and the messages of `project`'s seed channel as they come. */
async function listenOnProject(project: string): Promise<{ sink: RedisEventSink; messages: Array<Record<string, unknown>> }> {
  const sink = new RedisEventSink({ pool: api.db.pool, logger: silentLogger, redisUrl, engine: api.engine, pollIntervalMs: 100 });
  sinks.push(sink);
  await sink.start();
  const messages: Array<Record<string, unknown>> = [];
  await subscriber.subscribe(`automated-gather:${project}`);
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === `automated-gather:${project}`) messages.push(JSON.parse(message) as Record<string, unknown>);
  });
  return { sink, messages };
}

describe('Redis event sink', () => {
  it('publishes every automated gather event on the seed channel, in order, from its first start on', async () => {
    const project = `project-${randomUUID().slice(0, 8)}`;
    // A task that ran before any sink ever started (REDIS_URL set later): never published.
    const before = await api.request('POST', '/api/v1/tasks/submit', { key: defaultKey, body: { project_id: project, task_type: 'automated_gather_creation', task_data: {} } });
    await waitFor(() => api.request('GET', `/api/v1/tasks/${before.body.task_id}`, { key: defaultKey }), (response) => response.body.status === 'completed');
    const { sink, messages } = await listenOnProject(project);
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { key: defaultKey, body: { project_id: project, task_type: 'automated_gather_creation', task_data: {} } });
    expect(submitted.status).toBe(202);
    // Another type on a same-named project: not published.
    await api.request('POST', '/api/v1/tasks/submit', { key: defaultKey, body: { project_id: project, task_type: 'sleep', task_data: { ms: 0 } } });
    await waitFor(async () => messages.map((message) => message.type), (types) => types.includes('task_completed'));
    const stored = await api.request('GET', `/api/v1/tasks/${submitted.body.task_id}/events`, { key: defaultKey, headers: { accept: 'application/json' } });
    expect(messages.map((message) => message.event_id)).toEqual(stored.body.events.map((event: { id: number }) => event.id));
    const started = messages.find((message) => message.type === 'department_started');
    expect(started).toMatchObject({ type: 'department_started', project_id: project, tenant: 'default', department: 'story', department_name: 'Story Department', threshold: 80, task_id: submitted.body.task_id });
    expect(new Set(messages.map((message) => message.task_id))).toEqual(new Set([submitted.body.task_id]));
    await sink.stop();
    await subscriber.unsubscribe();
  });

  it('publishes an evaluation\'s department_evaluated on the project\'s channel, and nothing else of that task', async () => {
    const project = `project-${randomUUID().slice(0, 8)}`;
    const { sink, messages } = await listenOnProject(project);
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { key: defaultKey, body: { project_id: project, task_type: 'evaluate_department', task_data: {} } });
    await waitFor(() => api.request('GET', `/api/v1/tasks/${submitted.body.task_id}`, { key: defaultKey }), (response) => response.body.status === 'completed');
    await waitFor(async () => messages.length, (count) => count > 0);
    // The sink passes events in order: a task_completed would have been published by now.
    const marker = await api.request('POST', '/api/v1/tasks/submit', { key: defaultKey, body: { project_id: project, task_type: 'automated_gather_creation', task_data: {} } });
    await waitFor(async () => messages.map((message) => message.type), (types) => types.includes('automation_complete'));
    const evaluation = messages.filter((message) => message.task_id === submitted.body.task_id);
    expect(evaluation).toEqual([expect.objectContaining({ type: 'department_evaluated', project_id: project, department: 'story', rating: 77 })]);
    expect(marker.status).toBe(202);
    await sink.stop();
    await subscriber.unsubscribe();
  });

  it('keeps tenants apart when their project ids collide', async () => {
    const sink = new RedisEventSink({ pool: api.db.pool, logger: silentLogger, redisUrl, engine: api.engine, pollIntervalMs: 100, consumerName: 'redis-tenants' });
    sinks.push(sink);
    await sink.start();
    const project = `shared-${randomUUID().slice(0, 8)}`;
    const channels = [`automated-gather:${project}`, `tenant:alpha:automated-gather:${project}`, `tenant:beta:automated-gather:${project}`];
    const byChannel = new Map<string, Array<Record<string, unknown>>>(channels.map((channel) => [channel, []]));
    const listener = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await listener.connect();
    try {
      // A subscriber for one tenant listening on every pattern it could guess.
      await listener.psubscribe(`*${project}*`);
      listener.on('pmessage', (_pattern: string, channel: string, message: string) => {
        const list = byChannel.get(channel);
        if (list) list.push(JSON.parse(message) as Record<string, unknown>);
        else byChannel.set(channel, [JSON.parse(message) as Record<string, unknown>]);
      });
      const submissions = await Promise.all([defaultKey, api.keyA, api.keyB].map((key) => api.request('POST', '/api/v1/tasks/submit', { key, body: { project_id: project, task_type: 'automated_gather_creation', task_data: {} } })));
      await waitFor(async () => channels.map((channel) => byChannel.get(channel)!.some((message) => message.type === 'task_completed')), (done) => done.every(Boolean));
      expect([...byChannel.keys()].sort()).toEqual([...channels].sort());
      for (const [index, tenant] of ['default', 'alpha', 'beta'].entries()) {
        const messages = byChannel.get(channels[index]!)!;
        expect(new Set(messages.map((message) => message.tenant))).toEqual(new Set([tenant]));
        expect(new Set(messages.map((message) => message.task_id))).toEqual(new Set([submissions[index]!.body.task_id]));
      }
    } finally {
      listener.disconnect();
      await sink.stop();
    }
  });

  it('publishes, once Redis is reachable, the events of a task that ran while it was down', async () => {
    // Redis down from the sink's start: its first pass comes only when Redis answers, long after
    // the task has finished.
    const proxy = await startTcpProxy(redisUrl);
    await proxy.cut();
    const sink = new RedisEventSink({ pool: api.db.pool, logger: silentLogger, redisUrl: proxy.url, engine: api.engine, pollIntervalMs: 50, consumerName: 'redis-late' });
    sinks.push(sink);
    const listener = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await sink.start();
      const project = `late-${randomUUID().slice(0, 8)}`;
      await listener.connect();
      const messages: Array<Record<string, unknown>> = [];
      await listener.subscribe(`automated-gather:${project}`);
      listener.on('message', (_channel: string, message: string) => messages.push(JSON.parse(message) as Record<string, unknown>));
      const submitted = await api.request('POST', '/api/v1/tasks/submit', { key: defaultKey, body: { project_id: project, task_type: 'automated_gather_creation', task_data: {} } });
      await waitFor(() => api.request('GET', `/api/v1/tasks/${submitted.body.task_id}`, { key: defaultKey }), (response) => response.body.status === 'completed');
      expect(messages).toEqual([]);
      await proxy.restore();
      await waitFor(async () => messages.map((message) => message.type), (types) => types.includes('task_completed'));
      const stored = await api.request('GET', `/api/v1/tasks/${submitted.body.task_id}/events`, { key: defaultKey, headers: { accept: 'application/json' } });
      expect(messages.map((message) => message.event_id)).toEqual(stored.body.events.map((event: { id: number }) => event.id));
    } finally {
      listener.disconnect();
      await sink.stop();
      await proxy.close();
    }
  });

  it('a Redis that stops answering holds up neither stop() nor another process publishing', async () => {
    const proxy = await startTcpProxy(redisUrl);
    const frozen = new RedisEventSink({ pool: api.db.pool, logger: silentLogger, redisUrl: proxy.url, engine: api.engine, pollIntervalMs: 50, consumerName: 'redis-frozen', commandTimeoutMs: 300 });
    sinks.push(frozen);
    const listener = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const project = `frozen-${randomUUID().slice(0, 8)}`;
    const messages: Array<Record<string, unknown>> = [];
    const completedTask = async (): Promise<string> => {
      const submitted = await api.request('POST', '/api/v1/tasks/submit', { key: defaultKey, body: { project_id: project, task_type: 'automated_gather_creation', task_data: {} } });
      await waitFor(() => api.request('GET', `/api/v1/tasks/${submitted.body.task_id}`, { key: defaultKey }), (response) => response.body.status === 'completed');
      return submitted.body.task_id as string;
    };
    try {
      await listener.connect();
      await listener.subscribe(`automated-gather:${project}`);
      listener.on('message', (_channel: string, message: string) => messages.push(JSON.parse(message) as Record<string, unknown>));
      await frozen.start();
      // A first task's events arrive: the sink is connected. Then Redis goes silent.
      const first = await completedTask();
      await waitFor(async () => messages.filter((message) => message.task_id === first).map((message) => message.type), (types) => types.includes('task_completed'));
      proxy.freeze();
      const second = await completedTask();
      // Its publish never gets an answer: it times out, and the pass ends.
      const stopped = await Promise.race([frozen.stop().then(() => 'stopped'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5000))]);
      expect(stopped).toBe('stopped');
      const next = new RedisEventSink({ pool: api.db.pool, logger: silentLogger, redisUrl, engine: api.engine, pollIntervalMs: 50, consumerName: 'redis-frozen' });
      sinks.push(next);
      await next.start();
      await waitFor(async () => messages.filter((message) => message.task_id === second).map((message) => message.type), (types) => types.includes('task_completed'));
      const stored = await api.request('GET', `/api/v1/tasks/${second}/events`, { key: defaultKey, headers: { accept: 'application/json' } });
      expect(messages.filter((message) => message.task_id === second).map((message) => message.event_id)).toEqual(stored.body.events.map((event: { id: number }) => event.id));
      await next.stop();
    } finally {
      listener.disconnect();
      await proxy.close();
    }
  });

  it('an unreachable Redis never fails a task', async () => {
    const sink = new RedisEventSink({ pool: api.db.pool, logger: silentLogger, redisUrl: 'redis://127.0.0.1:1', engine: api.engine, pollIntervalMs: 50, consumerName: 'redis-unreachable' });
    sinks.push(sink);
    await sink.start();
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { project_id: 'down', task_type: 'automated_gather_creation', task_data: {} } });
    const task = await waitFor(() => api.request('GET', `/api/v1/tasks/${submitted.body.task_id}`), (response) => response.body.status === 'completed');
    expect(task.body.result).toEqual({ ok: true });
    await sink.stop();
  });
});
