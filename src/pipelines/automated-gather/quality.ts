/**
 * Quality scoring: the seed's four weighted criteria. The model scores each criterion 0-100; the
 * weighted total is computed here, so a model that cannot add up still yields a consistent score.
 */
import type { QualityOutput } from './schemas.ts';

/** Seed 001: coverage 40 %, depth 30 %, coherence 20 %, actionability 10 %. */
export const qualityWeights = { coverage: 0.4, depth: 0.3, coherence: 0.2, actionability: 0.1 } as const;

export interface QualityScore {
  /** Weighted 0-100, one decimal. */
  score: number;
  coverage: number;
  depth: number;
  coherence: number;
  actionability: number;
  missingAspects: string[];
}

const clamp = (value: number): number => Math.max(0, Math.min(100, Number.isFinite(value) ? value : 0));

export function weightedQuality(output: QualityOutput): QualityScore {
  const coverage = clamp(output.coverage_score);
  const depth = clamp(output.depth_score);
  const coherence = clamp(output.coherence_score);
  const actionability = clamp(output.actionability_score);
  const score = coverage * qualityWeights.coverage + depth * qualityWeights.depth + coherence * qualityWeights.coherence + actionability * qualityWeights.actionability;
  const missingAspects = [...new Set(output.missing_aspects.map((aspect) => aspect.trim()).filter((aspect) => aspect.length > 0))].slice(0, 10);
  return { score: Math.round(score * 10) / 10, coverage, depth, coherence, actionability, missingAspects };
}

/**
 * Stagnation bookkeeping: an iteration improves when its score beats the best so far. After
 * `limit` iterations in a row without improvement the department is stagnant.
 */
export function nextStagnation(state: { best: number; withoutImprovement: number }, score: number): { best: number; withoutImprovement: number } {
  if (score > state.best) return { best: score, withoutImprovement: 0 };
  return { best: state.best, withoutImprovement: state.withoutImprovement + 1 };
}
