/**
 * A local OpenAI-compatible HTTP server for tests, so the real provider path (the AI SDK's
 * openai-compatible provider, fetch, JSON parsing, error mapping) runs over real HTTP.
 *
 * - POST /v1/chat/completions answers with JSON for the request's `json_schema` response format
 *   (made by the offline model from the request's own messages), with token usage.
 * - POST /v1/embeddings answers with offline embeddings.
 * - POST /v1/images/generations answers with small PNGs (b64_json) whose colour comes from the
 *   prompt, so a test can tell two prompts' images apart.
 * - GET /v1/models lists two models.
 * - Scripted failures, consumed in order per endpoint: any status with headers (429 with
 *   Retry-After, 500), slow answers, a malformed HTTP body, malformed JSON content, JSON that
 *   does not match the schema.
 *
 * close() ends open connections and pending timers, so tests leak nothing.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { deflateSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { JSONSchema7, LanguageModelV4Prompt } from '@ai-sdk/provider';
import { embedText } from '../../src/llm/offline-embedding-model.ts';
import { OfflineLanguageModel } from '../../src/llm/offline-language-model.ts';

export type ScriptedResponse =
  /** A normal answer, optionally after a delay, optionally with fixed content. */
  | { kind: 'ok'; delayMs?: number; content?: string }
  /** An error status with an OpenAI-style error body. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; message?: string }
  /** HTTP 200 whose body is not JSON at all. */
  | { kind: 'malformed-body' }
  /** A well-formed completion whose message content is not valid JSON. */
  | { kind: 'malformed-json' }
  /** A well-formed completion whose content is JSON that does not match the schema. */
  | { kind: 'invalid-object' };

export type Endpoint = 'chat' | 'embeddings' | 'images';

export interface RecordedRequest {
  endpoint: Endpoint | 'models' | 'other';
  at: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

export interface OpenAiCompatibleServer {
  /** Base URL including `/v1`, for OPENAI_COMPATIBLE_BASE_URL. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Queues responses for the next requests to `endpoint` (after which requests succeed). */
  script(endpoint: Endpoint, ...responses: ScriptedResponse[]): void;
  close(): Promise<void>;
}

interface ChatMessage {
  role: string;
  content: string | Array<{ type: string; text?: string }>;
}

/** A valid 8x8 RGB PNG of one colour. */
export function solidPng(red: number, green: number, blue: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer): number => {
    let c = 0xffffffff;
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const check = Buffer.alloc(4);
    check.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, check]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(8, 0);
  header.writeUInt32BE(8, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: 8 }, () => [red, green, blue]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: 8 }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

function messageText(content: ChatMessage['content']): string {
  return typeof content === 'string' ? content : content.map((part) => part.text ?? '').join('\n');
}

export async function startOpenAiCompatibleServer(): Promise<OpenAiCompatibleServer> {
  const scripts: Record<Endpoint, ScriptedResponse[]> = { chat: [], embeddings: [], images: [] };
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const offline = new OfflineLanguageModel('test-server');

  const send = (response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (response.writableEnded || response.destroyed) return;
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const completion = (model: string, content: string, promptTokens: number): Record<string, unknown> => ({
    id: `chatcmpl-${requests.length}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: promptTokens, completion_tokens: Math.ceil(content.length / 4), total_tokens: promptTokens + Math.ceil(content.length / 4) },
  });

  const handleChat = (body: Record<string, unknown>, step: ScriptedResponse, response: http.ServerResponse): void => {
    const messages = (body.messages as ChatMessage[] | undefined) ?? [];
    const responseFormat = body.response_format as { type?: string; json_schema?: { schema?: JSONSchema7 } } | undefined;
    const prompt: LanguageModelV4Prompt = messages.map((message) =>
      message.role === 'system'
        ? { role: 'system', content: messageText(message.content) }
        : message.role === 'assistant'
          ? { role: 'assistant', content: [{ type: 'text', text: messageText(message.content) }] }
          : { role: 'user', content: [{ type: 'text', text: messageText(message.content) }] },
    );
    const promptTokens = Math.ceil(messages.map((message) => messageText(message.content)).join('\n').length / 4);
    const model = String(body.model ?? 'unknown');
    if (step.kind === 'malformed-body') return send(response, 200, '{"id": "chatcmpl-1", "choices": [ {');
    if (step.kind === 'malformed-json') return send(response, 200, completion(model, '{"items": [ {"title": "unterminated', promptTokens));
    if (step.kind === 'invalid-object') return send(response, 200, completion(model, JSON.stringify({ unexpected: true }), promptTokens));
    const content =
      step.kind === 'ok' && step.content !== undefined
        ? step.content
        : offline.respond({ prompt, responseFormat: responseFormat?.type === 'json_schema' ? { type: 'json', ...(responseFormat.json_schema?.schema ? { schema: responseFormat.json_schema.schema } : {}) } : { type: 'text' } });
    send(response, 200, completion(model, content, promptTokens));
  };

  const handleEmbeddings = (body: Record<string, unknown>, response: http.ServerResponse): void => {
    const input = body.input;
    const values = Array.isArray(input) ? input.map(String) : [String(input ?? '')];
    const tokens = values.reduce((sum, value) => sum + Math.ceil(value.length / 4), 0);
    send(response, 200, {
      object: 'list',
      data: values.map((value, index) => ({ object: 'embedding', index, embedding: embedText(value, 64) })),
      model: String(body.model ?? 'unknown'),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  };

  const handleImages = (body: Record<string, unknown>, response: http.ServerResponse): void => {
    const digest = createHash('sha256').update(String(body.prompt ?? '')).digest();
    const count = typeof body.n === 'number' && body.n > 0 ? Math.min(body.n, 4) : 1;
    send(response, 200, { created: Math.floor(Date.now() / 1000), data: Array.from({ length: count }, () => ({ b64_json: solidPng(digest[0]!, digest[1]!, digest[2]!).toString('base64') })) });
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = (request.url ?? '').split('?')[0] ?? '';
      const endpoint: RecordedRequest['endpoint'] = path.endsWith('/chat/completions') ? 'chat' : path.endsWith('/embeddings') ? 'embeddings' : path.endsWith('/images/generations') ? 'images' : path.endsWith('/models') ? 'models' : 'other';
      let body: Record<string, unknown> | undefined;
      try {
        body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      requests.push({ endpoint, at: Date.now(), headers: request.headers, body });
      if (endpoint === 'models') return send(response, 200, { object: 'list', data: [{ id: 'test-chat', object: 'model' }, { id: 'test-embed', object: 'model' }] });
      if (endpoint === 'other') return send(response, 404, { error: { message: `no route ${path}` } });
      if (!body) return send(response, 400, { error: { message: 'body must be JSON' } });
      const step: ScriptedResponse = scripts[endpoint].shift() ?? { kind: 'ok' };
      if (step.kind === 'status') {
        return send(response, step.status, { error: { message: step.message ?? `scripted ${step.status}`, type: 'scripted', code: step.status } }, step.headers);
      }
      const answer = (): void => (endpoint === 'chat' ? handleChat(body, step, response) : endpoint === 'images' ? handleImages(body, response) : handleEmbeddings(body, response));
      const delayMs = step.kind === 'ok' ? (step.delayMs ?? 0) : 0;
      if (delayMs <= 0) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, delayMs);
      timers.add(timer);
      // The client gave up (its timeout fired): drop the pending answer.
      response.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script(endpoint, ...responses) {
      scripts[endpoint].push(...responses);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
