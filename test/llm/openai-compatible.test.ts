/**
 * The real provider path over real HTTP: the gateway configured with OPENAI_COMPATIBLE_BASE_URL
 * pointing at a local OpenAI-compatible server (test/support/openai-compatible-server.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ConfigOverrides } from '../../src/config.ts';
import { createLlmGateway, LlmError, type LlmGateway } from '../../src/llm/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../support/openai-compatible-server.ts';
import { silentLogger, testConfig } from './helpers.ts';

const gatherSchema = z.object({
  items: z.array(z.object({ content: z.string().min(10), summary: z.string().max(300), context: z.string() })).min(2).max(4),
});
const request = {
  schema: gatherSchema,
  instructions: 'You write gather items for a film production department.',
  prompt: 'Department: Sound. Generate 3 gather items about dialogue recording, foley and room tone.',
};

let database: TestDatabase;
let server: OpenAiCompatibleServer;

beforeAll(async () => {
  [database, server] = await Promise.all([createTestDatabase(), startOpenAiCompatibleServer()]);
});

afterAll(async () => {
  await Promise.all([database.drop(), server.close()]);
});

beforeEach(() => {
  server.requests.length = 0;
});

function gateway(overrides: ConfigOverrides = {}): LlmGateway {
  return createLlmGateway({
    config: testConfig({
      openaiCompatibleBaseUrl: server.baseUrl,
      openaiCompatibleApiKey: 'local-test-key',
      llmGenerationModel: 'openai-compatible:test-chat',
      llmEmbeddingModel: 'openai-compatible:test-embed',
      ...overrides,
    }),
    pool: database.pool,
    logger: silentLogger,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    privateLimiters: true,
  });
}

describe('OpenAI-compatible provider over HTTP', () => {
  it('sends the schema as a json_schema response format and validates the answer', async () => {
    const result = await gateway().generateStructured(request);
    expect(result.model).toBe('openai-compatible:test-chat');
    expect(result.object.items).toHaveLength(3);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    const sent = server.requests.find((entry) => entry.endpoint === 'chat');
    expect(sent?.headers.authorization).toBe('Bearer local-test-key');
    expect(sent?.body).toMatchObject({ model: 'test-chat', response_format: { type: 'json_schema', json_schema: { schema: { type: 'object', required: ['items'] } } } });
    expect(sent?.body?.messages).toEqual([
      { role: 'system', content: request.instructions },
      { role: 'user', content: request.prompt },
    ]);
  });

  it('waits out a 429 with Retry-After, then succeeds', async () => {
    server.script('chat', { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const started = Date.now();
    const result = await gateway().generateStructured(request);
    expect(result.object.items.length).toBeGreaterThanOrEqual(2);
    const chats = server.requests.filter((entry) => entry.endpoint === 'chat');
    expect(chats).toHaveLength(2);
    expect((chats[1]?.at ?? 0) - (chats[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('retries a 500 and fails clearly when it persists', async () => {
    server.script('chat', { kind: 'status', status: 500 });
    expect((await gateway().generateStructured(request)).object.items.length).toBeGreaterThan(0);

    server.script('chat', { kind: 'status', status: 500, message: 'upstream exploded' }, { kind: 'status', status: 500, message: 'upstream exploded' });
    const error = (await gateway({ llmMaxRetries: 1 }).generateStructured(request).catch((caught: unknown) => caught)) as LlmError;
    expect(error).toBeInstanceOf(LlmError);
    expect(error.code).toBe('llm_call_failed');
    expect(error.message).toMatch(/provider openai-compatible, model test-chat: HTTP 500: upstream exploded/);
    expect(error.details.statusCode).toBe(500);
    expect(error.retryable).toBe(true);
  });

  it('aborts a slow answer at the per-call timeout and succeeds on the retry', async () => {
    server.script('chat', { kind: 'ok', delayMs: 2000 });
    const started = Date.now();
    const result = await gateway({ llmTimeoutMs: 300, llmMaxRetries: 1 }).generateStructured(request);
    expect(result.object.items.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(1500);

    server.script('chat', { kind: 'ok', delayMs: 2000 });
    const error = (await gateway({ llmTimeoutMs: 200, llmMaxRetries: 0 }).generateStructured(request).catch((caught: unknown) => caught)) as LlmError;
    expect(error.code).toBe('llm_call_failed');
    expect(error.message).toMatch(/timed out: provider openai-compatible, model test-chat/);
  });

  it('a slow answer inside the timeout is fine', async () => {
    server.script('chat', { kind: 'ok', delayMs: 150 });
    const result = await gateway({ llmTimeoutMs: 2000 }).generateStructured(request);
    expect(result.object.items.length).toBeGreaterThan(0);
  });

  it('repairs malformed JSON content with a second request carrying the error', async () => {
    server.script('chat', { kind: 'malformed-json' });
    const result = await gateway().generateStructured(request);
    expect(result.object.items.length).toBeGreaterThan(0);
    const chats = server.requests.filter((entry) => entry.endpoint === 'chat');
    expect(chats).toHaveLength(2);
    const messages = chats[1]?.body?.messages as Array<{ role: string; content: string }>;
    expect(messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[3]?.content).toContain('did not match the required JSON schema');
  });

  it('takes a right answer wrapped in a code fence or a sentence at once, and nothing the schema refuses', async () => {
    const answer = { items: [
      { content: 'Record dialogue with a boom and a lavalier.', summary: 'Dialogue', context: 'Set' },
      { content: 'Capture room tone for every location.', summary: 'Room tone', context: 'Set' },
    ] };
    server.script('chat', { kind: 'ok', content: `\`\`\`json\n${JSON.stringify(answer, null, 2)}\n\`\`\`` }, { kind: 'ok', content: `Here is the JSON you asked for: ${JSON.stringify(answer)} Let me know if you need more.` });
    for (let call = 0; call < 2; call += 1) expect((await gateway().generateStructured(request)).object).toEqual(answer);
    // No repair round: one request each.
    expect(server.requests.filter((entry) => entry.endpoint === 'chat')).toHaveLength(2);
    // A fenced value the schema refuses is still refused (repaired, then failed).
    server.script('chat', { kind: 'ok', content: '```json\n{"items": []}\n```' }, { kind: 'ok', content: '```json\n{"items": []}\n```' });
    const error = (await gateway().generateStructured(request).catch((caught: unknown) => caught)) as LlmError;
    expect(error.code).toBe('llm_invalid_output');
  });

  it('fails with llm_invalid_output when the answer stays off-schema', async () => {
    server.script('chat', { kind: 'invalid-object' }, { kind: 'invalid-object' });
    const error = (await gateway().generateStructured(request).catch((caught: unknown) => caught)) as LlmError;
    expect(error.code).toBe('llm_invalid_output');
    expect(error.message).toMatch(/provider openai-compatible, model test-chat: No object generated: response did not match schema/);
  });

  it('reports a malformed HTTP body as a clear, non-retried failure', async () => {
    server.script('chat', { kind: 'malformed-body' });
    const error = (await gateway().generateStructured(request).catch((caught: unknown) => caught)) as LlmError;
    expect(error.code).toBe('llm_call_failed');
    expect(error.message).toMatch(/provider openai-compatible, model test-chat: .*(JSON|parse)/i);
    expect(server.requests.filter((entry) => entry.endpoint === 'chat')).toHaveLength(1);
  });

  it('embeds through the server, retrying a 429', async () => {
    server.script('embeddings', { kind: 'status', status: 429, headers: { 'retry-after-ms': '50' } });
    const result = await gateway().embedTexts({ texts: ['room tone', 'foley footsteps'] });
    expect(result.model).toBe('openai-compatible:test-embed');
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings[0]).toHaveLength(64);
    expect(server.requests.filter((entry) => entry.endpoint === 'embeddings')).toHaveLength(2);
  });

  it('lists the server models as reachable', async () => {
    const models = await gateway().listModels();
    expect(models.find((model) => model.id === 'openai-compatible:test-chat')).toMatchObject({ configured: true, reachable: true, purpose: expect.arrayContaining(['generation']) });
    expect(models.find((model) => model.id === 'openai-compatible:test-embed')).toMatchObject({ reachable: true, purpose: expect.arrayContaining(['embedding']) });
  });
});
