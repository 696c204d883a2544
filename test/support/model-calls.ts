/**
 * What a mock model at the AI SDK's interface reads of a call: its system and user text, which a
 * scripted model matches to decide how to answer.
 */
import type { LanguageModelV4CallOptions } from '@ai-sdk/provider';

/** System and user text of a call, each part joined by newlines. */
export function callText(options: LanguageModelV4CallOptions): { system: string; user: string } {
  const system: string[] = [];
  const user: string[] = [];
  for (const message of options.prompt) {
    if (message.role === 'system') system.push(message.content);
    else if (message.role === 'user') user.push(message.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n'));
  }
  return { system: system.join('\n'), user: user.join('\n') };
}
