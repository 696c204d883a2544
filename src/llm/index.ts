/**
 * The LLM layer's public entry. Pipelines call the gateway; nothing outside src/llm reaches into
 * its other files.
 */
export {
  createLlmGateway,
  type CreateLlmGatewayOptions,
  type EmbedTextsRequest,
  type EmbedTextsResult,
  type GenerateStructuredRequest,
  type GenerateStructuredResult,
  type GenerationPurpose,
  type LlmCallContext,
  type LlmGateway,
  type LlmRetryNotice,
} from './gateway.ts';
export { cosineSimilarity } from './cosine-similarity.ts';
export { LlmError, isLlmError, type LlmErrorCode, type LlmErrorDetails } from './errors.ts';
export { refuseOfflineFallback } from './offline-fallback.ts';
export { listModelsForConfig, type LlmModelInfo } from './model-catalog.ts';
export { parseModelId, formatModelId, isOfflineModel, providerNames, type ProviderName } from './model-id.ts';
export { OfflineLanguageModel, estimateTokens } from './offline-language-model.ts';
export { OfflineEmbeddingModel, embedText, hashedEmbeddingModelId, hashedEmbeddingVersion, offlineEmbeddingDimensions } from './offline-embedding-model.ts';
export { duplicateThresholdFor, resolveDuplicateThreshold, type DuplicateThreshold } from './duplicate-thresholds.ts';
export { wordVectorEmbeddingVersion } from './word-vector-embedding.ts';
export { configureProviders, createOfflineProvider, offlineEmbeddingModel, offlineGenerationModel, type ConfiguredProviders } from './provider-registry.ts';
export { RateLimiter, type ProviderLimits } from './rate-limiter.ts';
export type { LlmPurpose, ModelUsage, TaskUsage } from './usage-store.ts';
export { sweepInterruptedLlmCalls } from './usage-store.ts';
