/**
 * The content pipeline (seed 002): a company's DNA, personas, a month of topics, blog posts and
 * per-platform social posts, with a supervisor's approvals. The seed's job types run on its AI
 * queues; `content_pipeline` chains them as one durable run that waits for each approval without
 * holding a worker slot. Routes under `/api/v1/ai/` and `/api/v1/content/`, the `taskloom content`
 * command and the dashboard page (`dashboard/page.tsx`) live here too.
 */
import { definePipeline, type AnyTaskDefinition, type PipelineRouteServices } from '../../kit/index.ts';
import { aiRoutes } from './ai-routes.ts';
import { createBlogpostTask } from './blogpost-task.ts';
import { contentCommand } from './cli.ts';
import { contentRoutes } from './content-routes.ts';
import { createDnaTask } from './dna-task.ts';
import { contentEvents } from './events.ts';
import { createImageTask } from './image-task.ts';
import { createPersonasTask } from './personas-task.ts';
import { createPipelineTask } from './pipeline-task.ts';
import type { ContentServices } from './services.ts';
import { createSocialTask } from './social-task.ts';
import { createTopicsTask } from './topics-task.ts';

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

export const content = definePipeline({
  name: 'content',
  title: 'Content',
  description: 'Company DNA, personas, monthly topics, blog posts and social posts with supervisor approvals (seed 002).',
  migrations: new URL('./migrations/', import.meta.url),
  tasks: contentTaskTypes,
  routes: contentRoutePlugins,
  events: contentEvents,
  cli: contentCommand,
});
