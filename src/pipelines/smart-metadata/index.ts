/**
 * The smart metadata pipeline (seed 003): projects, their AI metadata (tags, summary, difficulty),
 * the nightly back-fill and the weekly cleanup.
 */
import type { AnyTaskDefinition } from '../../engine/index.ts';
import type { MetadataServices } from './analyse.ts';
import { createBackfillTask } from './backfill-task.ts';
import { createCleanupTask } from './cleanup-task.ts';
import { createGenerateProjectMetaTask, type GenerateTaskOptions } from './generate-task.ts';
import { registerMetricsSource } from './metrics.ts';

export { metadataRoutes } from './routes.ts';
export { analyseOffline, offlineModelId } from './offline/index.ts';
export { buildProjectText } from './project-text.ts';
export { createProjectService, projectView, generationDisabledMessage, type ProjectView } from './project-service.ts';
export * from './schemas.ts';

export interface SmartMetadataOptions extends GenerateTaskOptions {
  /** Register the cron schedules (nightly back-fill, weekly cleanup). @default true when ENABLE_STI */
  schedules?: boolean;
}

export function smartMetadataTaskTypes(services: MetadataServices, options: SmartMetadataOptions = {}): AnyTaskDefinition[] {
  registerMetricsSource(services.pool);
  const { config } = services;
  const scheduled = options.schedules ?? config.enableSti;
  return [
    createGenerateProjectMetaTask(services, options),
    createBackfillTask(services, { schedules: scheduled ? [{ cron: config.metadataNightlyCron, timezone: config.metadataTimezone }] : [] }),
    createCleanupTask(services, { schedules: scheduled ? [{ cron: config.metadataCleanupCron, timezone: config.metadataTimezone }] : [] }),
  ];
}
