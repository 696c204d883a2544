/**
 * The smart metadata pipeline (seed 003): study projects, their AI metadata (3-10 tags, a summary,
 * a difficulty level) from `generate_project_meta`, the nightly `generate_missing_metadata`
 * back-fill, the weekly `cleanup_old_metadata`, the `/api/projects` routes, `taskloom projects`,
 * the seed's Prometheus metrics and the Projects dashboard page (`dashboard/page.tsx`).
 */
import { definePipeline, type AnyTaskDefinition, type PipelineRouteServices, type PipelineServices } from '../../kit/index.ts';
import { createBackfillTask } from './backfill-task.ts';
import { createCleanupTask } from './cleanup-task.ts';
import { projectsCommand } from './cli.ts';
import { metadataEvents } from './events.ts';
import { createGenerateProjectMetaTask, type GenerateTaskOptions } from './generate-task.ts';
import { metadataRoutes } from './routes.ts';

export { metadataRoutes } from './routes.ts';
export { projectsCommand } from './cli.ts';
export { metadataEvents } from './events.ts';
export { analyseOffline, offlineAnalyserVersion, offlineModelId } from './offline/index.ts';
export { buildProjectText, fileExcerptChars, maxProjectTextChars } from './project-text.ts';
export { promptVersion } from './prompt.ts';
export { createProjectService, projectView, generationDisabledMessage, type ProjectView } from './project-service.ts';
export * from './schemas.ts';

export interface SmartMetadataOptions extends GenerateTaskOptions {
  /** Register the cron schedules (nightly back-fill, weekly cleanup). @default ENABLE_STI */
  schedules?: boolean;
  /** The back-fill's rate limit window: a minute except in tests. @default 60000 */
  rateWindowMs?: number;
}

/** The pipeline's task types, bound to the process's services. */
export function smartMetadataTaskTypes(services: PipelineServices, options: SmartMetadataOptions = {}): AnyTaskDefinition[] {
  const { config } = services;
  const scheduled = options.schedules ?? config.enableSti;
  return [
    createGenerateProjectMetaTask(services, options),
    createBackfillTask(services, { schedules: scheduled ? [{ cron: config.metadataNightlyCron, timezone: config.metadataTimezone }] : [], ...(options.rateWindowMs === undefined ? {} : { rateWindowMs: options.rateWindowMs }) }),
    createCleanupTask(services, { schedules: scheduled ? [{ cron: config.metadataCleanupCron, timezone: config.metadataTimezone }] : [] }),
  ];
}

export const smartMetadata = definePipeline({
  name: 'smart-metadata',
  title: 'Smart metadata',
  description: 'Tags, a summary and a difficulty level for study projects, generated in the background, back-filled nightly and cleaned up weekly (seed 003).',
  migrations: new URL('./migrations/', import.meta.url),
  tasks: (services) => smartMetadataTaskTypes(services),
  routes: (services: PipelineRouteServices) => metadataRoutes(services),
  events: metadataEvents,
  cli: projectsCommand,
});
