/**
 * The smart metadata pipeline (seed 003): its definition (pipeline.ts), the task types bound to a
 * process's services, and what the rest of taskloom and the tests use of it.
 */
import type { AnyTaskDefinition, PipelineServices } from '../../kit/index.ts';
import { createBackfillTask } from './backfill-task.ts';
import { createCleanupTask } from './cleanup-task.ts';
import { createFollowUpTask } from './follow-up-task.ts';
import { createGenerateProjectMetaTask, type GenerateTaskOptions } from './generate-task.ts';

export { smartMetadata } from './pipeline.ts';
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
    createFollowUpTask(services),
    createBackfillTask(services, { schedules: scheduled ? [{ cron: config.metadataNightlyCron, timezone: config.metadataTimezone }] : [], ...(options.rateWindowMs === undefined ? {} : { rateWindowMs: options.rateWindowMs }) }),
    createCleanupTask(services, { schedules: scheduled ? [{ cron: config.metadataCleanupCron, timezone: config.metadataTimezone }] : [] }),
  ];
}
