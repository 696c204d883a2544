/**
 * What `redactAddresses` takes out of the errors users see, and what it must leave: addresses go,
 * JSON, times and code that merely contain colons stay.
 */
import { expect, it } from 'vitest';
import { redactAddresses } from '../src/redact.ts';
import { serializeError } from '../src/errors.ts';

const gone = '[internal address]';

it('removes IPv4 and IPv6 addresses, URLs\' authorities and the host after a socket error code', () => {
  expect(redactAddresses('connect ECONNREFUSED 10.0.3.7:19101')).toBe(`connect ECONNREFUSED ${gone}`);
  expect(redactAddresses('connect ECONNREFUSED ::1:5432')).toBe(`connect ECONNREFUSED ${gone}`);
  expect(redactAddresses('getaddrinfo ENOTFOUND payload.internal')).toBe(`getaddrinfo ENOTFOUND ${gone}`);
  expect(redactAddresses('POST https://brain.internal:8443/v1/index failed')).toBe(`POST https://${gone} failed`);
  for (const address of ['fe80::1', '::ffff:a00:1', '2001:db8::1', '2001:db8:0:0:0:0:0:1', '[::1]:80', 'localhost:3000']) {
    expect(redactAddresses(`dialled ${address} and gave up`)).toBe(`dialled ${gone} and gave up`);
  }
});

it('leaves JSON, clock times, ratios and scoped names alone', () => {
  for (const text of ['{"a":1}', '{"a":1,"b":{"c":2}}', '{"cafe":12,"b":"::"}', 'at 12:30:45', 'ratio 3:2', 'std::vector', 'dead:beef', '::']) {
    expect(redactAddresses(text)).toBe(text);
  }
});

it('keeps a thrown object\'s JSON readable in the stored error, without the request and keys it may hold', () => {
  expect(serializeError({ reason: 'quota', remaining: 0 })).toMatchObject({ message: expect.stringContaining('"remaining":0') });
  const { message } = serializeError({
    status: 401, config: { url: '/v1/chat' }, headers: { Authorization: 'Bearer sk-live-123' }, api_key: 'sk-live-123',
    accessToken: 'sk-live-123', refresh_token: 'sk-live-123', clientSecret: 'sk-live-123', privateKey: 'sk-live-123', 'x-goog-api-key': 'sk-live-123',
  });
  expect(message).toContain('"status":401');
  expect(message).not.toContain('sk-live-123');
});

it('leaves text it already redacted as it is: a stored error wraps a redacted message and is redacted again', () => {
  const once = redactAddresses('GET http://10.0.3.7:3000/api/departments answered 200 with a body that is not JSON; connect ECONNREFUSED 10.0.3.7:19101 at localhost:80');
  expect(once).toBe('GET http://[internal address] answered 200 with a body that is not JSON; connect ECONNREFUSED [internal address] at [internal address]');
  expect(redactAddresses(once)).toBe(once);
  expect(redactAddresses(`Payload CMS: could not load the departments (${once})`)).toBe(`Payload CMS: could not load the departments (${once})`);
  // Only the placeholder alone is left: a URL that merely starts like it is still redacted.
  expect(redactAddresses('GET http://[internal address]user:pw@10.0.0.1/x?token=abc')).toBe('GET http://[internal address]');
});
