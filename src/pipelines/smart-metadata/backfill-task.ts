/**
 * `generate_missing_metadata` (seed 003's nightly job, on a cron): AI metadata for every non-draft
 * project older than an hour that has none, in batches of 10.
 *
 * Exactly once, across crashes. The run walks projects in (created_at, id) order with a keyset
 * cursor; each batch's selection is a checkpointed step (`batch:N`) and so is each project
 * (`project:{id}`), whose metadata row commits together with its checkpoint. A resumed run replays
 * the stored batches and projects (no model call again), recomputes the cursor from them and
 * continues after the last project that committed: no project is skipped (the cursor is a
 * position, not an offset into a set that shrinks as it is processed) and none is done twice.
 *
 * The rate limit is real: at most TASKLOOM_METADATA_RPM model requests start per minute
 * (minute-window.ts), rebuilt from checkpoints on resume; a wait of more than 5 s snoozes the task
 * (its slot is free meanwhile, no attempt is spent). The offline analyser is not limited.
 *
 * One project's failure does not stop the run: it is recorded (failure metric) and the run goes
 * on; the result lists the failures.
 *
 * `generated` counts metadata rows this run wrote. Another run may store a project's metadata
 * while this one's model answers (the API, a content change, or an overlapping back-fill: the
 * operator's all-tenant run and a tenant's own run do not exclude each other, their concurrency
 * keys are per tenant). The save then writes nothing and rolls its `generated` checkpoint back,
 * and the project is checkpointed as `skipped`.
 */
import { abortReason, defineTask, type TaskContext } from '../../kit/index.ts';
import { PermanentError, serializeError, TaskloomError } from '../../errors.ts';
import { analyseProject, errorTypeOf, metadataModel, type AnalysisResult, type MetadataServices } from './analyse.ts';
import { countBackfillCandidates, nextBackfillCandidates, type BackfillCandidate } from './backfill-store.ts';
import { recordGeneration } from './generations-store.ts';
import { readAiMetadata, writeAiMetadata } from './meta-store.ts';
import { MinuteWindow } from './minute-window.ts';
import { offlineModelId } from './offline/index.ts';
import { generationDisabledMessage } from './project-service.ts';
import { projectTypeOf } from './projects-store.ts';
import { generateMissingMetadataInput, type GenerateMissingMetadataInput } from './schemas.ts';
import { generateMissingMetadataSummary } from './task-types.ts';

/** The tenant whose tasks may span every tenant: where schedules submit, the operator's. */
export const operatorTenant = 'default';

interface PlanResult {
  createdBefore: string;
  /** Projects without metadata when the run started (progress denominator). */
  total: number;
  startedAt: string;
}

type ProjectOutcome =
  | { status: 'generated'; started_at: number | null; model_used: string; analysis: AnalysisResult }
  /** `started_at`: the request a project spent when its metadata was stored by someone else during the call. */
  | { status: 'skipped'; started_at: number | null }
  | { status: 'failed'; started_at: number | null; model_used: string; error: string; error_type: string; duration_seconds: number; project_type: string };

export interface BackfillResult {
  status: 'completed';
  created_before: string;
  batches: number;
  processed: number;
  /** Metadata rows this run wrote. */
  generated: number;
  /**
   * Had metadata by the time their turn came or by the time the model answered (generated
   * meanwhile: the API, a content change, an overlapping back-fill), or were deleted meanwhile.
   */
  skipped: number;
  failed: number;
  failures: Array<{ project_id: string; tenant: string; error_type: string; error: string }>;
  duration_ms: number;
}

/**
 * Thrown by a project step's save when it wrote nothing (metadata stored meanwhile, or the project
 * deleted): it rolls the `generated` checkpoint back, and the run checkpoints the project as
 * skipped instead. Retryable, should it ever escape: a retry finds the metadata and skips.
 */
class MetadataNotWrittenError extends TaskloomError {
  /** When the project's model request started (it stays in the rate window), or null offline. */
  readonly requestStartedAt: number | null;

  constructor(projectId: string, requestStartedAt: number | null) {
    super('metadata_not_written', `Project ${projectId} got its metadata from elsewhere, or was deleted, while the model answered; nothing was written.`, {
      details: { project_id: projectId, request_started_at: requestStartedAt },
    });
    this.requestStartedAt = requestStartedAt;
  }
}

/** Rate-limit waits longer than this snooze the task (no slot held) instead of sleeping in it. */
const snoozeAfterMs = 5000;

/** Failures listed in the result at most (all are counted). */
const listedFailures = 50;

export interface BackfillTaskOptions {
  /** Cron schedules; empty for none. */
  schedules?: Array<{ cron: string; timezone: string }>;
  /** Length of the rate limit's window: a minute except in tests. @default 60000 */
  rateWindowMs?: number;
}

export function createBackfillTask(services: MetadataServices, options: BackfillTaskOptions = {}) {
  const { pool, config } = services;
  return defineTask({
    ...generateMissingMetadataSummary,
    input: generateMissingMetadataInput,
    // Many projects at a limited rate take long; checkpoints make a retried attempt continue, not restart.
    hardTimeoutMs: 6 * 3_600_000,
    maxAttempts: 5,
    concurrency: { key: () => 'backfill', onConflict: 'reject' },
    schedules: (options.schedules ?? []).map((schedule) => ({ cron: schedule.cron, timezone: schedule.timezone, input: { batch_size: 10, min_age_minutes: 60, all_tenants: true }, key: 'nightly' })),
    async run(context: TaskContext<GenerateMissingMetadataInput>): Promise<BackfillResult> {
      const { input, tenant, taskId, signal } = context;
      if (!config.enableSti) throw new PermanentError(generationDisabledMessage);
      if (input.all_tenants && tenant !== operatorTenant) {
        throw new PermanentError(`all_tenants is only for the operator tenant "${operatorTenant}" (where the schedules run); tenant ${tenant} can back-fill its own projects only.`);
      }
      const scopeTenant = input.all_tenants ? undefined : tenant;
      const window = new MinuteWindow(config.metadataRequestsPerMinute, options.rateWindowMs);
      const limited = metadataModel(services) !== offlineModelId;

      const plan = await context.step('plan', async (): Promise<PlanResult> => {
        const createdBefore = new Date(Date.now() - input.min_age_minutes * 60_000).toISOString();
        return { createdBefore, total: await countBackfillCandidates(pool, { tenant: scopeTenant, createdBefore }), startedAt: new Date().toISOString() };
      });

      const result: BackfillResult = { status: 'completed', created_before: plan.createdBefore, batches: 0, processed: 0, generated: 0, skipped: 0, failed: 0, failures: [], duration_ms: 0 };
      let cursor: string | null = null;
      for (let batch = 1; ; batch += 1) {
        const after = cursor;
        const selection = await context.step(`batch:${batch}`, (): Promise<BackfillCandidate[]> =>
          nextBackfillCandidates(pool, { tenant: scopeTenant, after, createdBefore: plan.createdBefore, limit: input.batch_size }));
        if (selection.length === 0) break;
        result.batches = batch;
        for (const candidate of selection) {
          let outcome: ProjectOutcome;
          try {
            outcome = await projectStep(candidate, () => generateOne(candidate));
          } catch (error) {
            if (!(error instanceof MetadataNotWrittenError)) throw error;
            // `generated` counts rows written, so this project is checkpointed as skipped; the
            // request it spent stays in the rate window.
            const spent = error.requestStartedAt;
            outcome = await projectStep(candidate, async () => ({ status: 'skipped', started_at: spent }));
          }
          // Replayed steps put their request times back into the window.
          if (outcome.started_at !== null && !window.has(outcome.started_at)) window.record(outcome.started_at);
          result.processed += 1;
          if (outcome.status === 'generated') result.generated += 1;
          else if (outcome.status === 'skipped') result.skipped += 1;
          else {
            result.failed += 1;
            if (result.failures.length < listedFailures) result.failures.push({ project_id: candidate.id, tenant: candidate.tenant, error_type: outcome.error_type, error: outcome.error });
          }
        }
        cursor = selection.at(-1)!.position;
        const percent = plan.total === 0 ? 99 : Math.min(99, (result.processed / plan.total) * 100);
        await context.progress(percent, `batch ${batch}: ${result.processed} of ${plan.total} projects (${result.generated} generated, ${result.failed} failed)`);
      }
      result.duration_ms = Date.now() - Date.parse(plan.startedAt);
      await context.progress(100, `done: ${result.generated} generated, ${result.skipped} skipped, ${result.failed} failed`);
      return result;

      /** A project's checkpointed step: its metadata row (only if still absent) or its failure commits with the checkpoint. */
      function projectStep(candidate: BackfillCandidate, run: () => Promise<ProjectOutcome>): Promise<ProjectOutcome> {
        return context.step(`project:${candidate.id}`, run, {
          save: async (transaction, outcome) => {
            if (outcome.status === 'generated') {
              const { analysis } = outcome;
              // Only if still absent: metadata generated meanwhile (the API, a content change, an
              // overlapping back-fill of another tenant's scope) wins.
              const written = await writeAiMetadata(transaction, candidate.tenant, candidate.id, analysis.value, { onlyIfAbsent: true });
              if (!written) throw new MetadataNotWrittenError(candidate.id, outcome.started_at);
              await recordGeneration(transaction, {
                tenant: candidate.tenant, projectId: candidate.id, taskId, status: 'success', modelUsed: analysis.value.model_used, projectType: analysis.projectType,
                durationSeconds: analysis.durationSeconds, contentLengthChars: analysis.contentLengthChars,
                tagsCount: analysis.value.ai_generated_tags.length, summaryLengthChars: analysis.value.content_summary.length,
              });
            } else if (outcome.status === 'failed') {
              await recordGeneration(transaction, {
                tenant: candidate.tenant, projectId: candidate.id, taskId, status: 'failure', modelUsed: outcome.model_used, projectType: outcome.project_type,
                errorType: outcome.error_type, errorMessage: outcome.error, durationSeconds: outcome.duration_seconds,
              });
            }
          },
        });
      }

      async function generateOne(candidate: BackfillCandidate): Promise<ProjectOutcome> {
        if (await readAiMetadata(pool, candidate.tenant, candidate.id)) return { status: 'skipped', started_at: null };
        // A long wait for the window hands the task back instead of holding a worker slot; the
        // window is rebuilt from the checkpoints when it runs again.
        if (limited && window.waitMs() > snoozeAfterMs) await context.snooze(window.waitMs());
        const startedAt = limited ? await window.acquire(signal) : null;
        const started = performance.now();
        try {
          const analysis = await analyseProject(services, { tenant: candidate.tenant, projectId: candidate.id, signal, taskId, step: `project:${candidate.id}` });
          // The offline analyser's reasons stay out of the checkpoint: one row per project adds up.
          return { status: 'generated', started_at: startedAt, model_used: analysis.value.model_used, analysis: { ...analysis, offline: null } };
        } catch (error) {
          // Stopping the run (cancel, shutdown, timeout) is not this project's failure.
          if (abortReason(signal) !== undefined || signal.aborted) throw error;
          const projectType = await projectTypeOf(pool, candidate.tenant, candidate.id) ?? 'unknown';
          return {
            status: 'failed', started_at: startedAt, model_used: metadataModel(services), error: serializeError(error).message, error_type: errorTypeOf(error),
            duration_seconds: (performance.now() - started) / 1000, project_type: projectType,
          };
        }
      }
    },
  });
}
