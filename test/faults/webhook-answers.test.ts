/**
 * What a receiver's answer means to the sender, against real HTTP receivers: a 2xx status is the
 * acknowledgement, whatever the body does after; a refusal is recorded with its first bytes, and
 * its body is not read to the end.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sendWebhook } from '../../src/integrations/webhooks/index.ts';

let receiver: http.Server;
let base: string;
const open = new Set<http.ServerResponse>();

beforeAll(async () => {
  receiver = http.createServer((request, response) => {
    request.resume();
    open.add(response);
    response.on('close', () => open.delete(response));
    if (request.url === '/trickle') {
      // Acknowledged at once, then a body that never ends within the sender's timeout.
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('o');
      return;
    }
    if (request.url === '/flood') {
      // A refusal whose body would take long to read whole.
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.write(`busy ${'x'.repeat(64 * 1024)}`);
      return;
    }
    response.writeHead(500, { 'content-type': 'text/plain' });
    response.end('nope');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const response of open) response.destroy();
  await new Promise((resolve) => receiver?.close(resolve));
});

const send = (path: string) => sendWebhook({
  url: `${base}${path}`,
  secret: 'secret',
  event: { id: 1, task_id: '00000000-0000-4000-8000-000000000000', tenant: 'alpha', project_id: null, type: 'task_completed', payload: {}, created_at: new Date().toISOString() },
  attempt: 1,
  timeoutMs: 2000,
  policy: { allowLoopback: true, allowPrivate: false },
});

it('takes a 2xx as delivered though its body goes on, and a refusal with its first bytes', async () => {
  // Before: "no answer within 2000 ms" and no status, retried and dropped though acknowledged.
  expect(await send('/trickle')).toMatchObject({ outcome: 'delivered', statusCode: 200 });
  const flooded = await send('/flood');
  expect(flooded).toMatchObject({ outcome: 'failed', statusCode: 503, error: expect.stringMatching(/^receiver answered 503: busy x+$/) });
  expect((flooded as { error: string }).error.length).toBeLessThan(600);
  expect(await send('/refuse')).toMatchObject({ outcome: 'failed', statusCode: 500, error: 'receiver answered 500: nope' });
});
