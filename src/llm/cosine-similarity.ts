/**
 * Cosine similarity of two vectors: 1 for the same direction, 0 for orthogonal. Vectors of
 * different length are an error (they come from different embedding models); a zero vector
 * has no direction and scores 0 against everything.
 */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) {
    throw new RangeError(`cosineSimilarity: vectors differ in length (${a.length} vs ${b.length}); were they embedded by the same model?`);
  }
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index += 1) {
    const x = a[index] as number;
    const y = b[index] as number;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (normA === 0 || normB === 0) return 0;
  return dot / (Math.sqrt(normA) * Math.sqrt(normB));
}
