/**
 * `generate_project_meta` (seed 003): one project's tags, summary and difficulty.
 *
 * One checkpointed step: its work (load the project, build its text, one structured call or the
 * offline analyser, validation) runs outside any transaction; its save replaces the AI row and
 * records the generation in one transaction with the checkpoint. So a failure anywhere writes no
 * metadata, and a resumed task never stores twice. A final failure (no retry left), a hard
 * timeout on the last attempt included (error type `timeout`), is recorded in
 * `project_meta_generations` for the failure metric and emitted as `metadata_generation_failed`,
 * once per task (`recordFinalFailure`); the task fails with the error itself (a typed error naming
 * provider, model and cause). A failure none of the task's code saw (its worker died on its last
 * attempt: `abandoned`) is recorded by the type's `onFailure`.
 *
 * One run per project at a time: a second submit while one is active is rejected with the active
 * task's id (the API answers with that task). Each generation also claims the project as a
 * back-fill does (claim-store.ts), so a back-fill and this task never call the model for one
 * project at once: a task that finds a back-fill's claim snoozes until it is released.
 *
 * Regeneration after a content change (trigger `content_change`, for tenants that enable it) is
 * debounced: the task first waits until the project has been left alone for
 * TASKLOOM_METADATA_REGENERATE_DEBOUNCE_MS, so a burst of edits costs one generation. The waits
 * are durable sleeps: the task holds no worker slot while it waits, and a restart does not
 * shorten or repeat them. An edit whose own regeneration is refused because a generation (of any
 * trigger) is active is not left to that generation, which may have read the text before it: the
 * edit's side queues a follow-up (follow-up-task.ts) that submits a `content_change` regeneration
 * once the project has no active generation. Such a regeneration skips content the stored metadata
 * already describes: each AI row records the content version it was generated from
 * (meta-store.ts), so the follow-up of a generation that did read the edit (one made during its
 * debounce) costs no model call.
 */
import { abortReason, attemptEnding, defineTask, withTransaction, type Queryable, type TaskContext } from '../../kit/index.ts';
import { NotFoundError, PermanentError, serializeError } from '../../errors.ts';
import { analyseProject, errorTypeOf, metadataModelLabel, type AnalysisResult, type MetadataServices } from './analyse.ts';
import { claimLeaseMs, claimProject, releaseProjectClaim } from './claim-store.ts';
import { recordFinalFailure, recordGeneration } from './generations-store.ts';
import { aiMetadataIsCurrent, readAiMetadata, writeAiMetadata } from './meta-store.ts';
import { GenerationDisabledError, generationDisabledMessage } from './project-service.ts';
import { projectContentChangedAt, projectExists, projectTypeOf } from './projects-store.ts';
import { generateProjectMetaInput, type AiMetadataValue, type GenerateProjectMetaInput } from './schemas.ts';
import { generateProjectMetaSummary } from './task-types.ts';

/**
 * Why a generation wrote nothing: metadata exists and the request was not forced, or (a
 * regeneration after a content change) the stored metadata already describes the current content.
 */
type SkipReason = 'metadata_exists' | 'metadata_current' | 'project_not_found';

export interface GenerateProjectMetaResult {
  status: 'generated' | 'skipped';
  project_id: string;
  force_regenerate: boolean;
  /** Why nothing was generated (`skipped`). */
  reason?: SkipReason;
  metadata?: AiMetadataValue;
  /** The offline analyser's scored terms and readability figures; null for model answers. */
  analysis?: AnalysisResult['offline'];
}

type GenerationOutcome = { status: 'skipped'; reason: SkipReason } | ({ status: 'generated' } & AnalysisResult);

export interface GenerateTaskOptions {
  /** First retry delay of a failed attempt. @default the ai_jobs queue's (5 s) */
  retryBaseDelayMs?: number;
  /** How long an attempt may run before the engine stops it. @default `generationHardTimeoutMs(config)` (14 min) */
  hardTimeoutMs?: number;
}

/**
 * How long an attempt may run by default: as long as one metadata call may go on, which is how
 * long its claim holds (claim-store.ts: the configured model's retries for
 * TASKLOOM_LLM_RETRY_WINDOW_MS and a fallback model's, each request up to TASKLOOM_LLM_TIMEOUT_MS;
 * 14 min by default). Not the ai_jobs queue's 300 s: that is the default retry window itself,
 * which counts from the first failure, so during an outage every attempt was stopped while the
 * gateway still retried the configured model, no fallback model was ever tried, and the task
 * failed as hard_timeout. An attempt stopped here has also not outlived its claim.
 */
export function generationHardTimeoutMs(config: MetadataServices['config']): number {
  return claimLeaseMs(config);
}

/** Attempts in all: a provider failure the gateway's own retries did not overcome gets two more chances. */
const maxAttempts = 3;
/** How long a generation waits for a back-fill's claim on its project before it looks again. */
const claimWaitMs = 2000;

/**
 * A metadata task's `admit` (generate_project_meta, follow_up_project_meta): refused at submit (the
 * generic task API, the CLI) while generation is off, and for a project the tenant does not have:
 * 400 and 404 rather than a task that fails and counts as a failed generation.
 */
export function admitProjectGeneration(config: MetadataServices['config']) {
  return async ({ tenant, input, database }: { tenant: string; input: { project_id: string }; database: Queryable }): Promise<void> => {
    if (!config.enableSti) throw new GenerationDisabledError();
    if (!(await projectExists(database, tenant, input.project_id))) throw new NotFoundError('Project', input.project_id);
  };
}

export function createGenerateProjectMetaTask(services: MetadataServices, options: GenerateTaskOptions = {}) {
  const { pool, logger, config } = services;

  /** One generation as a checkpointed step: the work outside any transaction, the row and its record in the save. */
  const generateStep = (context: TaskContext<GenerateProjectMetaInput>, key: string, force: boolean): Promise<GenerationOutcome> => {
    const { input, tenant, taskId, signal } = context;
    const projectId = input.project_id;
    const claim = { tenant, projectId, taskId };
    return context.step(key, async (scope): Promise<GenerationOutcome> => {
      // A back-fill generating this project right now (claim-store.ts): wait for it rather than
      // pay the model twice at once; this task's answer then replaces the back-fill's. A project
      // that does not exist takes no claim, and the analysis below says so.
      if (!(await claimProject(pool, { ...claim, leaseMs: claimLeaseMs(config) })) && (await projectTypeOf(pool, tenant, projectId)) !== undefined) {
        return context.snooze(claimWaitMs);
      }
      try {
        if (!force && (await readAiMetadata(pool, tenant, projectId))) return { status: 'skipped', reason: 'metadata_exists' };
        // Checked under the claim, after the debounce: edits a generation has described since this
        // regeneration was asked for (a follow-up of one that read them after all) cost nothing.
        if (input.trigger === 'content_change' && (await aiMetadataIsCurrent(pool, tenant, projectId))) return { status: 'skipped', reason: 'metadata_current' };
        const result = await analyseProject(services, { tenant, projectId, signal, taskId, step: key });
        scope.emit('metadata_generated', {
          project_id: projectId, model_used: result.value.model_used, prompt_version: result.value.prompt_version,
          ai_generated_tags: result.value.ai_generated_tags, difficulty_level: result.value.difficulty_level, force_regenerate: force, trigger: input.trigger,
        });
        return { status: 'generated', ...result };
      } catch (error) {
        // Let a back-fill have the project now rather than when the claim lapses; best effort
        // (the failure handler releases it too).
        await releaseProjectClaim(pool, claim).catch(() => {});
        throw error;
      }
    }, {
      save: async (transaction, outcome) => {
        await releaseProjectClaim(transaction, claim);
        if (outcome.status !== 'generated') return;
        const written = await writeAiMetadata(transaction, tenant, projectId, outcome.value, { contentVersion: outcome.contentVersion });
        // Deleted while the model answered: nothing to attach the metadata to.
        if (written === undefined) throw new NotFoundError('Project', projectId);
        await recordGeneration(transaction, {
          tenant, projectId, taskId, status: 'success', modelUsed: outcome.value.model_used, projectType: outcome.projectType,
          durationSeconds: outcome.durationSeconds, contentLengthChars: outcome.contentLengthChars,
          tagsCount: outcome.value.ai_generated_tags.length, summaryLengthChars: outcome.value.content_summary.length,
        });
      },
    });
  };

  /** The generation step; a failure that ends the task is recorded (metric, event) before it propagates. */
  const generateOrRecordFailure = async (context: TaskContext<GenerateProjectMetaInput>, key: string, force: boolean): Promise<GenerationOutcome> => {
    const { input, tenant, taskId, signal } = context;
    const started = performance.now();
    try {
      return await generateStep(context, key, force);
    } catch (error) {
      // Deleted before or while it was generated (an edit's regeneration waits out its debounce
      // first): nothing is owed any more, as the follow-up and the back-fill see it. A user
      // deleting a project is not a failed generation.
      if (error instanceof NotFoundError && (await projectTypeOf(pool, tenant, input.project_id)) === undefined) {
        await releaseProjectClaim(pool, { tenant, projectId: input.project_id, taskId }).catch(() => {});
        return { status: 'skipped', reason: 'project_not_found' };
      }
      // A cancelled, stopped or taken-over attempt is not a failed generation, and a retried one
      // not yet. A hard timeout is: during a provider outage every attempt ends that way, and the
      // last one fails the task.
      if (attemptEnding(context, error).kind !== 'failed') throw error;
      const timedOut = abortReason(signal) === 'hard_timeout';
      // What reaches the handler after a hard timeout is the abort itself (the model call's
      // cancellation), so the failure is described as the engine records it: `hard_timeout`.
      const failure = timedOut
        ? { code: 'hard_timeout', message: `The attempt reached the task's hard timeout before the metadata was generated (attempt ${context.attempt} of ${context.maxAttempts}).` }
        : serializeError(error);
      const errorType = timedOut ? 'timeout' : errorTypeOf(error);
      const projectType = await projectTypeOf(pool, tenant, input.project_id).catch(() => undefined);
      // The row (the failure metric) and the event together, and not fenced by the attempt's
      // lease: at a hard timeout the engine settles the task without waiting for this handler, so
      // the lease may already be gone, and a fenced write would lose exactly these failures.
      await withTransaction(pool, (transaction) => recordFinalFailure(transaction, {
        tenant, projectId: projectType ? input.project_id : null, taskId, status: 'failure', modelUsed: metadataModelLabel(services),
        projectType: projectType ?? 'unknown', errorType, errorMessage: failure.message, durationSeconds: (performance.now() - started) / 1000,
      }, {
        taskId, tenant, projectId: context.projectId, type: 'metadata_generation_failed',
        payload: { project_id: input.project_id, error_type: errorType, error: failure.message, code: failure.code },
      })).catch((recordError: unknown) => logger.warn({ err: recordError, taskId }, 'could not record a failed metadata generation'));
      throw error;
    }
  };

  /**
   * Durable debounce: sleeps (without a worker slot) until the project has been left alone for
   * the debounce period. Each check is a step, so a replay after a wake-up sees the same answers
   * and goes on from the first check not yet made.
   */
  const waitUntilQuiet = async (context: TaskContext<GenerateProjectMetaInput>): Promise<void> => {
    for (let check = 1; ; check += 1) {
      const remainingMs = await context.step(`quiet:${check}`, async () => {
        const changedAt = await projectContentChangedAt(pool, context.tenant, context.input.project_id);
        return changedAt === undefined ? 0 : Math.max(0, Math.ceil(changedAt + config.metadataRegenerateDebounceMs - Date.now()));
      });
      if (remainingMs <= 0) return;
      await context.sleep(`debounce:${check}`, remainingMs);
    }
  };

  return defineTask({
    ...generateProjectMetaSummary,
    input: generateProjectMetaInput,
    maxAttempts,
    ...(options.retryBaseDelayMs === undefined ? {} : { retryBaseDelayMs: options.retryBaseDelayMs }),
    hardTimeoutMs: options.hardTimeoutMs ?? generationHardTimeoutMs(config),
    concurrency: { key: (input: GenerateProjectMetaInput) => input.project_id, onConflict: 'reject' },
    projectId: (input: GenerateProjectMetaInput) => input.project_id,
    admit: admitProjectGeneration(config),
    async run(context: TaskContext<GenerateProjectMetaInput>): Promise<GenerateProjectMetaResult> {
      const { input } = context;
      // Switched off after this task was queued.
      if (!config.enableSti) throw new PermanentError(generationDisabledMessage);
      const projectId = input.project_id;
      if (input.trigger === 'content_change') await waitUntilQuiet(context);
      // No second look at the content after this: an edit from here on was refused a generation
      // of its own while this task is active, and is followed up instead (follow-up-task.ts).
      const outcome = await generateOrRecordFailure(context, 'generate', input.force);
      if (outcome.status === 'skipped') {
        return { status: 'skipped', project_id: projectId, force_regenerate: input.force, reason: outcome.reason };
      }
      await context.progress(100, `tags: ${outcome.value.ai_generated_tags.join(', ')}`).catch(() => {});
      return { status: 'generated', project_id: projectId, force_regenerate: input.force, metadata: outcome.value, analysis: outcome.offline };
    },
    /**
     * A final failure no handler recorded: a worker that died on its last attempt (`abandoned`),
     * or a record the handler could not write. Described as the task's error says.
     */
    async onFailure({ task, transaction }) {
      const { project_id: projectId } = task.input as GenerateProjectMetaInput;
      // A claim its dead or cancelled attempt left: a back-fill may have the project now.
      await releaseProjectClaim(transaction, { tenant: task.tenant, projectId, taskId: task.id });
      if (task.status !== 'failed') return;
      const error = (task.error ?? {}) as { code?: string; message?: string; details?: { error_type?: unknown } };
      const code = error.code ?? 'internal_error';
      const errorType = code === 'hard_timeout' ? 'timeout' : typeof error.details?.error_type === 'string' ? error.details.error_type : code;
      const message = error.message ?? 'The generation failed.';
      const projectType = await projectTypeOf(transaction, task.tenant, projectId);
      const startedAt = task.started_at === null ? Number.NaN : Date.parse(task.started_at);
      const endedAt = task.completed_at === null ? Number.NaN : Date.parse(task.completed_at);
      await recordFinalFailure(transaction, {
        tenant: task.tenant, projectId: projectType ? projectId : null, taskId: task.id, status: 'failure', modelUsed: metadataModelLabel(services),
        projectType: projectType ?? 'unknown', errorType, errorMessage: message, durationSeconds: Number.isFinite(endedAt - startedAt) ? Math.max(0, (endedAt - startedAt) / 1000) : 0,
      }, {
        taskId: task.id, tenant: task.tenant, projectId: task.project_id, type: 'metadata_generation_failed',
        payload: { project_id: projectId, error_type: errorType, error: message, code },
      });
    },
  });
}
