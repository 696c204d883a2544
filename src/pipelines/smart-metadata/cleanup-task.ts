/**
 * `cleanup_old_metadata` (seed 003, weekly): removes the AI metadata of draft projects created more
 * than 7 days ago, and reports each row it removed.
 *
 * Only rows with key `ai_generated_metadata` are ever chosen or deleted (the seed's cleanup deleted
 * users' own keys). AI rows of deleted projects need no pass: project_meta's foreign key removes
 * them with their project, so an orphan cannot exist.
 *
 * The rows to remove are chosen outside any transaction and deleted by id in the step's save,
 * each re-checked; if a project changed in between (no longer a draft), the step's transaction
 * rolls back and the task retries with a fresh choice, so the report is always exactly what went.
 */
import { defineTask, type TaskContext } from '../../kit/index.ts';
import { TaskloomError } from '../../errors.ts';
import type { MetadataServices } from './analyse.ts';
import { refuseOtherTenantsScope } from './backfill-task.ts';
import { deleteAiMetadataRows, staleAiMetadata } from './meta-store.ts';
import { cleanupOldMetadataInput, type CleanupOldMetadataInput } from './schemas.ts';
import { cleanupOldMetadataSummary } from './task-types.ts';

export interface CleanupResult {
  status: 'completed';
  draft_age_days: number;
  removed_count: number;
  removed: Array<{ project_id: string; tenant: string; reason: 'draft_project_older_than_limit' }>;
}

export function createCleanupTask(services: MetadataServices, options: { schedules?: Array<{ cron: string; timezone: string }> } = {}) {
  const { pool } = services;
  return defineTask({
    ...cleanupOldMetadataSummary,
    input: cleanupOldMetadataInput,
    concurrency: { key: () => 'cleanup', onConflict: 'reject' },
    schedules: (options.schedules ?? []).map((schedule) => ({ cron: schedule.cron, timezone: schedule.timezone, input: { draft_age_days: 7, all_tenants: true }, key: 'weekly' })),
    async admit({ tenant, input }) {
      refuseOtherTenantsScope(tenant, input, 'clean up');
    },
    async run(context: TaskContext<CleanupOldMetadataInput>): Promise<CleanupResult> {
      const { input, tenant } = context;
      // Again for a task queued before admission was asked.
      refuseOtherTenantsScope(tenant, input, 'clean up');
      const scopeTenant = input.all_tenants ? undefined : tenant;
      const removed = await context.step('remove', async (scope) => {
        const rows = await staleAiMetadata(pool, { tenant: scopeTenant, draftAgeDays: input.draft_age_days });
        if (rows.length > 0) scope.emit('metadata_cleaned_up', { removed_count: rows.length, project_ids: rows.slice(0, 100).map((row) => row.project_id) });
        return rows;
      }, {
        save: async (transaction, rows) => {
          const deleted = await deleteAiMetadataRows(transaction, rows.map((row) => row.id), input.draft_age_days);
          if (deleted !== rows.length) {
            throw new TaskloomError('cleanup_raced', `${rows.length - deleted} of ${rows.length} projects changed while the cleanup ran; retrying with a fresh selection so the report stays exact.`, { retryable: true });
          }
        },
      });
      return {
        status: 'completed',
        draft_age_days: input.draft_age_days,
        removed_count: removed.length,
        removed: removed.map((row) => ({ project_id: row.project_id, tenant: row.tenant, reason: 'draft_project_older_than_limit' as const })),
      };
    },
  });
}
