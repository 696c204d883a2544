/**
 * Reachability of configured cloud providers for `taskloom llm models`: each provider's list of
 * models is a free request (no tokens) that needs both the network and a valid key, so an
 * answer of 200 says the provider is usable and anything else says why not. Perplexity has no
 * such endpoint and is not probed.
 */
import type { Config } from '../config.ts';

export interface ProbeRequest {
  url: string;
  headers: Record<string, string>;
}

/** Default API roots; tests point them at a local server. */
export const providerApiRoots: Record<string, string> = {
  openrouter: 'https://openrouter.ai/api/v1',
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com/v1',
  google: 'https://generativelanguage.googleapis.com/v1beta',
  groq: 'https://api.groq.com/openai/v1',
};

/** The request that proves a configured provider reachable, or undefined when it has none. */
export function probeRequest(provider: string, config: Config, roots: Record<string, string> = providerApiRoots): ProbeRequest | undefined {
  const root = roots[provider]?.replace(/\/+$/, '');
  if (!root) return undefined;
  switch (provider) {
    case 'openrouter':
      // The key endpoint, not /models (which answers without a key): it proves the key too.
      return config.openrouterApiKey ? { url: `${root}/key`, headers: { authorization: `Bearer ${config.openrouterApiKey}` } } : undefined;
    case 'openai':
      return config.openaiApiKey ? { url: `${root}/models`, headers: { authorization: `Bearer ${config.openaiApiKey}` } } : undefined;
    case 'groq':
      return config.groqApiKey ? { url: `${root}/models`, headers: { authorization: `Bearer ${config.groqApiKey}` } } : undefined;
    case 'anthropic':
      return config.anthropicApiKey ? { url: `${root}/models`, headers: { 'x-api-key': config.anthropicApiKey, 'anthropic-version': '2023-06-01' } } : undefined;
    case 'google': {
      const key = config.googleApiKey ?? config.geminiApiKey;
      return key ? { url: `${root}/models`, headers: { 'x-goog-api-key': key } } : undefined;
    }
    default:
      return undefined;
  }
}

/** True when the provider answered 200 within the timeout; undefined when it cannot be probed. */
export async function probeProvider(provider: string, config: Config, options: { roots?: Record<string, string>; timeoutMs?: number } = {}): Promise<boolean | undefined> {
  const request = probeRequest(provider, config, options.roots);
  if (!request) return undefined;
  try {
    const response = await fetch(request.url, { headers: request.headers, signal: AbortSignal.timeout(options.timeoutMs ?? 3000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
