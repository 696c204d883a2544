/**
 * `follow_up_project_meta`: the regeneration an edit of a project's content is owed when its own
 * was refused because a generation of the project was active (project-service.ts).
 *
 * That generation cannot be relied on to describe the edit. It reads the project's text once, and
 * an edit committing after that read is not in what it stores: one during the model call, or one
 * in the moment between its last step and the end of its task, while the engine still holds the
 * project's concurrency key and so refuses the edit's own regeneration. Nor does a generation that
 * ends skipped, failed or cancelled describe anything. The engine runs nothing when a task
 * completes, and the generation cannot see edits after its last step, so the edit's side queues
 * this task instead, which outlives the generation.
 *
 * It submits the regeneration (`generate_project_meta`, trigger `content_change`); while the
 * project's key is held (`concurrency_conflict`) it snoozes, holding no worker slot and spending no
 * attempt, and tries again (`waitBeforeNextLookMs`). Once the key is free, every edit it stands
 * for has committed (each was refused while the key was held), so the regeneration it submits
 * reads them. That regeneration debounces like any other and skips content the stored metadata
 * already describes (`aiMetadataIsCurrent`): following a generation that did read the edit costs
 * no model call.
 *
 * Durable throughout: the follow-up is a task from the moment the edit's regeneration was refused,
 * and the regeneration is submitted under an idempotency key of the follow-up's own, so an attempt
 * that crashed after submitting it finds that task again instead of making another.
 */
import { defineTask, type TaskContext } from '../../kit/index.ts';
import { NotFoundError, PermanentError } from '../../errors.ts';
import type { MetadataServices } from './analyse.ts';
import { admitProjectGeneration } from './generate-task.ts';
import { activeGenerationOf, generationDisabledMessage } from './project-service.ts';
import { projectContentChangedAt } from './projects-store.ts';
import { followUpProjectMetaInput, generateProjectMetaType, type FollowUpProjectMetaInput, type GenerateProjectMetaInput } from './schemas.ts';
import { followUpProjectMetaSummary } from './task-types.ts';

export interface FollowUpProjectMetaResult {
  status: 'submitted' | 'skipped';
  project_id: string;
  /** The regeneration it submitted (`submitted`). */
  task_id?: string;
  /** Why none was needed (`skipped`). */
  reason?: 'project_not_found';
}

/**
 * How long a follow-up waits at least before it looks again while a generation holds the project:
 * as long as a generation waits for a back-fill's claim.
 */
const followUpWaitMs = 2000;

/**
 * How long to wait before looking again, `changedAt` being the project's content version. Until
 * the content has been left alone for the debounce period, the regeneration would wait anyway.
 * After that, a quarter of the time since the edit: a generation held up by a provider outage can
 * stay active through its three attempts' retry windows (3 × 14 min by default): 1,260 looks
 * every 2 s, 18 this way (30 without a debounce), while the regeneration starts late by at most a
 * quarter of the time already waited.
 */
function waitBeforeNextLookMs(changedAt: number, debounceMs: number, now: number): number {
  return Math.max(followUpWaitMs, changedAt + debounceMs - now, (now - changedAt) / 4);
}

export function createFollowUpTask(services: MetadataServices) {
  const { pool, config } = services;
  return defineTask({
    ...followUpProjectMetaSummary,
    input: followUpProjectMetaInput,
    // As a generation is: a follow-up the engine accepted for another tenant's project, or with
    // generation off, only failed or ended skipped later.
    admit: admitProjectGeneration(config),
    async run(context: TaskContext<FollowUpProjectMetaInput>): Promise<FollowUpProjectMetaResult> {
      const { input, tenant } = context;
      const projectId = input.project_id;
      // Switched off after this task was queued: the generation it would submit would fail the same way.
      if (!config.enableSti) throw new PermanentError(generationDisabledMessage);
      const changedAt = await projectContentChangedAt(pool, tenant, projectId);
      // Deleted: no edit of it can come any more, so nothing is owed.
      if (changedAt === undefined) return { status: 'skipped', project_id: projectId, reason: 'project_not_found' };
      const regeneration: GenerateProjectMetaInput = { project_id: projectId, force: true, trigger: 'content_change' };
      try {
        const submitted = await context.submit(generateProjectMetaType, regeneration, { idempotencyKey: `${generateProjectMetaType}:${context.taskId}` });
        return { status: 'submitted', project_id: projectId, task_id: submitted.taskId };
      } catch (error) {
        // Deleted since the look above: refused at admission, and nothing is owed.
        if (error instanceof NotFoundError) return { status: 'skipped', project_id: projectId, reason: 'project_not_found' };
        // Whichever generation holds the project: the followed one, or one started since, which
        // read the edits but may still end skipped, failed or cancelled. The regeneration
        // submitted once none is active skips what such a one did describe.
        if (activeGenerationOf(error) === undefined) throw error;
        return context.snooze(waitBeforeNextLookMs(changedAt, config.metadataRegenerateDebounceMs, Date.now()));
      }
    },
  });
}
