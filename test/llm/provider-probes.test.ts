/**
 * `taskloom llm models` says whether each configured cloud provider is reachable, by asking for
 * its model list (a free request that needs the network and a valid key), here against a local
 * server standing in for the providers' APIs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { listModelsForConfig } from '../../src/llm/index.ts';

let server: http.Server;
let root: string;
const seen: Array<{ path: string; headers: http.IncomingHttpHeaders }> = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    seen.push({ path: request.url ?? '', headers: request.headers });
    const authorised = request.headers.authorization === 'Bearer good-key' || request.headers['x-api-key'] === 'good-key' || request.headers['x-goog-api-key'] === 'good-key';
    response.writeHead(authorised ? 200 : 401, { 'content-type': 'application/json' }).end(authorised ? '{"data":[]}' : '{"error":"invalid key"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('marks configured providers reachable only when their API accepts the key', async () => {
  const config = loadConfig({}, {
    OPENAI_API_KEY: 'good-key',
    ANTHROPIC_API_KEY: 'wrong-key',
    GEMINI_API_KEY: 'good-key',
    GROQ_API_KEY: 'good-key',
    OPENROUTER_API_KEY: 'good-key',
    PERPLEXITY_API_KEY: 'any-key',
  });
  const models = await listModelsForConfig(config, {
    probeRoots: {
      openai: `${root}/openai/v1`,
      anthropic: `${root}/anthropic/v1`,
      google: `${root}/google/v1beta`,
      groq: `${root}/groq/openai/v1`,
      // Nothing listens here: the network check fails.
      openrouter: 'http://127.0.0.1:9/api/v1',
    },
  });
  const reachable = (provider: string): Array<boolean | undefined> => [...new Set(models.filter((model) => model.provider === provider).map((model) => model.reachable))];
  expect(reachable('openai')).toEqual([true]);
  expect(reachable('anthropic')).toEqual([false]);
  expect(reachable('google')).toEqual([true]);
  expect(reachable('groq')).toEqual([true]);
  expect(reachable('openrouter')).toEqual([false]);
  // No free endpoint to ask: unknown rather than guessed.
  expect(reachable('perplexity')).toEqual([undefined]);
  expect(reachable('offline')).toEqual([true]);
  // Each provider was asked the way its API expects, with the key where it belongs.
  expect(seen.find((entry) => entry.path === '/anthropic/v1/models')?.headers['anthropic-version']).toBe('2023-06-01');
  expect(seen.find((entry) => entry.path === '/google/v1beta/models')?.headers['x-goog-api-key']).toBe('good-key');
  expect(seen.every((entry) => !entry.path.includes('key='))).toBe(true);
});
