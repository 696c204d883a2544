/**
 * How similar two texts are to an embedding model, and whether the automated gather would call
 * them duplicates: what `taskloom llm similarity` prints, so users can tune thresholds on their
 * own data. Calls the provider directly (no usage row, no database): a one-off check, not work.
 */
import { embedMany } from 'ai';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { cosineSimilarity } from './cosine-similarity.ts';
import { resolveDuplicateThreshold } from './duplicate-thresholds.ts';
import { createModelResolver } from './model-resolver.ts';
import { configureProviders, defaultModelFor } from './provider-registry.ts';

export interface TextSimilarity {
  /** `provider:model` that embedded both texts. */
  model: string;
  /** The embedding within the model (`offline:embedding`: word vectors or hashed n-grams); null for providers. */
  version: string | null;
  dimensions: number;
  cosine: number;
  /** The threshold the gather would use for this model, and where it comes from. */
  threshold: number;
  thresholdBasis: string;
  duplicate: boolean;
}

export async function textSimilarity(options: { config: Config; logger: Logger; texts: [string, string]; model?: string; signal?: AbortSignal }): Promise<TextSimilarity> {
  const providers = configureProviders(options.config);
  const defaultId = defaultModelFor('embedding', options.config, providers.configured);
  const target = createModelResolver({ registered: providers.registered, logger: options.logger }).resolve(options.model ?? defaultId, defaultId);
  const result = await embedMany({ model: await providers.embeddingModel(target.id), values: options.texts, maxRetries: 2, ...(options.signal ? { abortSignal: options.signal } : {}) });
  const version = result.providerMetadata?.offline?.embeddingVersion;
  const embedding = { model: target.id, version: typeof version === 'string' ? version : null };
  const cosine = cosineSimilarity(result.embeddings[0] ?? [], result.embeddings[1] ?? []);
  const threshold = resolveDuplicateThreshold(options.config.gatherDuplicateThreshold, embedding);
  return {
    ...embedding,
    dimensions: result.embeddings[0]?.length ?? 0,
    cosine: Math.round(cosine * 10_000) / 10_000,
    threshold: threshold.duplicate,
    thresholdBasis: threshold.basis,
    // The same comparison as the gather's semantic pass (dedup.ts): at or above is a duplicate.
    duplicate: cosine >= threshold.duplicate,
  };
}
