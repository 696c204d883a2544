/**
 * `generate_missing_metadata` (seed 003's nightly job, on a cron): AI metadata for every non-draft
 * project older than an hour that has none, in batches of 10. For a tenant with
 * `regenerate_on_change` it also regenerates a project whose metadata describes older content
 * than the project has, edited before the cut-off: the regeneration that edit queued failed for
 * good or was cancelled (backfill-store.ts). Those count in `refreshed` as well as `generated`.
 *
 * Exactly once, across crashes. The run walks projects in (created_at, id) order with a keyset
 * cursor; each batch's selection is a checkpointed step (`batch:N`) and so is each project
 * (`project:{id}`), whose metadata row commits together with its checkpoint. A resumed run replays
 * the stored batches and projects (no model call again), recomputes the cursor from them and
 * continues after the last project that committed: no project is skipped (the cursor is a
 * position, not an offset into a set that shrinks as it is processed) and none is done twice.
 *
 * One run per project at a time: the operator's all-tenants run and a tenant's own run do not
 * exclude each other (their concurrency keys are per tenant), so a run claims each project before
 * its model call (claim-store.ts) and skips a project another run has claimed. The claim is
 * released with the project's checkpoint and lapses if the run dies.
 *
 * The rate limit is real and shared: at most TASKLOOM_METADATA_RPM model requests start per
 * minute across every run and process (request-window-store.ts, rows in the database, so a crash
 * does not buy a fresh burst); a wait of more than 5 s snoozes the task (its slot is free
 * meanwhile, no attempt is spent). The offline analyser is not limited.
 *
 * One project's failure does not stop the run: it is recorded (failure metric) and the run goes
 * on; the result lists the failures.
 *
 * `generated` counts metadata rows this run wrote. A generation outside the back-fill (the API, a
 * content change) may store a project's metadata while this run's model answers. The save then
 * writes nothing and rolls its `generated` checkpoint back, and the project is checkpointed as
 * `skipped`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { abortReason, appendEvents, defineTask, type TaskContext } from '../../kit/index.ts';
import { NotFoundError, PermanentError, serializeError, TaskloomError, ValidationError } from '../../errors.ts';
import { analyseProject, errorTypeOf, metadataModelLabel, type AnalysisResult, type MetadataServices } from './analyse.ts';
import { countBackfillCandidates, nextBackfillCandidates, type BackfillCandidate } from './backfill-store.ts';
import { claimLeaseMs, claimProject, releaseProjectClaim, releaseTaskClaims } from './claim-store.ts';
import { recordGeneration } from './generations-store.ts';
import { aiMetadataLack, writeAiMetadata } from './meta-store.ts';
import { offlineModelId } from './offline/index.ts';
import { GenerationDisabledError, generationDisabledMessage } from './project-service.ts';
import { projectTypeOf } from './projects-store.ts';
import { reserveModelRequest } from './request-window-store.ts';
import { generateMissingMetadataInput, type GenerateMissingMetadataInput } from './schemas.ts';
import { generateMissingMetadataSummary } from './task-types.ts';

/** The tenant whose tasks may span every tenant: where schedules submit, the operator's. */
export const operatorTenant = 'default';

/**
 * A task's `admit` (and the run's own check, for one queued before): only the operator tenant may
 * span every tenant. Refused at submit, 400, rather than accepted and failed.
 */
export function refuseOtherTenantsScope(tenant: string, input: { all_tenants: boolean }, what: string): void {
  if (input.all_tenants && tenant !== operatorTenant) {
    throw new ValidationError(`all_tenants is only for the operator tenant "${operatorTenant}" (where the schedules run); tenant ${tenant} can ${what} its own projects only.`, { issues: [{ path: 'all_tenants', message: `only for tenant "${operatorTenant}"` }] });
  }
}

interface PlanResult {
  createdBefore: string;
  /** Projects needing metadata when the run started (progress denominator). */
  total: number;
  startedAt: string;
}

type ProjectOutcome =
  /** `refreshed`: the project had metadata, describing older content. */
  | { status: 'generated'; started_at: number | null; model_used: string; analysis: AnalysisResult; refreshed: boolean }
  /**
   * Had metadata (describing its current content), was deleted, or was claimed by another run.
   * `started_at`: the request a project spent when its metadata was stored by someone else during
   * the call.
   */
  | { status: 'skipped'; started_at: number | null }
  /** `code`: the error's stable code (absent from checkpoints written before it was kept). */
  | { status: 'failed'; started_at: number | null; model_used: string; error: string; code?: string; error_type: string; duration_seconds: number; project_type: string };

export interface BackfillResult {
  status: 'completed';
  created_before: string;
  batches: number;
  processed: number;
  /** Metadata rows this run wrote. */
  generated: number;
  /** Of `generated`, the rows that replaced metadata describing older content than the project's. */
  refreshed: number;
  /**
   * Had metadata by the time their turn came or by the time the model answered (generated
   * meanwhile: the API, a content change, an overlapping back-fill; for a project selected for
   * its outdated metadata, metadata of its current content), were being generated by an
   * overlapping back-fill (its claim), or were deleted meanwhile.
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
    // Refused at submit: with generation off, or across tenants from another tenant.
    async admit({ tenant, input }) {
      if (!config.enableSti) throw new GenerationDisabledError();
      refuseOtherTenantsScope(tenant, input, 'back-fill');
    },
    async run(context: TaskContext<GenerateMissingMetadataInput>): Promise<BackfillResult> {
      const { input, tenant, taskId, signal } = context;
      // Switched off after this task was queued; or queued before admission was asked.
      if (!config.enableSti) throw new PermanentError(generationDisabledMessage);
      refuseOtherTenantsScope(tenant, input, 'back-fill');
      const scopeTenant = input.all_tenants ? undefined : tenant;
      const rateWindowMs = options.rateWindowMs ?? 60_000;
      const leaseMs = claimLeaseMs(config);
      // A model that does not resolve counts as limited: each project then fails with the
      // configuration error and is recorded, instead of the whole run failing here.
      const limited = metadataModelLabel(services) !== offlineModelId;

      const plan = await context.step('plan', async (): Promise<PlanResult> => {
        const createdBefore = new Date(Date.now() - input.min_age_minutes * 60_000).toISOString();
        return { createdBefore, total: await countBackfillCandidates(pool, { tenant: scopeTenant, createdBefore }), startedAt: new Date().toISOString() };
      });

      const result: BackfillResult = { status: 'completed', created_before: plan.createdBefore, batches: 0, processed: 0, generated: 0, refreshed: 0, skipped: 0, failed: 0, failures: [], duration_ms: 0 };
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
            // request it spent stays in the rate window (its row in request-window-store.ts).
            const spent = error.requestStartedAt;
            outcome = await projectStep(candidate, async () => ({ status: 'skipped', started_at: spent }));
          }
          result.processed += 1;
          if (outcome.status === 'generated') {
            result.generated += 1;
            if (outcome.refreshed) result.refreshed += 1;
          }
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

      /**
       * A project's checkpointed step: its metadata row (only if still absent) or its failure
       * commits with the checkpoint, and so does the release of the run's claim on the project,
       * and the project's event (`metadata_generated` with trigger `backfill`, or
       * `metadata_generation_failed`), under the project's tenant and id, so whoever follows the
       * project's events hears of the nightly run's work as of an API generation.
       */
      function projectStep(candidate: BackfillCandidate, run: () => Promise<ProjectOutcome>): Promise<ProjectOutcome> {
        return context.step(`project:${candidate.id}`, run, {
          save: async (transaction, outcome) => {
            await releaseProjectClaim(transaction, { tenant: candidate.tenant, projectId: candidate.id, taskId });
            if (outcome.status === 'generated') {
              const { analysis } = outcome;
              // Only over no row or one of older content: metadata generated meanwhile (the API, a
              // content change, or a back-fill that took the project over after this run's claim
              // lapsed) wins.
              const written = await writeAiMetadata(transaction, candidate.tenant, candidate.id, analysis.value, { contentVersion: analysis.contentVersion, keepNewer: true });
              if (!written) throw new MetadataNotWrittenError(candidate.id, outcome.started_at);
              await recordGeneration(transaction, {
                tenant: candidate.tenant, projectId: candidate.id, taskId, status: 'success', modelUsed: analysis.value.model_used, projectType: analysis.projectType,
                durationSeconds: analysis.durationSeconds, contentLengthChars: analysis.contentLengthChars,
                tagsCount: analysis.value.ai_generated_tags.length, summaryLengthChars: analysis.value.content_summary.length,
              });
              await appendEvents(transaction, [{
                taskId, tenant: candidate.tenant, projectId: candidate.id, type: 'metadata_generated',
                payload: {
                  project_id: candidate.id, model_used: analysis.value.model_used, prompt_version: analysis.value.prompt_version,
                  ai_generated_tags: analysis.value.ai_generated_tags, difficulty_level: analysis.value.difficulty_level, force_regenerate: false, trigger: 'backfill',
                },
              }]);
            } else if (outcome.status === 'failed') {
              await recordGeneration(transaction, {
                tenant: candidate.tenant, projectId: candidate.id, taskId, status: 'failure', modelUsed: outcome.model_used, projectType: outcome.project_type,
                errorType: outcome.error_type, errorMessage: outcome.error, durationSeconds: outcome.duration_seconds,
              });
              await appendEvents(transaction, [{
                taskId, tenant: candidate.tenant, projectId: candidate.id, type: 'metadata_generation_failed',
                payload: { project_id: candidate.id, error_type: outcome.error_type, error: outcome.error, code: outcome.code ?? outcome.error_type },
              }]);
            }
          },
        });
      }

      async function generateOne(candidate: BackfillCandidate): Promise<ProjectOutcome> {
        const claim = { tenant: candidate.tenant, projectId: candidate.id, taskId };
        // Another run is generating it: the model is not called twice for one project. That run
        // stores the metadata; should it fail, the next back-fill finds the project again.
        if (!(await claimProject(pool, { ...claim, leaseMs }))) return { status: 'skipped', started_at: null };
        try {
          // Checked under the claim: a run that stored it has released its claim by then.
          const lack = await aiMetadataLack(pool, candidate.tenant, candidate.id);
          if (lack === null) return { status: 'skipped', started_at: null };
          const startedAt = limited ? await reserveRequest(candidate.tenant) : null;
          const started = performance.now();
          try {
            const analysis = await analyseProject(services, { tenant: candidate.tenant, projectId: candidate.id, signal, taskId, step: `project:${candidate.id}` });
            // The offline analyser's reasons stay out of the checkpoint: one row per project adds up.
            return { status: 'generated', started_at: startedAt, model_used: analysis.value.model_used, analysis: { ...analysis, offline: null }, refreshed: lack === 'outdated' };
          } catch (error) {
            // Stopping the run (cancel, shutdown, timeout) is not this project's failure.
            if (abortReason(signal) !== undefined || signal.aborted) throw error;
            const projectType = await projectTypeOf(pool, candidate.tenant, candidate.id);
            // Deleted while it was analysed: skipped, as one deleted before its claim is. A user
            // deleting a project is not a failed generation.
            if (projectType === undefined && error instanceof NotFoundError) return { status: 'skipped', started_at: startedAt };
            return {
              status: 'failed', started_at: startedAt, model_used: metadataModelLabel(services), error: serializeError(error).message, code: serializeError(error).code, error_type: errorTypeOf(error),
              duration_seconds: (performance.now() - started) / 1000, project_type: projectType ?? 'unknown',
            };
          }
        } catch (error) {
          // The run stops here (a snooze, a cancel, a shutdown): let another run have the project
          // now rather than when the claim lapses. Best effort: the lapse is the safety net.
          await releaseProjectClaim(pool, claim).catch(() => {});
          throw error;
        }
      }

      /**
       * Waits for a place in the shared rate window and returns when the request started. A long
       * wait hands the task back instead of holding a worker slot (the caller releases the claim).
       */
      async function reserveRequest(projectTenant: string): Promise<number> {
        for (;;) {
          const reservation = await reserveModelRequest(pool, { tenant: projectTenant, taskId, perMinute: config.metadataRequestsPerMinute, windowMs: rateWindowMs });
          if (reservation.reserved) return reservation.startedAt;
          if (reservation.waitMs > snoozeAfterMs) await context.snooze(reservation.waitMs);
          await sleep(reservation.waitMs, undefined, { signal });
        }
      }
    },
    // A run that ended where none of its code saw it (its worker died, then a cancel, or its last
    // attempt was abandoned) leaves the claim of the project it was generating: a forced
    // generation of that project would wait out the claim's lease (14 min by default).
    async onFailure({ task, transaction }) {
      await releaseTaskClaims(transaction, task.id);
    },
  });
}
