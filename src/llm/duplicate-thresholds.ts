/**
 * The cosine at or above which two texts are duplicates belongs to the embedding that made the
 * vectors, not to the pipeline: word vectors put paraphrases around 0.74 and unrelated texts
 * around 0, hashed n-grams put paraphrases around 0.49, provider models elsewhere again.
 *
 * Each measured entry comes from `npm run bench:dedup` on bench/data/dedup-pairs.jsonl (274
 * hand-written pairs, half paraphrases): the lowest multiple of 0.05 whose precision there is
 * >= 0.9, raised where paragraph-length pairs (the length of gather items) need it. Precision
 * first: an item dropped for resembling a different one is lost work, a duplicate kept costs a
 * repeated line. TASKLOOM_GATHER_DUPLICATE_THRESHOLD overrides them all.
 */
import { hashedEmbeddingVersion } from './hashed-embedding.ts';
import { wordVectorEmbeddingVersion } from './word-vector-embedding.ts';

export interface DuplicateThreshold {
  /** Cosine at or above which the newer text is a duplicate. */
  duplicate: number;
  /** Where the figure comes from, for `taskloom llm similarity` and the docs. */
  basis: string;
}

/** Seed 001's "90 % threshold", for embeddings nobody has measured yet. */
const unmeasured: DuplicateThreshold = { duplicate: 0.9, basis: 'seed 001 default, not measured for this model' };

/** By offline embedding version (one model id, two embeddings), then by `provider:model`. */
const measured: Record<string, DuplicateThreshold> = {
  // AUC 0.919. At 0.70 precision 0.916, recall 0.635, but two different paragraphs about one
  // department (what gather items are) scored 0.71; at 0.75 precision 0.941, recall 0.467, and
  // on the paragraph pairs precision 1, recall 1 (paraphrases 0.80-0.90, different 0.35-0.71).
  [wordVectorEmbeddingVersion]: { duplicate: 0.75, basis: 'measured by bench:dedup: precision 0.94, recall 0.47 (paragraphs: 1.0, 1.0)' },
  // AUC 0.860; at 0.55 precision 0.906, recall 0.35 (0.50: 0.897; its precision stays near 0.9
  // from 0.4 to 0.7 while recall falls: it sees spelling, not meaning).
  [hashedEmbeddingVersion]: { duplicate: 0.55, basis: 'measured by bench:dedup: precision 0.91, recall 0.35' },
};

/** The threshold for vectors of `model` (`provider:model`) made by embedding `version`. */
export function duplicateThresholdFor(embedding: { model: string; version: string | null }): DuplicateThreshold {
  return (embedding.version === null ? undefined : measured[embedding.version]) ?? measured[embedding.model] ?? unmeasured;
}

/** The threshold the gather uses: the explicit override (TASKLOOM_GATHER_DUPLICATE_THRESHOLD) if set, else the model's. */
export function resolveDuplicateThreshold(override: number | undefined, embedding: { model: string; version: string | null }): DuplicateThreshold {
  return override === undefined ? duplicateThresholdFor(embedding) : { duplicate: override, basis: 'TASKLOOM_GATHER_DUPLICATE_THRESHOLD' };
}
