/**
 * Model ids. Every model is named `provider:model` (`openrouter:anthropic/claude-sonnet-4.5`,
 * `openai-compatible:llama3.2:3b`, `offline:default`). The seeds name department models the
 * OpenRouter way without a provider (`anthropic/claude-sonnet-4.5`); such bare ids resolve through
 * OpenRouter when its key is set.
 */

/** Every provider the gateway knows, in the order `llm models` lists them. */
export const providerNames = ['offline', 'openrouter', 'openai', 'google', 'anthropic', 'groq', 'perplexity', 'openai-compatible'] as const;
export type ProviderName = (typeof providerNames)[number];

/** Other spellings accepted before the colon. */
const providerAliases: Record<string, ProviderName> = { gemini: 'google', 'google-generative-ai': 'google', ollama: 'openai-compatible', local: 'openai-compatible' };

export interface ParsedModelId {
  /** The provider part, or undefined for a bare id such as `anthropic/claude-sonnet-4.5`. */
  provider: string | undefined;
  /** The provider's own model id (everything after the first colon). */
  model: string;
}

/**
 * Splits an id at its first colon when the part before it is a known provider (or alias, or one
 * of `extraProviders`). Anything else is bare: `llama3.2:3b` has a colon but no provider.
 */
export function parseModelId(id: string, extraProviders: Iterable<string> = []): ParsedModelId {
  const trimmed = id.trim();
  const index = trimmed.indexOf(':');
  if (index > 0) {
    const prefix = trimmed.slice(0, index).toLowerCase();
    const extra = new Set(extraProviders);
    if (extra.has(prefix)) return { provider: prefix, model: trimmed.slice(index + 1) };
    const known = (providerNames as readonly string[]).includes(prefix) ? (prefix as ProviderName) : providerAliases[prefix];
    if (known) return { provider: known, model: trimmed.slice(index + 1) };
  }
  return { provider: undefined, model: trimmed };
}

/** Whether `id` (as `resolveModel` returns it) is served by the offline model, which reads nothing. */
export function isOfflineModel(id: string): boolean {
  return parseModelId(id).provider === 'offline';
}

export function formatModelId(provider: string, model: string): string {
  return `${provider}:${model}`;
}

/** Splits a comma-separated list of model ids, dropping blanks. */
export function parseModelList(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
}
