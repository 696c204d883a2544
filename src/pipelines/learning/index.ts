/**
 * The learning pipeline (seed 004): `big_learning_job` (rounds of words until a wall-clock
 * budget) and `learning_job` (quick and deep), the tenant's knowledge base they fill (WordNet 3.1
 * offline, the research model when configured), the seed's HTTP API and WebSocket, the
 * `taskloom learning` command and the dashboard page (`dashboard/page.tsx`).
 */
import { definePipeline, type AnyTaskDefinition } from '../../kit/index.ts';
import { createBigLearningTask } from './big-learning-job.ts';
import { learningCommand } from './cli.ts';
import { learningEvents } from './events.ts';
import { createLearningTask } from './learning-job.ts';
import { learningRoutes } from './routes.ts';
import { resolveLearningServices, type LearningServices } from './services.ts';

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

export const learning = definePipeline({
  name: 'learning',
  title: 'Learning',
  description: 'Rounds of words researched, defined and enriched into a tenant\'s knowledge base, with a wall-clock stop (seed 004).',
  migrations: new URL('./migrations/', import.meta.url),
  tasks: learningTaskTypes,
  routes: learningRoutes,
  events: learningEvents,
  cli: learningCommand,
});
