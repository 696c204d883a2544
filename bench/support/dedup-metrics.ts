/**
 * Scores a duplicate detector on labelled pairs: ROC AUC (threshold-free: the chance that a random
 * duplicate pair scores above a random different pair), the threshold with the best F1, and
 * precision/recall at a given threshold.
 */
export interface ScoredPair {
  score: number;
  duplicate: boolean;
}

export interface ThresholdFigures {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
}

const rounded = (value: number): number => Math.round(value * 1000) / 1000;

/** AUC by the rank-sum (Mann-Whitney U) formula; ties count one half. */
export function rocAuc(pairs: ScoredPair[]): number {
  const positives = pairs.filter((pair) => pair.duplicate).map((pair) => pair.score);
  const negatives = pairs.filter((pair) => !pair.duplicate).map((pair) => pair.score);
  let wins = 0;
  for (const positive of positives) for (const negative of negatives) wins += positive > negative ? 1 : positive === negative ? 0.5 : 0;
  return rounded(wins / (positives.length * negatives.length));
}

/** A pair is called a duplicate when its score is at or above the threshold (as the gather does). */
export function figuresAt(pairs: ScoredPair[], threshold: number): ThresholdFigures {
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  for (const pair of pairs) {
    const called = pair.score >= threshold;
    if (called && pair.duplicate) truePositives += 1;
    else if (called) falsePositives += 1;
    else if (pair.duplicate) falseNegatives += 1;
  }
  const precision = truePositives + falsePositives === 0 ? 1 : truePositives / (truePositives + falsePositives);
  const recall = truePositives + falseNegatives === 0 ? 0 : truePositives / (truePositives + falseNegatives);
  return { threshold: rounded(threshold), precision: rounded(precision), recall: rounded(recall), f1: rounded((2 * truePositives) / (2 * truePositives + falsePositives + falseNegatives)) };
}

/** The threshold (one of the scores) with the highest F1. */
export function bestThreshold(pairs: ScoredPair[]): ThresholdFigures {
  let best = figuresAt(pairs, 1);
  for (const score of new Set(pairs.map((pair) => pair.score))) {
    const figures = figuresAt(pairs, score);
    if (figures.f1 > best.f1) best = figures;
  }
  return best;
}

/** The lowest threshold at which precision reaches `target` (the most recall for that precision). */
export function thresholdForPrecision(pairs: ScoredPair[], target: number): ThresholdFigures | null {
  const scores = [...new Set(pairs.map((pair) => pair.score))].sort((left, right) => left - right);
  for (const score of scores) {
    const figures = figuresAt(pairs, score);
    if (figures.precision >= target) return figures;
  }
  return null;
}
