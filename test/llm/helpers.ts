/**
 * Shared helpers of the LLM tests: a config without any real key, a silent logger and mock model
 * results at the LanguageModelV4 spec interface.
 */
import type { LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from '@ai-sdk/provider';
import { APICallError } from '@ai-sdk/provider';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/logger.ts';

/** A config from overrides only: the machine's environment (and any real key in it) is ignored. */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  return loadConfig({ llmMaxRetries: 2, ...overrides }, {});
}

export const silentLogger: Logger = createLogger('silent');

export function textResult(text: string, usage: { input?: number; output?: number } = {}): LanguageModelV4GenerateResult {
  const input = usage.input ?? 12;
  const output = usage.output ?? 7;
  return {
    content: [{ type: 'text', text }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: { inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: output, text: output, reasoning: 0 } },
    warnings: [],
  };
}

export function jsonResult(value: unknown, usage: { input?: number; output?: number } = {}): LanguageModelV4GenerateResult {
  return textResult(JSON.stringify(value), usage);
}

export function httpError(statusCode: number, headers: Record<string, string> = {}): APICallError {
  return new APICallError({
    message: `mock provider answered ${statusCode}`,
    url: 'http://mock.invalid/v1/chat/completions',
    requestBodyValues: {},
    statusCode,
    responseHeaders: headers,
    responseBody: '{"error":"mock"}',
    isRetryable: statusCode === 429 || statusCode >= 500,
  });
}

/** Resolves when `signal` aborts, then throws its reason (what a real provider's fetch does). */
export function waitForAbort(options: LanguageModelV4CallOptions): Promise<never> {
  return new Promise((_, reject) => {
    const signal = options.abortSignal;
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** All text of a call's prompt, for asserting what the model was sent. */
export function promptOf(options: LanguageModelV4CallOptions): string {
  return options.prompt
    .map((message) => (typeof message.content === 'string' ? message.content : message.content.map((part) => ('text' in part ? part.text : '')).join('\n')))
    .join('\n---\n');
}
