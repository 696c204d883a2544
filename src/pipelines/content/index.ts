/**
 * The content pipeline (seed 002): its definition (pipeline.ts), the task types and routes bound
 * to a process's services, and what the rest of taskloom and the tests use of it.
 */
import type { AnyTaskDefinition, PipelineRouteServices } from '../../kit/index.ts';
import { aiRoutes } from './ai-routes.ts';
import { createBlogpostTask } from './blogpost-task.ts';
import { contentRoutes } from './content-routes.ts';
import { createDnaTask } from './dna-task.ts';
import { createImageTask } from './image-task.ts';
import { createPersonasTask } from './personas-task.ts';
import { createPipelineTask } from './pipeline-task.ts';
import type { ContentServices } from './services.ts';
import { createSocialTask } from './social-task.ts';
import { createTopicsTask } from './topics-task.ts';

export { content } from './pipeline.ts';
export { platformRules, ruleViolations, composePost } from './platform-rules.ts';
export { jobStatusOf, jobView, type JobView } from './jobs.ts';
export { jobTypes, personaCaps, platforms, type Platform } from './schemas.ts';
export type { ContentServices } from './services.ts';

/** Every content task type (each on ai_jobs and, for paid plans, ai_priority). */
export function contentTaskTypes(services: ContentServices): AnyTaskDefinition[] {
  return [createDnaTask, createPersonasTask, createTopicsTask, createBlogpostTask, createSocialTask, createImageTask, createPipelineTask].flatMap((create) => create(services));
}

export function contentRoutePlugins(services: PipelineRouteServices & ContentServices) {
  const ai = aiRoutes(services);
  const content = contentRoutes(services);
  return async (app: Parameters<typeof ai>[0]) => {
    await app.register(ai);
    await app.register(content);
  };
}
