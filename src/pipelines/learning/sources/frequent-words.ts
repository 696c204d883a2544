/**
 * Offline rounds: real English words drawn from WordNet's lemmas, favouring frequent ones.
 * Weighted sampling without replacement (Efraimidis-Spirakis: key = u^(1/w), keep the largest),
 * with w = sqrt(tag count): "person" (6,834 tags) is ~80 times likelier than a word tagged once,
 * not 6,834 times, so rounds after the first keep finding words the tenant does not know yet.
 */
import type { WordNetReader } from '../wordnet/wordnet-reader.ts';

export async function sampleFrequentLemmas(reader: WordNetReader, count: number, random: () => number = Math.random): Promise<string[]> {
  const lemmas = await reader.lemmaFrequencies();
  if (count >= lemmas.length) return lemmas.map((entry) => entry.lemma);
  const keyed = lemmas.map((entry) => ({ lemma: entry.lemma, key: Math.log(Math.max(random(), Number.MIN_VALUE)) / Math.sqrt(entry.count) }));
  // log(u)/w orders exactly like u^(1/w) without underflow.
  keyed.sort((left, right) => right.key - left.key);
  return keyed.slice(0, count).map((entry) => entry.lemma);
}
