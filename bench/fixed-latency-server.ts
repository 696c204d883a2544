/**
 * A tiny OpenAI-compatible server for benchmarks: every `POST /v1/chat/completions` and
 * `POST /v1/embeddings` answers after exactly `latencyMs`. Chat answers are the offline model's
 * (JSON valid against the request's json_schema); embeddings are the offline embedding at its
 * full 1024 dimensions, so duplicate detection behaves as it does offline.
 *
 * Why not test/support/openai-compatible-server.ts: it embeds in 64 dimensions, where unrelated
 * texts on one subject collide above the 0.90 duplicate threshold and most items would be
 * dropped as duplicates, which measures the test double rather than the pipeline.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONSchema7, LanguageModelV4Prompt } from '@ai-sdk/provider';
import { embedText, OfflineLanguageModel } from '../src/llm/index.ts';

interface ChatMessage {
  role: string;
  content: string | Array<{ type: string; text?: string }>;
}

const textOf = (content: ChatMessage['content']): string => (typeof content === 'string' ? content : content.map((part) => part.text ?? '').join('\n'));

export async function startFixedLatencyServer(latencyMs: number): Promise<{ baseUrl: string; requests: number; close(): Promise<void> }> {
  const offline = new OfflineLanguageModel('bench');
  const timers = new Set<NodeJS.Timeout>();
  const state = { requests: 0 };
  const answer = (body: Record<string, any>, path: string): unknown => {
    if (path.endsWith('/embeddings')) {
      const values = (Array.isArray(body.input) ? body.input : [body.input]).map(String);
      const tokens = values.reduce((sum: number, value: string) => sum + Math.ceil(value.length / 4), 0);
      return { object: 'list', model: body.model, data: values.map((value: string, index: number) => ({ object: 'embedding', index, embedding: embedText(value) })), usage: { prompt_tokens: tokens, total_tokens: tokens } };
    }
    const messages = (body.messages ?? []) as ChatMessage[];
    const prompt: LanguageModelV4Prompt = messages.map((message) =>
      message.role === 'system'
        ? { role: 'system', content: textOf(message.content) }
        : message.role === 'assistant'
          ? { role: 'assistant', content: [{ type: 'text', text: textOf(message.content) }] }
          : { role: 'user', content: [{ type: 'text', text: textOf(message.content) }] },
    );
    const schema = body.response_format?.json_schema?.schema as JSONSchema7 | undefined;
    const content = offline.respond({ prompt, responseFormat: schema ? { type: 'json', schema } : { type: 'text' } });
    const promptTokens = Math.ceil(messages.map((message) => textOf(message.content)).join('\n').length / 4);
    const completionTokens = Math.ceil(content.length / 4);
    return {
      id: `chatcmpl-${state.requests}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    };
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received = performance.now();
      state.requests += 1;
      const path = (request.url ?? '').split('?')[0] ?? '';
      let body: Record<string, any>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any>;
      } catch {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end('{"error":{"message":"body must be JSON"}}');
        return;
      }
      // The answer is computed at once and sent latencyMs after the request arrived, so the
      // server's own work does not add to the latency it promises.
      const payload = JSON.stringify(answer(body, path));
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (response.destroyed) return;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(payload);
      }, Math.max(0, latencyMs - (performance.now() - received)));
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/**
 * Run as its own process (`node bench/fixed-latency-server.ts LATENCY_MS`), as a remote provider
 * would be: prints `{"baseUrl": ...}` on stdout and serves until SIGTERM. bench/gather.ts starts
 * it this way so the server's work never runs on the pipeline's event loop.
 */
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const server = await startFixedLatencyServer(Number(process.argv[2] ?? 200));
  process.stdout.write(`${JSON.stringify({ baseUrl: server.baseUrl })}\n`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
