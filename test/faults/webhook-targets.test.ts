/**
 * SSRF attempts through callback_url and a gather's webhook_url: loopback written in every
 * notation a URL or DNS allows is refused at submit and at connection time; public IPv6 is
 * accepted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { guardedLookup, sendWebhook } from '../../src/integrations/webhooks/index.ts';
import { startApiHarness, type ApiHarness } from '../support/http.ts';

let api: ApiHarness;
let receiver: http.Server;
let received = 0;
let port: number;

const loopbackForms = [
  'http://[::127.0.0.1]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[0:0:0:0:0:ffff:7f00:1]/hook',
  'http://[2002:7f00:1::]/hook',
  'http://localhost./hook',
  'http://api.localhost./hook',
  'http://2130706433/hook',
  'http://0x7f000001/hook',
  'http://0177.0.0.1/hook',
  'http://127.1/hook',
  'http://[::1]/hook',
  'http://[::ffff:169.254.169.254]/latest/meta-data',
  'http://[::ffff:10.0.0.1]/hook',
  'http://[fd00::1]/hook',
];

beforeAll(async () => {
  api = await startApiHarness({ worker: false, config: { webhookAllowLoopback: false } });
  receiver = http.createServer((request, response) => {
    received += 1;
    response.end('ok');
  });
  // Dual-stack: an IPv4-mapped connection to ::ffff:127.0.0.1 would reach it.
  await new Promise<void>((resolve) => receiver.listen(0, '::', resolve));
  port = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  await api?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

it('refuses every loopback, private and metadata notation at submit', async () => {
  for (const url of loopbackForms) {
    const response = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 0 }, callback_url: url } });
    expect(response.status, url).toBe(400);
    expect(response.body.error.details.issues[0].path, url).toBe('callback_url');
  }
});

it('accepts a public IPv6 callback_url', async () => {
  const response = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'sleep', task_data: { ms: 0 }, callback_url: 'https://[2606:4700:4700::1111]/hook' } });
  expect(response.status).toBe(202);
});

it('refuses at connection time whatever form reaches the sender, and dials nothing', async () => {
  const policy = { allowLoopback: false, allowPrivate: false };
  const event = { id: 1, task_id: '00000000-0000-4000-8000-000000000000', tenant: 'alpha', project_id: null, type: 'task_completed', payload: {}, created_at: new Date().toISOString() };
  for (const url of [`http://[::ffff:127.0.0.1]:${port}/`, `http://[::127.0.0.1]:${port}/`, `http://localhost.:${port}/`, `http://2130706433:${port}/`]) {
    const result = await sendWebhook({ url, secret: 'secret', event, attempt: 1, timeoutMs: 2000, policy });
    expect(result.outcome, url).toBe('refused');
  }
  expect(received).toBe(0);
  // A name is resolved for every family and refused if any address is.
  const refusal = await new Promise<Error | null>((resolve) => guardedLookup(policy)('localhost', { all: true }, (error) => resolve(error)));
  expect(refusal?.message).toMatch(/loopback/);
  // The same receiver is reachable once loopback is allowed: the refusals above were the policy's.
  const allowed = await sendWebhook({ url: `http://[::ffff:127.0.0.1]:${port}/`, secret: 'secret', event, attempt: 1, timeoutMs: 2000, policy: { allowLoopback: true, allowPrivate: false } });
  expect(allowed.outcome).toBe('delivered');
  expect(received).toBe(1);
});
