/**
 * The seed's `webhook_url` input: every event of the gather run is POSTed there, signed, in
 * order, through the same durable outbox as a submit's callback_url; over HTTP, a URL the
 * webhook policy refuses answers 400 naming the field.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebhookDispatcher, verifyWebhookSignature } from '../../src/integrations/webhooks/index.ts';
import { automatedGatherTaskTypes, gatherRoutes } from '../../src/pipelines/automated-gather/index.ts';
import { eventually, testLogger, waitForStatus } from '../support/engine.ts';
import { startApiHarness, type ApiHarness } from '../support/http.ts';
import { gatherConfig, testGateway } from './helpers.ts';

let api: ApiHarness;
let receiver: http.Server;
let receiverUrl: string;
let dispatcher: WebhookDispatcher;
const received: Array<{ body: string; headers: http.IncomingHttpHeaders }> = [];

beforeAll(async () => {
  receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    request.on('end', () => {
      received.push({ body, headers: request.headers });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/gather-hook`;
  // The gather types need the harness's database, so they are built on its pool once it exists.
  let services: Parameters<typeof automatedGatherTaskTypes>[0] | undefined;
  api = await startApiHarness({
    taskTypesFor: (database) => {
      const config = gatherConfig();
      services = { config, pool: database.pool, logger: testLogger, llm: testGateway(database, config) };
      return automatedGatherTaskTypes(services);
    },
    routePluginsFor: () => [gatherRoutes(services!)],
  });
  dispatcher = new WebhookDispatcher({ pool: api.db.pool, logger: testLogger, engine: api.engine, policy: { allowLoopback: true, allowPrivate: false }, timeoutMs: 2000, retryBaseMs: 50, retryMaxMs: 200, maxAttempts: 4, pollIntervalMs: 50 });
  await dispatcher.start();
});

afterAll(async () => {
  await dispatcher?.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await api?.close();
});

it('delivers every event of a run to its webhook_url, signed and in order', async () => {
  const submitted = await api.request('POST', '/api/v1/tasks/submit', {
    body: { project_id: 'hooked-film', task_type: 'automated_gather_creation', task_data: { max_iterations: 2, enable_auto_evaluation: false, webhook_url: receiverUrl } },
  });
  expect(submitted.status).toBe(202);
  const taskId = submitted.body.task_id as string;
  const task = await waitForStatus(api.engine, taskId, ['completed', 'failed'], 60_000);
  expect(task.status).toBe('completed');
  expect(task.callback_url).toBe(receiverUrl);
  const stored = await api.engine.readEvents({ taskId });
  await eventually(async () => received.length >= stored.length, 20_000);
  const delivered = received.map((entry) => JSON.parse(entry.body) as { id: number; type: string });
  expect(delivered.map((event) => event.id)).toEqual(stored.map((event) => event.id));
  expect(delivered.map((event) => event.type)).toContain('automation_started');
  expect(delivered.map((event) => event.type)).toContain('max_iterations_reached');
  const secret = (await api.request('GET', '/api/v1/tenant', { key: api.keyA })).body.webhook_secret as string;
  for (const entry of received) {
    expect(verifyWebhookSignature({ secret, body: entry.body, header: entry.headers['x-taskloom-signature'] as string })).toBe(true);
  }
}, 90_000);

it('refuses a webhook_url the webhook policy does not allow, naming the field', async () => {
  const refused = await api.request('POST', '/api/v1/tasks/submit', {
    body: { project_id: 'metadata-film', task_type: 'automated_gather_creation', task_data: { webhook_url: 'http://169.254.169.254/latest/meta-data' } },
  });
  expect(refused.status).toBe(400);
  expect(refused.body.error.code).toBe('validation_failed');
  expect(refused.body.error.details.issues[0].path).toBe('task_data.webhook_url');
});
