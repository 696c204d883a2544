/**
 * The word-vector embedding behind `offline:embedding`: a weighted average of pretrained GloVe
 * word vectors (src/llm/word-vectors.ts), so "photos" and "images", "bazaar" and "marketplace"
 * land close together, which character n-grams cannot do.
 *
 * A text's vector has two parts, concatenated and L2-normalised together:
 *
 * - dimensions 0-99: each content word found in the 100k-word vocabulary (directly, or after
 *   stripping a plural/-ed/-ing ending) adds its unit vector, weighted by frequency
 *   (SIF, Arora et al. 2017: a / (a + p(word)), p from the word's rank by Zipf's law), so
 *   frequent, vague words ("new", "make") count less than specific ones ("vizier");
 * - dimensions 100-255: each word outside the vocabulary ("Agrabah", typos, product names) adds
 *   its hashed character n-gram vector (the `offline:embedding-hashed` model at 156 dimensions),
 *   with weight 1 like any rare word, so two texts naming the same unknown thing still meet.
 *
 * Measured on bench/data/dedup-pairs.jsonl (274 pairs): see docs/decisions/0007-word-vectors.md.
 */
import { contentWords, embedText } from './hashed-embedding.ts';
import type { WordVectors } from './word-vectors.ts';

/** Recorded with every stored vector: bump when the recipe or the derived file changes. */
export const wordVectorEmbeddingVersion = 'glove-100d-100k-v1';

/** Dimensions for words outside the vocabulary. */
const unknownWordDimensions = 156;

/** SIF smoothing `a`. Measured AUC: no weighting 0.903, a = 1e-3 0.917, 3e-4 0.919, 1e-4 0.913. */
const frequencySmoothing = 3e-4;

/** Zipf: the word of rank r (0-based) has probability ~ 1 / ((r + 10) * ln(vocabulary of GloVe)). */
function wordProbability(rank: number): number {
  return 1 / ((rank + 10) * 13);
}

/** Plural, past and -ing forms GloVe may not hold in the top 100k ("strums" -> "strum"). */
function baseForms(word: string): string[] {
  const forms: string[] = [];
  if (word.endsWith('ies')) forms.push(`${word.slice(0, -3)}y`);
  if (word.endsWith('es')) forms.push(word.slice(0, -2));
  if (word.endsWith('s')) forms.push(word.slice(0, -1));
  if (word.endsWith('ed')) forms.push(word.slice(0, -2), word.slice(0, -1));
  if (word.endsWith('ing')) forms.push(word.slice(0, -3), `${word.slice(0, -3)}e`);
  return forms;
}

function lookUp(vectors: WordVectors, word: string): number | undefined {
  const rank = vectors.rank.get(word);
  if (rank !== undefined) return rank;
  for (const form of baseForms(word)) {
    const found = vectors.rank.get(form);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The vector's length: 100 word-vector dimensions + 156 for unknown words. */
export function wordVectorEmbeddingDimensions(vectors: WordVectors): number {
  return vectors.dimensions + unknownWordDimensions;
}

/** Embeds one text. Empty or stop-word-only texts give the zero vector (similar to nothing). */
export function embedWithWordVectors(text: string, vectors: WordVectors): number[] {
  const { dimensions, values } = vectors;
  const sum = new Float64Array(dimensions + unknownWordDimensions);
  for (const word of contentWords(text)) {
    const rank = lookUp(vectors, word);
    if (rank === undefined) {
      const hashed = embedText(word, unknownWordDimensions);
      for (let index = 0; index < unknownWordDimensions; index += 1) sum[dimensions + index] = (sum[dimensions + index] as number) + (hashed[index] as number);
      continue;
    }
    const offset = rank * dimensions;
    let norm = 0;
    for (let index = 0; index < dimensions; index += 1) norm += (values[offset + index] as number) ** 2;
    if (norm === 0) continue;
    // Unit length times the frequency weight; the int8 scale cancels out in the normalisation.
    const weight = frequencySmoothing / (frequencySmoothing + wordProbability(rank)) / Math.sqrt(norm);
    for (let index = 0; index < dimensions; index += 1) sum[index] = (sum[index] as number) + weight * (values[offset + index] as number);
  }
  let norm = 0;
  for (const value of sum) norm += value * value;
  norm = Math.sqrt(norm);
  return Array.from(sum, (value) => (norm === 0 ? 0 : value / norm));
}
