/**
 * The learning pipeline (seed 004): its definition (pipeline.ts), the task types bound to a
 * process's services, and what the rest of taskloom and the tests use of it.
 */
import type { AnyTaskDefinition } from '../../kit/index.ts';
import { createBigLearningTask } from './big-learning-job.ts';
import { createLearningTask } from './learning-job.ts';
import { resolveLearningServices, type LearningServices } from './services.ts';

export { learning } from './pipeline.ts';
export { learningRoutes } from './routes.ts';
export { learningCommand, describeJob } from './cli.ts';
export { learningEvents } from './events.ts';
export { createResearchSource, resolveLearningServices, learningMaxAttempts, type LearningServices, type ResolvedLearningServices } from './services.ts';
export { createWordNetSource } from './sources/wordnet-source.ts';
export { createLlmSource } from './sources/llm-source.ts';
export type { ResearchSource, ResearchedWord, WordToLearn } from './sources/research-source.ts';
export { WordNetReader, sharedWordNet, wordnetSource } from './wordnet/wordnet-reader.ts';
export { normaliseWord, distinctLearnableWords } from './normalise.ts';
export { ResearchProviderError, LearningThrottledError } from './errors.ts';
export { getKnowledge, listKnowledge } from './knowledge-store.ts';
export * from './schemas.ts';

/** `big_learning_job` and `learning_job`, bound to the process's services. */
export function learningTaskTypes(services: LearningServices): AnyTaskDefinition[] {
  const resolved = resolveLearningServices(services);
  return [createBigLearningTask(resolved), createLearningTask(resolved)];
}
