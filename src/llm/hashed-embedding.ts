/**
 * The hashed n-gram embedding (`offline:embedding-hashed`, and `offline:embedding`'s fallback
 * when the word vectors are missing): a local text embedding built by feature hashing. Each text becomes
 * a bag of features (stemmed content words, character 3- and 4-grams of each word, ordered word
 * pairs), each feature is hashed to one of `dimensions` slots with a hashed sign, and the vector
 * is L2-normalised. Cosine similarity then measures shared vocabulary and spelling:
 *
 * - the same words reordered score about 0.95 (only the word-pair features change);
 * - small edits (a plural, a typo, colour/color) keep most character n-grams and score >= 0.9;
 * - texts on other subjects share few features and score below 0.3 (signed hashing makes
 *   collisions cancel out on average instead of adding up).
 *
 * It knows no synonyms: "car" and "automobile" are unrelated to it. That is the honest limit of
 * a model without weights, and good enough to catch the near-duplicates pipelines produce.
 */
import { hash32 } from './deterministic-random.ts';

/** @default 1024: collisions between unrelated features stay rare at pipeline text lengths. */
export const offlineEmbeddingDimensions = 1024;

const stopwords = new Set(
  // "s" and "t" are what "Jasmine's" and "don't" leave behind.
  'a an and are as at be but by for from has have he her his i in into is it its of on or our she so than that the their them then there these they this to was we were what when which who will with you your not no do does did can could would should may might also just about over under more most very each every all any some such own same other s t'.split(' '),
);

const wordWeight = 0.8;
const characterGramWeight = 1.4;
const wordPairWeight = 0.35;

/** Crude suffix stripping so "scenes"/"scene" and "scouted"/"scouting" share a feature. */
function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ied')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 4 && word.endsWith('es') && /(?:ss|x|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** Lower-cased words without accents or stop words: what both offline embeddings look at. */
export function contentWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0 && !stopwords.has(word));
}

function addFeature(vector: Float64Array, feature: string, weight: number): void {
  const slot = hash32(feature) % vector.length;
  const sign = hash32(`±${feature}`) & 1 ? 1 : -1;
  vector[slot] = (vector[slot] as number) + sign * weight;
}

/** Embeds one text. Empty or stopword-only texts give the zero vector (similar to nothing). */
export function embedText(text: string, dimensions = offlineEmbeddingDimensions): number[] {
  const vector = new Float64Array(dimensions);
  const tokens = contentWords(text).map(stem);
  for (const [index, token] of tokens.entries()) {
    addFeature(vector, `w:${token}`, wordWeight);
    const padded = `<${token}>`;
    const grams: string[] = [];
    for (const size of [3, 4]) {
      for (let start = 0; start + size <= padded.length; start += 1) grams.push(padded.slice(start, start + size));
    }
    // Spread the word's n-gram weight over its grams so long words do not dominate.
    const gramWeight = characterGramWeight / Math.sqrt(Math.max(1, grams.length));
    for (const gram of grams) addFeature(vector, `c:${gram}`, gramWeight);
    const next = tokens[index + 1];
    if (next !== undefined) addFeature(vector, `p:${token} ${next}`, wordPairWeight);
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  return Array.from(vector, (value) => (norm === 0 ? 0 : value / norm));
}

/** Recorded with vectors the hashed model made. */
export const hashedEmbeddingVersion = `hashed-ngrams-${offlineEmbeddingDimensions}-v1`;
