/**
 * Duplicate detection for one generated batch, in three passes, cheapest first:
 *
 * 1. exact: sha256 of the normalised content (case, punctuation and spacing folded) against the
 *    department's stored hashes and the earlier items of the batch;
 * 2. semantic: cosine similarity of embeddings (one batched embedding call per iteration, made by
 *    the caller) against the department's stored embeddings and the earlier survivors of the
 *    batch; at or above the threshold (0.90) the newer item is dropped;
 * 3. borderline (optional, off by default): pairs between the judge's lower bound (0.80) and the
 *    threshold go to one LLM judge call; the caller makes it and passes the verdicts back.
 *
 * The seed proposed one LLM call per pair (n x m calls per iteration); this is one embedding call.
 */
import { createHash } from 'node:crypto';
import { cosineSimilarity } from '../../llm/index.ts';

export function normaliseContent(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function contentHash(text: string): string {
  return createHash('sha256').update(normaliseContent(text)).digest('hex');
}

export interface StoredVector {
  id: string;
  embedding: number[];
}

export interface SemanticCandidate {
  /** Index of the item in the batch. */
  index: number;
  embedding: number[];
}

export interface SemanticVerdict {
  index: number;
  /** Highest similarity to any earlier item (stored or kept from this batch); 0 when none. */
  bestScore: number;
  /** The earlier item it is closest to (`batch:N` for one of this batch). */
  bestMatch: string | null;
  status: 'unique' | 'duplicate' | 'borderline';
}

/**
 * Semantic pass. Candidates are checked in batch order: each is compared with every stored vector
 * and with the batch items already kept, so of two near-identical new items the first is kept.
 * A borderline item is kept for now (it counts as kept for later comparisons); the judge may drop it.
 */
export function semanticDuplicates(candidates: SemanticCandidate[], stored: StoredVector[], options: { threshold: number; borderlineFrom?: number }): SemanticVerdict[] {
  const kept: Array<{ id: string; embedding: number[] }> = [];
  const verdicts: SemanticVerdict[] = [];
  for (const candidate of candidates) {
    let bestScore = 0;
    let bestMatch: string | null = null;
    for (const other of [...stored, ...kept]) {
      if (other.embedding.length !== candidate.embedding.length) continue;
      const score = cosineSimilarity(candidate.embedding, other.embedding);
      if (score > bestScore) {
        bestScore = score;
        bestMatch = other.id;
      }
    }
    const status: SemanticVerdict['status'] = bestScore >= options.threshold
      ? 'duplicate'
      : options.borderlineFrom !== undefined && bestScore >= options.borderlineFrom ? 'borderline' : 'unique';
    if (status !== 'duplicate') kept.push({ id: `batch:${candidate.index}`, embedding: candidate.embedding });
    verdicts.push({ index: candidate.index, bestScore: Math.round(bestScore * 10_000) / 10_000, bestMatch, status });
  }
  return verdicts;
}
