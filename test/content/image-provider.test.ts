/**
 * generate_image's provider path over real HTTP: TASKLOOM_CONTENT_IMAGE_MODEL naming an
 * OpenAI-compatible image model, answered by the local test server; with none configured, a
 * clear provider_not_configured and no request at all.
 */
import { generateImage } from 'ai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { resolveImageModel } from '../../src/pipelines/content/image-model.ts';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../support/openai-compatible-server.ts';

let server: OpenAiCompatibleServer;

beforeAll(async () => {
  server = await startOpenAiCompatibleServer();
});

afterAll(async () => {
  await server?.close();
});

const services = (overrides: Parameters<typeof loadConfig>[0]) => ({ config: loadConfig(overrides, {}) }) as Parameters<typeof resolveImageModel>[0];

it('generates a PNG through the configured OpenAI-compatible image model', async () => {
  const model = await resolveImageModel(services({ openaiCompatibleBaseUrl: server.baseUrl, contentImageModel: 'openai-compatible:test-image' }));
  const first = await generateImage({ model, prompt: 'A cold brew bottle on a sunny windowsill', n: 1, maxRetries: 0 });
  const second = await generateImage({ model, prompt: 'A bicycle by a fjord at dawn', n: 1, maxRetries: 0 });
  const bytes = Buffer.from(first.images[0]!.uint8Array);
  expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(first.images[0]!.mediaType).toBe('image/png');
  expect(Buffer.from(second.images[0]!.uint8Array).equals(bytes)).toBe(false);
  const requests = server.requests.filter((request) => request.endpoint === 'images');
  expect(requests).toHaveLength(2);
  expect(requests[0]!.body).toMatchObject({ model: 'test-image', prompt: 'A cold brew bottle on a sunny windowsill' });
});

it('refuses with provider_not_configured when no image model is configured, without a request', async () => {
  const before = server.requests.length;
  await expect(resolveImageModel(services({}))).rejects.toMatchObject({ code: 'provider_not_configured' });
  await expect(resolveImageModel(services({ contentImageModel: 'openai-compatible:test-image' }))).rejects.toMatchObject({ code: 'provider_not_configured' });
  expect(server.requests.length).toBe(before);
});
