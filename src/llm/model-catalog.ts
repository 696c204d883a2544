/**
 * What `taskloom llm models` shows: every provider's known default models, which purposes use
 * them, whether the provider is configured and whether it is reachable. Reachability costs no
 * tokens: the offline model always is; an OpenAI-compatible server and the configured cloud
 * providers are asked for their model list (provider-probes.ts); `taskloom llm try` is the live
 * check of a generation.
 */
import type { Config } from '../config.ts';
import { formatModelId, parseModelId, parseModelList, providerNames } from './model-id.ts';
import { probeProvider } from './provider-probes.ts';
import { configureProviders, defaultModelFor, providerDefaults } from './provider-registry.ts';
import type { LlmPurpose } from './usage-store.ts';

export interface LlmModelInfo {
  /** `provider:model`. */
  id: string;
  provider: string;
  /** Purposes this model is the default for (or `fallback`, or `available`). */
  purpose: string[];
  configured: boolean;
  /** Unknown (absent) for providers that are not configured, and for Perplexity, which has no free endpoint to ask. */
  reachable?: boolean;
}

const purposes: LlmPurpose[] = ['generation', 'judging', 'research', 'embedding'];

/** GET {baseURL}/models with a short timeout; the model ids the server reports, or undefined when unreachable. */
async function probeOpenAiCompatible(config: Config, timeoutMs = 3000): Promise<string[] | undefined> {
  if (!config.openaiCompatibleBaseUrl) return undefined;
  try {
    const response = await fetch(`${config.openaiCompatibleBaseUrl.replace(/\/+$/, '')}/models`, {
      headers: config.openaiCompatibleApiKey ? { authorization: `Bearer ${config.openaiCompatibleApiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return response.status === 404 ? [] : undefined;
    const body = (await response.json()) as { data?: Array<{ id?: unknown }> };
    return (body.data ?? []).flatMap((entry) => (typeof entry.id === 'string' ? [entry.id] : []));
  } catch {
    return undefined;
  }
}

export async function listModels(options: { config: Config; configured: readonly string[]; defaultModel: (purpose: LlmPurpose) => string; fallbackModels: readonly string[]; probeRoots?: Record<string, string> }): Promise<LlmModelInfo[]> {
  const entries = new Map<string, LlmModelInfo>();
  const configured = new Set(['offline', ...options.configured]);
  const add = (id: string, purpose: string | undefined, reachable?: boolean): void => {
    const parsed = parseModelId(id, configured);
    // A bare id is an OpenRouter id (see model-resolver.ts).
    const provider = parsed.provider ?? 'openrouter';
    const fullId = formatModelId(provider, parsed.model);
    const entry = entries.get(fullId) ?? { id: fullId, provider, purpose: [], configured: configured.has(provider) };
    if (purpose && !entry.purpose.includes(purpose)) entry.purpose.push(purpose);
    if (reachable !== undefined) entry.reachable = reachable;
    entries.set(fullId, entry);
  };
  for (const purpose of purposes) add(options.defaultModel(purpose), purpose);
  for (const id of options.fallbackModels) add(id, 'fallback');
  for (const provider of providerNames) {
    for (const model of Object.values(providerDefaults[provider])) add(formatModelId(provider, model), undefined);
  }
  const cloud = options.configured.filter((provider) => provider !== 'openai-compatible' && provider !== 'offline');
  const [served, ...probed] = await Promise.all([
    configured.has('openai-compatible') ? probeOpenAiCompatible(options.config) : Promise.resolve(undefined),
    ...cloud.map((provider) => probeProvider(provider, options.config, options.probeRoots ? { roots: options.probeRoots } : {})),
  ]);
  const reachableCloud = new Map(cloud.map((provider, index) => [provider, probed[index]]));
  for (const model of served ?? []) add(formatModelId('openai-compatible', model), 'available');
  for (const entry of entries.values()) {
    if (entry.provider === 'offline') entry.reachable = true;
    if (entry.provider === 'openai-compatible' && configured.has('openai-compatible')) entry.reachable = served !== undefined;
    const cloudReachable = reachableCloud.get(entry.provider);
    if (cloudReachable !== undefined) entry.reachable = cloudReachable;
    if (entry.purpose.length === 0) entry.purpose.push('available');
  }
  return [...entries.values()].sort((left, right) => Number(right.configured) - Number(left.configured) || providerNames.indexOf(left.provider as never) - providerNames.indexOf(right.provider as never) || left.id.localeCompare(right.id));
}

/** The catalog for a config alone, without a gateway or a database (`taskloom llm models`). */
export function listModelsForConfig(config: Config, options: { probeRoots?: Record<string, string> } = {}): Promise<LlmModelInfo[]> {
  const { configured } = configureProviders(config);
  return listModels({ config, configured, defaultModel: (purpose) => defaultModelFor(purpose, config, configured), fallbackModels: parseModelList(config.llmFallbackModels), ...options });
}
