/**
 * Which providers are enabled (by their keys in the config), their default models, and the AI SDK
 * provider registry that turns `provider:model` ids into models. The offline provider is always
 * registered; it is the default whenever nothing else is configured.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createGroq } from '@ai-sdk/groq';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createPerplexity } from '@ai-sdk/perplexity';
import { NoSuchModelError, type ProviderV4 } from '@ai-sdk/provider';
import { createOpenRouter } from '@openrouter/ai-sdk-provider';
import { createProviderRegistry } from 'ai';
import type { Config } from '../config.ts';
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

export interface ConfiguredProviders {
  /** Every registered provider by name, offline included. */
  providers: Record<string, ProviderV4>;
  /** Names of providers enabled by keys or injected (offline excluded). */
  configured: string[];
  /** The AI SDK registry over `providers`. */
  registry: ReturnType<typeof createProviderRegistry<Record<string, ProviderV4>>>;
}

/** Builds the providers the config enables, plus injected ones (tests) which win on name clashes. */
export function configureProviders(config: Config, injected: Record<string, ProviderV4> = {}): ConfiguredProviders {
  const providers: Record<string, ProviderV4> = { offline: createOfflineProvider() };
  if (config.openrouterApiKey) providers.openrouter = createOpenRouter({ apiKey: config.openrouterApiKey, compatibility: 'strict' });
  if (config.openaiApiKey) providers.openai = createOpenAI({ apiKey: config.openaiApiKey });
  const googleKey = config.googleApiKey ?? config.geminiApiKey;
  if (googleKey) providers.google = createGoogleGenerativeAI({ apiKey: googleKey });
  if (config.anthropicApiKey) providers.anthropic = createAnthropic({ apiKey: config.anthropicApiKey });
  if (config.groqApiKey) providers.groq = createGroq({ apiKey: config.groqApiKey });
  if (config.perplexityApiKey) providers.perplexity = createPerplexity({ apiKey: config.perplexityApiKey });
  if (config.openaiCompatibleBaseUrl) {
    providers['openai-compatible'] = createOpenAICompatible({
      name: 'openai-compatible',
      baseURL: config.openaiCompatibleBaseUrl.replace(/\/+$/, ''),
      ...(config.openaiCompatibleApiKey ? { apiKey: config.openaiCompatibleApiKey } : {}),
      // Without this the provider silently drops the JSON schema from the request.
      supportsStructuredOutputs: true,
      includeUsage: true,
    });
  }
  Object.assign(providers, injected);
  const configured = Object.keys(providers).filter((name) => name !== 'offline');
  return { providers, configured, registry: createProviderRegistry(providers) };
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
