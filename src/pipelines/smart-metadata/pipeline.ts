/**
 * The smart metadata pipeline's definition (seed 003): study projects, their AI metadata (3-10
 * tags, a summary, a difficulty level) from `generate_project_meta` (and `follow_up_project_meta`
 * for edits a running generation may have missed), the nightly `generate_missing_metadata`
 * back-fill, the weekly `cleanup_old_metadata`, the `/api/projects` routes, `taskloom projects`,
 * the seed's Prometheus metrics and the Projects dashboard page (`dashboard/page.tsx`). Its parts
 * are imported when used (see src/kit/pipeline.ts); the rest of its public surface is in index.ts.
 */
import { definePipeline } from '../../kit/pipeline.ts';
import { cleanupOldMetadataSummary, followUpProjectMetaSummary, generateMissingMetadataSummary, generateProjectMetaSummary } from './task-types.ts';

export const smartMetadata = definePipeline({
  name: 'smart-metadata',
  title: 'Smart metadata',
  description: 'Tags, a summary and a difficulty level for study projects, generated in the background, back-filled nightly and cleaned up weekly (seed 003).',
  migrations: new URL('./migrations/', import.meta.url),
  taskTypes: [generateProjectMetaSummary, followUpProjectMetaSummary, generateMissingMetadataSummary, cleanupOldMetadataSummary],
  tasks: async (services) => (await import('./index.ts')).smartMetadataTaskTypes(services),
  routes: async (services) => (await import('./routes.ts')).metadataRoutes(services),
  events: async () => (await import('./events.ts')).metadataEvents,
  cli: async (runtime) => (await import('./cli.ts')).projectsCommand(runtime),
});
