/**
 * The duplicate-detection evaluation set, bench/data/dedup-pairs.jsonl: sentence pairs written by
 * hand from the pipelines' domains (film departments' gather items, marketing topics, study
 * projects, vocabulary definitions). `paraphrase` pairs say the same thing in other words (the
 * gather should drop the second); `related` pairs share a subject or most of their words but say
 * something different (it must keep both); `unrelated` pairs are from different subjects.
 */
import { readFileSync } from 'node:fs';

export interface EvaluationPair {
  kind: 'paraphrase' | 'related' | 'unrelated';
  domain: 'film' | 'marketing' | 'study' | 'vocabulary';
  a: string;
  b: string;
}

export const evaluationPairsPath = new URL('../data/dedup-pairs.jsonl', import.meta.url);

export function loadEvaluationPairs(): EvaluationPair[] {
  return readFileSync(evaluationPairsPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as EvaluationPair);
}
