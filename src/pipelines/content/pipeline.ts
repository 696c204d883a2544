/**
 * The content pipeline's definition (seed 002): a company's DNA, personas, a month of topics, blog
 * posts and per-platform social posts, with a supervisor's approvals. The seed's job types run on
 * its AI queues; `content_pipeline` chains them as one durable run that waits for each approval
 * without holding a worker slot. Routes under `/api/v1/ai/` and `/api/v1/content/`, the
 * `taskloom content` command and the dashboard page (`dashboard/page.tsx`) live here too. Its
 * parts are imported when used (see src/kit/pipeline.ts); the rest of its public surface is in
 * index.ts.
 */
import { definePipeline } from '../../kit/pipeline.ts';
import { jobTaskTypes, jobTypeNames } from './task-types.ts';

export const content = definePipeline({
  name: 'content',
  title: 'Content',
  description: 'Company DNA, personas, monthly topics, blog posts and social posts with supervisor approvals (seed 002).',
  migrations: new URL('./migrations/', import.meta.url),
  taskTypes: jobTypeNames.flatMap(jobTaskTypes),
  tasks: async (services) => (await import('./index.ts')).contentTaskTypes(services),
  routes: async (services) => (await import('./index.ts')).contentRoutePlugins(services),
  events: async () => (await import('./events.ts')).contentEvents,
  cli: async (runtime) => (await import('./cli.ts')).contentCommand(runtime),
});
