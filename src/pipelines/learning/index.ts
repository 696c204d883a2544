/**
 * The learning pipeline's public entry (seed 004): `big_learning_job` and `learning_job`, the
 * knowledge base they fill, and the seed's HTTP API over both.
 */
import type { AnyTaskDefinition } from '../../engine/index.ts';
import { createBigLearningTask } from './big-learning-job.ts';
import { createLearningTask } from './learning-job.ts';
import { resolveLearningServices, type LearningServices, type ResolvedLearningServices } from './services.ts';

export { learningRoutes } from './routes.ts';
export { createResearchSource, resolveLearningServices, type LearningServices, type ResolvedLearningServices } from './services.ts';
export { createWordNetSource } from './sources/wordnet-source.ts';
export { createLlmSource } from './sources/llm-source.ts';
export type { ResearchSource } from './sources/research-source.ts';
export { WordNetReader, sharedWordNet, wordnetSource } from './wordnet/wordnet-reader.ts';
export { normaliseWord } from './normalise.ts';
export { ResearchProviderError, LearningThrottledError } from './errors.ts';
export * from './schemas.ts';

export function learningTaskTypes(services: LearningServices | ResolvedLearningServices): AnyTaskDefinition[] {
  const resolved = resolveLearningServices(services);
  return [createBigLearningTask(resolved), createLearningTask(resolved)];
}
