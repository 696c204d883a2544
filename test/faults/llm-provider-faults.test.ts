/**
 * Provider faults: an outage is ridden out (5 minutes by default) and each retry says when it
 * will be made; a provider on an internal address never shows that address in task errors,
 * events or llm_calls; a call cut off by a SIGKILL still counts in llm_calls, as interrupted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, type ConfigOverrides } from '../../src/config.ts';
import { serializeError } from '../../src/errors.ts';
import { createLlmGateway, type LlmRetryNotice } from '../../src/llm/index.ts';
import { defaultRetryOptions, nextRetryDelay } from '../../src/llm/retry-policy.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, waitForStatus } from '../support/engine.ts';
import { silentLogger } from '../support/http.ts';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../support/openai-compatible-server.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventsOf, gatherConfig, startGatherEngine } from '../gather/helpers.ts';

const request = { schema: z.object({ answer: z.string() }), instructions: 'Answer in JSON.', prompt: 'Say something.' };

let database: TestDatabase;
let server: OpenAiCompatibleServer;
let proxy: TcpProxy;

beforeAll(async () => {
  [database, server] = await Promise.all([createTestDatabase(), startOpenAiCompatibleServer()]);
  proxy = await startTcpProxy(server.baseUrl);
});

afterAll(async () => {
  await killChildren();
  await proxy?.close();
  await Promise.all([database?.drop(), server?.close()]);
});

function gatewayThroughProxy(overrides: ConfigOverrides = {}) {
  const config = loadConfig({ openaiCompatibleBaseUrl: proxy.url, llmGenerationModel: 'openai-compatible:test-chat', ...overrides }, {});
  // Fast backoff so the test's outage of seconds stands for the default's minutes.
  return createLlmGateway({ config, pool: database.pool, logger: silentLogger, privateLimiters: true, retry: { baseDelayMs: 100, maxDelayMs: 400 } });
}

it('by default keeps retrying a failing provider for at least 5 minutes', () => {
  const config = loadConfig({}, {});
  const options = { ...defaultRetryOptions, maxRetries: config.llmMaxRetries, windowMs: config.llmRetryWindowMs };
  // Shortest delays the jitter can draw: the schedule must still span 5 minutes.
  const firstFailureAt = 0;
  let now = 0;
  let retries = 0;
  for (;;) {
    const decision = nextRetryDelay({ retries, firstFailureAt, requestedMs: undefined }, options, now, () => 0);
    if ('refused' in decision) {
      expect(decision.refused).toBe('window_exceeded');
      break;
    }
    now += decision.delayMs;
    retries += 1;
  }
  expect(now).toBeGreaterThanOrEqual(5 * 60_000 - options.maxDelayMs);
  expect(now).toBeLessThanOrEqual(5 * 60_000);
});

it('rides out a provider outage and says when each retry will be made', async () => {
  await proxy.cut();
  const notices: LlmRetryNotice[] = [];
  const restored = (async () => {
    await eventually(async () => notices.length >= 3, 10_000);
    await proxy.restore();
  })();
  const result = await gatewayThroughProxy().generateStructured({ ...request, onRetry: (notice) => notices.push({ ...notice }) });
  await restored;
  expect(result.model).toBe('openai-compatible:test-chat');
  expect(notices.map((notice) => notice.retry)).toEqual(notices.map((_notice, index) => index + 1));
  for (const notice of notices) {
    expect(Date.parse(notice.retryAt)).toBeGreaterThan(Date.now() - 10_000);
    expect(notice.reason).not.toMatch(/127\.0\.0\.1|:\d{4,5}\b/);
  }
});

it('gives up once the retry window has passed, naming no address', async () => {
  await proxy.cut();
  try {
    const started = Date.now();
    const error = await gatewayThroughProxy({ llmRetryWindowMs: 1500 }).generateStructured(request).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(5000);
    const serialized = serializeError(error);
    expect(serialized.code).toBe('llm_call_failed');
    expect(JSON.stringify(serialized)).toContain('retry window');
    expect(JSON.stringify(serialized)).not.toMatch(new RegExp(`127\\.0\\.0\\.1|${new URL(proxy.url).port}`));
  } finally {
    await proxy.restore();
  }
});

it('keeps an internal provider address out of task errors, automation_error events and llm_calls', async () => {
  await proxy.cut();
  try {
    const port = new URL(proxy.url).port;
    const config = gatherConfig({ openaiCompatibleBaseUrl: proxy.url, llmGenerationModel: 'openai-compatible:test-chat', llmJudgingModel: 'openai-compatible:test-chat', llmMaxRetries: 0 });
    const harness = await startGatherEngine(database, { config, llm: createLlmGateway({ config, pool: database.pool, logger: silentLogger, privateLimiters: true }) });
    try {
      const submitted = await harness.engine.submit({ taskType: 'automated_gather_creation', input: { project_id: `leak-${randomUUID().slice(0, 6)}`, max_iterations: 1 } });
      const failed = await waitForStatus(harness.engine, submitted.task.id, ['failed'], 60_000);
      const events = await eventsOf(harness.engine, submitted.task.id);
      const errors = events.filter((event) => event.type === 'automation_error');
      expect(errors.length).toBeGreaterThan(0);
      const calls = await database.pool.query<{ error: string }>('SELECT error FROM llm_calls WHERE task_id = $1', [submitted.task.id]);
      expect(calls.rows.length).toBeGreaterThan(0);
      const shown = JSON.stringify({ error: failed.error, events, calls: calls.rows });
      expect(shown).toContain('ECONNREFUSED');
      expect(shown).not.toContain('127.0.0.1');
      expect(shown).not.toMatch(new RegExp(`\\b${port}\\b`));
    } finally {
      await harness.engine.stop({ graceMs: 0 });
    }
  } finally {
    await proxy.restore();
  }
}, 90_000);

it('records a call cut off by a SIGKILL as interrupted', async () => {
  const taskId = randomUUID();
  server.script('chat', { kind: 'ok', delayMs: 60_000 });
  const child = spawnNode('test/fixtures/llm-call-process.ts', [database.url, server.baseUrl, taskId]);
  await child.waitForLine('calling');
  await eventually(async () => server.requests.some((entry) => entry.endpoint === 'chat' && entry.at > 0) && (await database.pool.query('SELECT 1 FROM llm_calls WHERE task_id = $1', [taskId])).rowCount === 1);
  child.process.kill('SIGKILL');
  await child.exited;
  const inFlight = await database.pool.query<{ state: string }>('SELECT state FROM llm_calls WHERE task_id = $1', [taskId]);
  expect(inFlight.rows).toEqual([{ state: 'in_flight' }]);
  // The request's 2 s timeout and the 10 s margin pass; any reader of usage sweeps.
  const reader = createLlmGateway({ config: loadConfig({}, {}), pool: database.pool, logger: silentLogger, privateLimiters: true });
  const usage = await eventually(async () => {
    const current = await reader.usageForTask(taskId);
    return current.failedCalls === 1 ? current : undefined;
  }, 20_000, 500);
  expect(usage.calls).toBe(1);
  const row = await database.pool.query('SELECT state, error_code FROM llm_calls WHERE task_id = $1', [taskId]);
  expect(row.rows).toEqual([{ state: 'interrupted', error_code: 'llm_interrupted' }]);
}, 60_000);
