/**
 * The learning pipeline's definition (seed 004): `big_learning_job` (rounds of words until a
 * wall-clock budget) and `learning_job` (quick and deep), the tenant's knowledge base they fill
 * (WordNet 3.1 offline, the research model when configured), the seed's HTTP API and WebSocket,
 * the `taskloom learning` command and the dashboard page (`dashboard/page.tsx`). Its parts are
 * imported when used (see src/kit/pipeline.ts); the rest of its public surface is in index.ts.
 */
import { definePipeline } from '../../kit/pipeline.ts';
import { bigLearningTaskSummary, learningTaskSummary } from './task-types.ts';

export const learning = definePipeline({
  name: 'learning',
  title: 'Learning',
  description: 'Rounds of words researched, defined and enriched into a tenant\'s knowledge base, with a wall-clock stop (seed 004).',
  migrations: new URL('./migrations/', import.meta.url),
  taskTypes: [bigLearningTaskSummary, learningTaskSummary],
  tasks: async (services) => (await import('./index.ts')).learningTaskTypes(services),
  routes: async (services) => (await import('./routes.ts')).learningRoutes(services),
  events: async () => (await import('./events.ts')).learningEvents,
  cli: async (runtime) => (await import('./cli.ts')).learningCommand(runtime),
});
