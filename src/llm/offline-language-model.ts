/**
 * The offline language model: a real LanguageModelV4 that needs no network and no key. It is the
 * default when no provider is configured, so taskloom runs end to end out of the box.
 *
 * Given a JSON response format it returns JSON valid against the schema (json-schema-sampler.ts)
 * whose text is made of the prompt's own subject terms (subject-terms.ts, offline-text.ts).
 * Everything is seeded by a hash of the system text and the user prompt: the same prompt always
 * yields the same output, any change (a new iteration number, another department) yields other
 * items. Score-like numbers grow with the number of items the prompt says exist.
 */
import type { LanguageModelV4, LanguageModelV4CallOptions, LanguageModelV4GenerateResult, LanguageModelV4Prompt, LanguageModelV4StreamPart, LanguageModelV4StreamResult } from '@ai-sdk/provider';
import { createRandom, hash32 } from './deterministic-random.ts';
import { sampleJsonSchema } from './json-schema-sampler.ts';
import { composeText, createTextMaterial } from './offline-text.ts';
import { extractSubjectTerms } from './subject-terms.ts';

/** Rough token estimate (about four characters per token for English), for usage accounting. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

interface PromptText {
  system: string;
  user: string;
  all: string;
}

/**
 * The system text and the user text before the first assistant turn. Later turns (a repair
 * request quoting a validation error) do not change the seed: the offline output is always valid,
 * so the repaired answer is the same answer.
 */
function promptText(prompt: LanguageModelV4Prompt): PromptText {
  const system: string[] = [];
  const user: string[] = [];
  const all: string[] = [];
  let answered = false;
  for (const message of prompt) {
    if (message.role === 'system') {
      system.push(message.content);
      all.push(message.content);
    } else if (message.role === 'user') {
      const text = message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
      all.push(text);
      if (!answered) user.push(text);
    } else if (message.role === 'assistant') {
      answered = true;
    }
  }
  return { system: system.join('\n'), user: user.join('\n'), all: all.join('\n') };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted.', 'AbortError');
}

export class OfflineLanguageModel implements LanguageModelV4 {
  readonly specificationVersion = 'v4';
  readonly provider = 'offline';
  readonly modelId: string;
  readonly supportedUrls: Record<string, RegExp[]> = {};

  constructor(modelId = 'default') {
    this.modelId = modelId;
  }

  /** The text this model answers `options` with (JSON when a JSON response format is asked for). */
  respond(options: LanguageModelV4CallOptions): string {
    const text = promptText(options.prompt);
    const seed = `${hash32(text.system)}:${hash32(text.user)}:${text.user.length}`;
    const subject = extractSubjectTerms(text.user, text.system);
    const material = createTextMaterial(subject, createRandom(`${seed}|order`));
    const format = options.responseFormat;
    if (format?.type === 'json') {
      const schema = format.schema ?? { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
      const value = sampleJsonSchema(schema, {
        material,
        seed,
        evidence: subject.existingItemCount,
        ...(subject.requestedCount === undefined ? {} : { requestedCount: subject.requestedCount }),
      });
      return JSON.stringify(value);
    }
    return composeText('content', material, createRandom(`${seed}|text`), 0);
  }

  async doGenerate(options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    throwIfAborted(options.abortSignal);
    const text = this.respond(options);
    const inputTokens = estimateTokens(promptText(options.prompt).all);
    const outputTokens = estimateTokens(text);
    return {
      content: [{ type: 'text', text }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: outputTokens, text: outputTokens, reasoning: 0 },
      },
      response: { modelId: this.modelId },
      warnings: [],
    };
  }

  async doStream(options: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    const result = await this.doGenerate(options);
    const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
    const parts: LanguageModelV4StreamPart[] = [
      { type: 'stream-start', warnings: [] },
      { type: 'response-metadata', modelId: this.modelId },
      { type: 'text-start', id: '0' },
      ...(text.match(/[\s\S]{1,64}/g) ?? []).map((delta): LanguageModelV4StreamPart => ({ type: 'text-delta', id: '0', delta })),
      { type: 'text-end', id: '0' },
      { type: 'finish', usage: result.usage, finishReason: result.finishReason },
    ];
    return {
      stream: new ReadableStream<LanguageModelV4StreamPart>({
        start(controller) {
          for (const part of parts) controller.enqueue(part);
          controller.close();
        },
      }),
    };
  }
}
