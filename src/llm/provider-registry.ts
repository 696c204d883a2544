/**
 * Which providers are enabled (by their keys in the config), their default models, and the
 * providers themselves, which turn `provider:model` ids into models. The offline provider is
 * always registered; it is the default whenever nothing else is configured.
 *
 * A provider's package is imported when a model of that provider is first asked for, not with
 * this module: the eight AI SDK provider packages are about 1.9 MB of source, which a process
 * that lists task types, or runs on one provider, should not load. Which providers are configured
 * is known from the config alone.
 */
import { NoSuchModelError, type EmbeddingModelV4, type ImageModelV4, type LanguageModelV4, type ProviderV4 } from '@ai-sdk/provider';
import { cachedPromise } from '../cached-promise.ts';
import type { Config } from '../config.ts';
import { LlmError } from './errors.ts';
import { OfflineEmbeddingModel } from './offline-embedding-model.ts';
import { OfflineLanguageModel } from './offline-language-model.ts';
import { providerNames, type ProviderName } from './model-id.ts';
import type { LlmPurpose } from './usage-store.ts';

/** The offline provider: any model id works; `offline:default` and `offline:embedding` are the documented ones. */
export function createOfflineProvider(): ProviderV4 {
  return {
    specificationVersion: 'v4',
    languageModel: (modelId: string) => new OfflineLanguageModel(modelId),
    embeddingModel: (modelId: string) => new OfflineEmbeddingModel(modelId),
    imageModel: (modelId: string) => {
      throw new NoSuchModelError({ modelId, modelType: 'imageModel', message: 'The offline provider has no image models.' });
    },
  };
}

export const offlineGenerationModel = 'offline:default';
export const offlineEmbeddingModel = 'offline:embedding';

/**
 * Default models of each provider when it is the first configured one and no default is set.
 * Embeddings default to the offline model whatever is configured (see docs/llm.md: duplicate
 * thresholds are tuned per embedding model, so switching must be a deliberate choice).
 */
export const providerDefaults: Record<ProviderName, Partial<Record<Exclude<LlmPurpose, 'embedding'>, string>> & { embedding?: string }> = {
  offline: { generation: 'default', judging: 'default', research: 'default', embedding: 'embedding' },
  openrouter: { generation: 'anthropic/claude-sonnet-4.5', judging: 'anthropic/claude-sonnet-4.5', research: 'perplexity/sonar', embedding: 'openai/text-embedding-3-small' },
  openai: { generation: 'gpt-4.1-mini', judging: 'gpt-4.1-mini', research: 'gpt-4.1', embedding: 'text-embedding-3-small' },
  google: { generation: 'gemini-2.5-flash', judging: 'gemini-2.5-flash', research: 'gemini-2.5-pro', embedding: 'gemini-embedding-001' },
  anthropic: { generation: 'claude-sonnet-4-5', judging: 'claude-sonnet-4-5', research: 'claude-sonnet-4-5' },
  groq: { generation: 'llama-3.3-70b-versatile', judging: 'llama-3.3-70b-versatile', research: 'llama-3.3-70b-versatile' },
  perplexity: { research: 'sonar-pro' },
  // An OpenAI-compatible server serves whatever it has loaded: name the model in the config.
  'openai-compatible': {},
};

/** Preference order for choosing a default provider when several are configured. */
const defaultPreference: ProviderName[] = ['openrouter', 'openai', 'anthropic', 'google', 'groq', 'openai-compatible', 'perplexity'];

type CloudProviderName = Exclude<ProviderName, 'offline'>;

/**
 * How each cloud provider is enabled by the config and built, in the order they are registered.
 * `create` imports the provider's package; it is called once per ConfiguredProviders, on first use.
 */
const cloudProviders: Record<CloudProviderName, { enabled: (config: Config) => boolean; create: (config: Config) => Promise<ProviderV4> }> = {
  openrouter: {
    enabled: (config) => Boolean(config.openrouterApiKey),
    create: async (config) => (await import('@openrouter/ai-sdk-provider')).createOpenRouter({ apiKey: config.openrouterApiKey, compatibility: 'strict' }),
  },
  openai: {
    enabled: (config) => Boolean(config.openaiApiKey),
    create: async (config) => (await import('@ai-sdk/openai')).createOpenAI({ apiKey: config.openaiApiKey }),
  },
  google: {
    enabled: (config) => Boolean(config.googleApiKey ?? config.geminiApiKey),
    create: async (config) => (await import('@ai-sdk/google')).createGoogleGenerativeAI({ apiKey: config.googleApiKey ?? config.geminiApiKey }),
  },
  anthropic: {
    enabled: (config) => Boolean(config.anthropicApiKey),
    create: async (config) => (await import('@ai-sdk/anthropic')).createAnthropic({ apiKey: config.anthropicApiKey }),
  },
  groq: {
    enabled: (config) => Boolean(config.groqApiKey),
    create: async (config) => (await import('@ai-sdk/groq')).createGroq({ apiKey: config.groqApiKey }),
  },
  perplexity: {
    enabled: (config) => Boolean(config.perplexityApiKey),
    create: async (config) => (await import('@ai-sdk/perplexity')).createPerplexity({ apiKey: config.perplexityApiKey }),
  },
  'openai-compatible': {
    enabled: (config) => Boolean(config.openaiCompatibleBaseUrl),
    create: async (config) => (await import('@ai-sdk/openai-compatible')).createOpenAICompatible({
      name: 'openai-compatible',
      baseURL: config.openaiCompatibleBaseUrl!.replace(/\/+$/, ''),
      ...(config.openaiCompatibleApiKey ? { apiKey: config.openaiCompatibleApiKey } : {}),
      // Without this the provider silently drops the JSON schema from the request.
      supportsStructuredOutputs: true,
      includeUsage: true,
    }),
  },
};

export interface ConfiguredProviders {
  /** Every registered provider by name: offline, the configured ones, the injected ones. */
  registered: string[];
  /** Names of providers enabled by keys or injected (offline excluded). */
  configured: string[];
  /** The provider registered under `name`, its package imported on first use. Rejects with `llm_unknown_model` for any other name. */
  provider(name: string): Promise<ProviderV4>;
  /** The model a `provider:model` id names (split at the first colon, as the AI SDK's registry does). */
  languageModel(id: string): Promise<LanguageModelV4>;
  embeddingModel(id: string): Promise<EmbeddingModelV4>;
  imageModel(id: string): Promise<ImageModelV4>;
}

/** Registers the providers the config enables, plus injected ones (tests) which win on name clashes. */
export function configureProviders(config: Config, injected: Record<string, ProviderV4> = {}): ConfiguredProviders {
  const enabled = (Object.keys(cloudProviders) as CloudProviderName[]).filter((name) => cloudProviders[name].enabled(config));
  const configured = [...new Set([...enabled, ...Object.keys(injected)])].filter((name) => name !== 'offline');
  const registered = ['offline', ...configured];
  const loaded = new Map<string, Promise<ProviderV4>>(Object.entries(injected).map(([name, provider]) => [name, Promise.resolve(provider)]));
  if (!loaded.has('offline')) loaded.set('offline', Promise.resolve(createOfflineProvider()));
  const provider = (name: string): Promise<ProviderV4> => {
    if (!loaded.has(name) && !(enabled as string[]).includes(name)) {
      const variable = isKnownProvider(name) ? providerKeyVariable[name] : undefined;
      return Promise.reject(new LlmError('llm_unknown_model', `Provider "${name}" is not configured${variable ? ` (set ${variable})` : ''}.`, { details: { provider: name } }));
    }
    // A failed import is not remembered: the next call tries again.
    return cachedPromise(loaded, name, () => cloudProviders[name as CloudProviderName].create(config));
  };
  const split = (id: string, modelType: 'languageModel' | 'embeddingModel' | 'imageModel'): { name: string; modelId: string } => {
    const index = id.indexOf(':');
    if (index <= 0) throw new NoSuchModelError({ modelId: id, modelType, message: `Invalid model id "${id}": expected "provider:model".` });
    return { name: id.slice(0, index), modelId: id.slice(index + 1) };
  };
  return {
    registered,
    configured,
    provider,
    async languageModel(id) {
      const { name, modelId } = split(id, 'languageModel');
      return (await provider(name)).languageModel(modelId);
    },
    async embeddingModel(id) {
      const { name, modelId } = split(id, 'embeddingModel');
      return (await provider(name)).embeddingModel(modelId);
    },
    async imageModel(id) {
      const { name, modelId } = split(id, 'imageModel');
      return (await provider(name)).imageModel(modelId);
    },
  };
}

/** The default model id for a purpose: the config's choice, else the first configured provider's, else offline. */
export function defaultModelFor(purpose: LlmPurpose, config: Config, configured: readonly string[]): string {
  const explicit = {
    generation: config.llmGenerationModel,
    judging: config.llmJudgingModel ?? config.llmGenerationModel,
    research: config.llmResearchModel,
    embedding: config.llmEmbeddingModel,
  }[purpose];
  if (explicit) return explicit;
  if (purpose === 'embedding') return offlineEmbeddingModel;
  if (purpose === 'research' && configured.includes('perplexity')) return `perplexity:${providerDefaults.perplexity.research}`;
  if (purpose === 'research' && config.llmGenerationModel) return config.llmGenerationModel;
  for (const name of defaultPreference) {
    const model = providerDefaults[name][purpose];
    if (configured.includes(name) && model) return `${name}:${model}`;
  }
  return offlineGenerationModel;
}

export function isKnownProvider(name: string): name is ProviderName {
  return (providerNames as readonly string[]).includes(name);
}

/** The environment variable that enables a provider, for error messages. */
export const providerKeyVariable: Record<ProviderName, string> = {
  offline: '(none)',
  openrouter: 'OPENROUTER_API_KEY',
  openai: 'OPENAI_API_KEY',
  google: 'GOOGLE_GENERATIVE_AI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  groq: 'GROQ_API_KEY',
  perplexity: 'PERPLEXITY_API_KEY',
  'openai-compatible': 'OPENAI_COMPATIBLE_BASE_URL',
};
