/**
 * `automated_gather_creation` (seeds 000/001): for each department flagged for gathering, in
 * codeDepNumber order, generate gather items with cascading context, drop duplicates, save and
 * index them, score quality, and iterate until the department's threshold; then evaluate it.
 *
 * Durability: every unit of work is a checkpointed step whose domain writes and events commit in
 * the step's own transaction. A resumed attempt replays stored step results (no LLM call is made
 * again for a completed step) and rebuilds the loop's state from them, so a run killed anywhere
 * finishes with the same items and counts as an uninterrupted one.
 *
 * Step keys: `plan`, then per department `{slug}:start`, `{slug}:{n}:generate`, `{slug}:{n}:save`,
 * `{slug}:{n}:quality`, `{slug}:budget` (when max_iterations runs out), `{slug}:complete`, and
 * `complete` at the end.
 */
import { abortReason, defineTask, pipelinedStep, type StepScope, type TaskContext } from '../../kit/index.ts';
import { DependencyError, isTaskloomError, PermanentError, serializeError } from '../../errors.ts';
import { refuseOfflineFallback } from '../../llm/index.ts';
import { unusableModels } from './departments.ts';
import { departmentSummaries } from './items-store.ts';
import { generationInstructions, generationPrompt, qualityInstructions, qualityPrompt, type PreviousDepartment } from './prompts.ts';
import { nextStagnation, weightedQuality } from './quality.ts';
import { indexInBrainService, insertPlannedItems, planBatch, type BatchPlan, type KnownVectors, type SaveBatchResult } from './save-batch.ts';
import {
  automatedGatherInput,
  evaluateTaskType,
  generationOutput,
  qualityOutput,
  type AutomatedGatherInput,
  type AutomatedGatherResult,
  type Department,
  type DepartmentSummary,
  type GeneratedItem,
  type LlmUsageTotals,
} from './schemas.ts';
import { llmUsageTotals } from '../llm-usage-totals.ts';
import { gatherEventPayload, type ResolvedGatherServices } from './services.ts';
import { gatherTaskSummary } from './task-types.ts';

/** Iterations in a row without a better score after which a department is stagnant. */
export const stagnationLimit = 3;

interface PlanResult {
  startedAt: number;
  departments: Department[];
  source: 'payload' | 'table';
}

interface StartResult {
  brainContext: string[];
  basedOnNodes: string[];
  previous: PreviousDepartment[];
}

interface GenerateResult {
  items: GeneratedItem[];
  model: string;
}

interface QualityResult {
  score: number;
  coverage: number;
  depth: number;
  coherence: number;
  actionability: number;
  missingAspects: string[];
  stagnant: boolean;
}

interface CompleteResult {
  evaluationTaskId: string | null;
}

type StopReason = 'threshold' | 'stagnant' | 'max_iterations';

/** Thrown inside the loop to unwind to the graceful stop (cancel, soft timeout). */
class StopRequested extends Error {}

/** Summaries a quality score reads: the department's latest. */
const qualitySummaries = 40;

export function createGatherTask(services: ResolvedGatherServices) {
  const { config, llm, brain, logger, pool } = services;
  return defineTask({
    ...gatherTaskSummary,
    priority: 6,
    input: automatedGatherInput,
    softTimeoutMs: config.gatherSoftTimeoutMs,
    hardTimeoutMs: Math.max(config.gatherHardTimeoutMs, config.gatherSoftTimeoutMs + 1000),
    ...(services.retryBaseDelayMs === undefined ? {} : { retryBaseDelayMs: services.retryBaseDelayMs }),
    concurrency: { key: (input: AutomatedGatherInput) => input.project_id, onConflict: 'reject' },
    projectId: (input: AutomatedGatherInput) => input.project_id,
    callbackUrl: (input: AutomatedGatherInput) => input.webhook_url,
    async run(context: TaskContext<AutomatedGatherInput>): Promise<AutomatedGatherResult> {
      const { input, signal, taskId, tenant } = context;
      const projectId = input.project_id;
      const eventScope = { taskId, tenant, projectId };
      // Events recorded in a step are appended when the step commits, with its checkpoint.
      const append = (scope: StepScope, type: string, payload: Record<string, unknown>): void => scope.emit(type, gatherEventPayload(eventScope, type, payload));
      const warner = (scope: StepScope) => (code: string, message: string, details: Record<string, unknown> = {}): void => {
        logger.warn({ taskId, code, ...details }, message);
        append(scope, 'automation_warning', { code, message, ...details });
      };
      const stopIfAborted = (): void => {
        if (signal.aborted) throw new StopRequested();
      };

      // Everything the result and the partial results are made of, rebuilt from step results on resume.
      const summary: DepartmentSummary[] = [];
      let totalIterations = 0;
      let itemsCreated = 0;
      // The current iteration's checkpoints that may still be committing (pipelined steps): a stop
      // waits for them, so its partial result counts only what is stored.
      let inFlight: Array<Promise<unknown>> = [];
      let current: DepartmentSummary | undefined;
      let plan: PlanResult | undefined;

      const usageTotals = (): Promise<LlmUsageTotals> => llmUsageTotals(llm, taskId);
      const resultOf = async (status: AutomatedGatherResult['status']): Promise<AutomatedGatherResult> => ({
        status,
        iterations: totalIterations,
        departments_processed: summary.length,
        items_created: itemsCreated,
        processing_time_ms: Date.now() - (plan?.startedAt ?? Date.now()),
        summary: current && current.iterations > 0 ? [...summary, current] : [...summary],
        llm_usage: await usageTotals(),
      });

      try {
        plan = await context.step('plan', async (step): Promise<PlanResult> => {
          let departments: Department[];
          try {
            departments = await services.departments.gatherDepartments(tenant, projectId, signal);
          } catch (error) {
            // taskloom's own table failing is the database's error, retried like any other.
            if (signal.aborted || services.departments.kind === 'table') throw error;
            // Never invent departments: the attempt fails, saying where the list was to come from.
            // An outage (network, 5xx, 429: the client's own retries did not outlast it) is
            // retried with the task's backoff, as the seeds' autoretry did; a refusal (4xx), a
            // body that is not JSON or an invalid department will not mend by itself.
            const cause = serializeError(error);
            throw new DependencyError('Payload CMS', `could not load the departments to gather (${cause.message}). Departments are never invented: fix Payload CMS or unset PAYLOAD_API_URL to use taskloom's departments table.`, {
              details: { source: services.departments.kind }, retryable: isTaskloomError(error) ? error.retryable : true, cause: error,
            });
          }
          if (departments.length === 0) {
            throw new PermanentError(`No active department has gatherCheck=true in ${services.departments.kind === 'payload' ? 'Payload CMS' : 'taskloom\'s departments table'} for project ${projectId}; nothing to gather.`, { source: services.departments.kind });
          }
          // Every department's model, before the first is gathered: one no call can be served by
          // would fail the run at that department, after the ones before it were paid for.
          const unusable = unusableModels(llm, departments);
          if (unusable.length > 0) {
            throw new PermanentError(`Departments name models no configured provider serves: ${unusable.map((issue) => issue.message).join('; ')}. Set the provider's key, or change the department's defaultModel.`, { source: services.departments.kind, issues: unusable });
          }
          append(step, 'automation_started', {
            departments_count: departments.length,
            max_iterations: input.max_iterations,
            departments: departments.map((entry) => entry.slug),
            source: services.departments.kind,
          });
          return { startedAt: Date.now(), departments, source: services.departments.kind };
        });

        const departments = plan.departments;
        for (const [position, department] of departments.entries()) {
          stopIfAborted();
          const slug = department.slug;
          const threshold = department.coordinationSettings.minQualityThreshold;
          const scope = { tenant, projectId, department: slug };

          if (totalIterations >= input.max_iterations) {
            // Used up by the department before, as it reached its threshold: that one is named,
            // with its final score, not this one, which never starts.
            const last = summary.at(-1);
            const lastDepartment = last && departments.find((entry) => entry.slug === last.department);
            await context.step(`${slug}:budget`, async (step) => {
              append(step, 'max_iterations_reached', {
                ...(last && lastDepartment
                  ? { department: last.department, department_name: last.name, final_quality_score: last.quality_score, threshold: lastDepartment.coordinationSettings.minQualityThreshold }
                  : { department: slug, department_name: department.name, final_quality_score: null, threshold }),
                max_iterations: input.max_iterations, iterations_used: totalIterations,
                departments_skipped: plan!.departments.slice(position).map((entry) => entry.slug),
              });
              return null;
            });
            break;
          }

          const earlierSlugs = departments.slice(0, position).map((entry) => entry.slug);
          const start = await context.step(`${slug}:start`, async (step): Promise<StartResult> => {
            const warn = warner(step);
            let nodes: Array<{ id: string; content: string }> = [];
            try {
              nodes = await brain.departmentContext({ tenant, projectId, department: slug, previousDepartments: earlierSlugs, signal });
            } catch (error) {
              if (signal.aborted) throw error;
              warn('brain_unavailable', `Brain context unavailable; continuing with local context only: ${serializeError(error).message}`, { operation: 'context', department: slug });
            }
            // The project's other departments with items, as the seed's existing_context held all
            // of a project's items: the earlier ones of the plan (gathered by this run, with their
            // quality, or by an earlier run), and the later ones an earlier run gathered (a second
            // run's story department stays consistent with the characters already there).
            const previous: PreviousDepartment[] = [];
            for (const [index, other] of departments.entries()) {
              if (index === position) continue;
              const done = summary.find((entry) => entry.department === other.slug);
              const recent = await departmentSummaries(pool, { tenant, projectId, department: other.slug }, 3);
              if (!done && recent.count === 0) continue;
              previous.push({
                name: other.name, slug: other.slug, qualityScore: done?.quality_score ?? null, itemsCreated: done?.items_created ?? recent.count,
                highlights: recent.summaries.map((entry) => entry.summary), later: index > position,
              });
            }
            append(step, 'department_started', {
              department: slug, department_name: department.name, department_number: department.codeDepNumber, threshold,
              // The model that will answer, not merely the one configured: a seed id whose provider
              // has no key is served by the offline model, and the event says which.
              model: llm.resolveModel('generation', department.defaultModel ?? undefined),
              configured_model: department.defaultModel ?? null,
            });
            return { brainContext: nodes.map((node) => node.content), basedOnNodes: nodes.map((node) => node.id), previous };
          });

          current = { department: slug, name: department.name, quality_score: 0, iterations: 0, items_created: 0 };
          // The department's vectors as of the last save this attempt ran (a replayed save leaves none).
          let knownVectors: KnownVectors | undefined;
          let stagnation = { best: Number.NEGATIVE_INFINITY, withoutImprovement: 0 };
          let lastQuality: QualityResult | null = null;
          let stopReason: StopReason | undefined;

          for (let iteration = 1; ; iteration += 1) {
            stopIfAborted();
            if (totalIterations >= input.max_iterations) {
              stopReason = 'max_iterations';
              await context.step(`${slug}:budget`, async (step) => {
                append(step, 'max_iterations_reached', {
                  department: slug, department_name: department.name, final_quality_score: lastQuality?.score ?? null, threshold,
                  max_iterations: input.max_iterations, iterations_used: totalIterations,
                  departments_skipped: plan!.departments.slice(position + 1).map((entry) => entry.slug),
                });
                return null;
              });
              break;
            }
            const prefix = `${slug}:${iteration}`;
            const previousQuality = lastQuality;

            // The department's latest summaries as this iteration began, for its quality prompt (with
            // the iteration's own items) when the generation ran in this attempt.
            let summariesBefore: { count: number; summaries: Array<{ id: string; summary: string }> } | undefined;
            const generatedStep = pipelinedStep(context, `${prefix}:generate`, async (step): Promise<GenerateResult> => {
              const recent = await departmentSummaries(pool, scope, qualitySummaries);
              summariesBefore = recent;
              const existing = { count: recent.count, summaries: recent.summaries.slice(-30) };
              const prompt = generationPrompt({
                projectId,
                department,
                iteration,
                count: config.gatherItemsPerIteration,
                previousDepartments: start.previous,
                brainContext: start.brainContext,
                existingSummaries: existing.summaries.map((entry) => entry.summary),
                existingCount: existing.count,
                lastQuality: previousQuality ? { score: previousQuality.score, missingAspects: previousQuality.missingAspects } : null,
              });
              const answer = await llm.generateStructured({
                purpose: 'generation',
                ...(department.defaultModel ? { model: department.defaultModel } : {}),
                schema: generationOutput,
                instructions: generationInstructions,
                prompt,
                signal,
                context: { taskId, step: `${prefix}:generate` },
              });
              // Only an offline fallback answered: the provider failed (retried), no items.
              refuseOfflineFallback(answer, llm.resolveModel('generation', department.defaultModel ?? undefined), 'is not about this project');
              append(step, 'deduplicating', { department: slug, department_name: department.name, iteration, items_to_check: answer.object.items.length });
              return { items: answer.object.items, model: answer.model };
            });
            inFlight = [generatedStep.committed];
            const generated = await generatedStep.value;

            const metadata = {
              taskId, department: slug, departmentName: department.name, departmentNumber: department.codeDepNumber, iteration,
              qualityScore: previousQuality?.score ?? null, model: generated.model, basedOnNodes: start.basedOnNodes,
            };
            let batch: BatchPlan | undefined;
            const savedStep = pipelinedStep(context, `${prefix}:save`, async (step): Promise<SaveBatchResult> => {
              batch = await planBatch({
                pool,
                llm,
                brain,
                scope,
                items: generated.items,
                metadata,
                createdBy: input.user_id ?? null,
                taskId,
                stepKey: `${prefix}:save`,
                signal,
                threshold: config.gatherDuplicateThreshold,
                brainThreshold: config.brainServiceDuplicateThreshold,
                judge: { enabled: config.gatherJudge, lowerBound: config.gatherJudgeLowerBound },
                warn: warner(step),
                knownVectors,
              });
              await generatedStep.committed;
              return batch.result;
            }, {
              // The planned rows (vectors included) come from the closure: the checkpoint keeps
              // only the counts and ids, not every embedding again.
              save: async (transaction) => insertPlannedItems(transaction, scope, batch),
            });
            inFlight.push(savedStep.committed);
            const saved = await savedStep.value;
            // A replayed save ran nothing this attempt: the next one reads the vectors back.
            knownVectors = batch?.vectors;
            if (brain.kind === 'service' && saved.itemIds.length > 0) {
              await savedStep.committed;
              await context.step(`${prefix}:index`, async (step) => indexInBrainService({ brain, pool, scope, itemIds: saved.itemIds, metadata, warn: warner(step) }));
            }
            totalIterations += 1;
            itemsCreated += saved.created;
            current.iterations = iteration;
            current.items_created += saved.created;

            const stagnationBefore = stagnation;
            const planned = batch;
            const quality = await context.step(`${prefix}:quality`, async (step): Promise<QualityResult> => {
              // From memory when this attempt ran the generation and the save (the save's commit is
              // then still on its way); else as stored.
              const items = summariesBefore && planned
                ? { count: summariesBefore.count + planned.items.length, summaries: [...summariesBefore.summaries, ...planned.items.map((item) => ({ id: item.id!, summary: item.summary }))].slice(-qualitySummaries) }
                : await savedStep.committed.then(() => departmentSummaries(pool, scope, qualitySummaries));
              let coverageHint: string | null = null;
              if (brain.kind === 'service') {
                try {
                  const coverage = await brain.analyzeCoverage({ tenant, projectId, department: slug, departmentName: department.name, description: department.description, signal });
                  if (coverage) coverageHint = [coverage.coverage === null ? null : `coverage ${coverage.coverage}/100`, coverage.summary, coverage.gaps.length > 0 ? `gaps: ${coverage.gaps.join('; ')}` : null].filter(Boolean).join('. ') || null;
                } catch (error) {
                  if (signal.aborted) throw error;
                  warner(step)('brain_unavailable', `Brain coverage analysis unavailable; scoring without it: ${serializeError(error).message}`, { operation: 'coverage', department: slug });
                }
              }
              const answer = await llm.generateStructured({
                purpose: 'judging',
                schema: qualityOutput,
                instructions: qualityInstructions,
                prompt: qualityPrompt({ department, itemCount: items.count, summaries: items.summaries.map((entry) => entry.summary), coverageHint }),
                signal,
                context: { taskId, step: `${prefix}:quality` },
              });
              // A template's score would decide the department's end: the provider failed.
              refuseOfflineFallback(answer, llm.resolveModel('judging'), 'is not a judgement of these items');
              const scored = weightedQuality(answer.object);
              const next = nextStagnation(stagnationBefore, scored.score);
              // Once per stagnationLimit iterations without improvement: a warning, not a flood.
              const stagnant = scored.score < threshold && next.withoutImprovement > 0 && next.withoutImprovement % stagnationLimit === 0;
              append(step, 'iteration_complete', {
                department: slug, department_name: department.name, iteration, total_iterations: totalIterations,
                quality_score: scored.score, items_created: saved.created, threshold, max_iterations: input.max_iterations,
                items_generated: saved.generated, duplicates_removed: saved.exactDuplicates + saved.semanticDuplicates + saved.judgedDuplicates + saved.brainDuplicates,
                department_items_created: current!.items_created,
                breakdown: { coverage: scored.coverage, depth: scored.depth, coherence: scored.coherence, actionability: scored.actionability },
                missing_aspects: scored.missingAspects,
              });
              if (stagnant) {
                append(step, 'quality_stagnant', {
                  department: slug, department_name: department.name, quality_score: scored.score, best_quality_score: next.best,
                  iterations_without_improvement: next.withoutImprovement, threshold, iteration, on_stagnation: input.on_stagnation,
                });
              }
              // The items this score is about must be stored before the score is.
              await savedStep.committed;
              return { ...scored, stagnant };
            }, {
              save: async (transaction, scoredResult) => {
                if (saved.itemIds.length === 0) return;
                // The items of this iteration learn the score their iteration reached.
                await transaction.query(
                  `UPDATE gather_items SET automation_metadata = jsonb_set(automation_metadata, '{qualityScore}', to_jsonb($2::numeric)), last_updated = now() WHERE id = ANY($1::uuid[])`,
                  [saved.itemIds, scoredResult.score],
                );
              },
            });
            stagnation = nextStagnation(stagnation, quality.score);
            lastQuality = quality;
            current.quality_score = quality.score;

            // Not awaited: progress is a courtesy (iteration_complete carries the same), and waiting
            // for its transaction on every iteration was ~5 ms of pure overhead on the critical path.
            void context.progress(
              Math.min(99, ((position + Math.min(1, quality.score / Math.max(1, threshold))) / plan.departments.length) * 100),
              `${department.name}: iteration ${iteration}, quality ${quality.score}/${threshold}, ${current.items_created} items`,
            ).catch((error: unknown) => logger.debug({ err: error, taskId }, 'progress update skipped'));

            if (quality.score >= threshold) {
              stopReason = 'threshold';
              break;
            }
            if (quality.stagnant && input.on_stagnation === 'next_department') {
              stopReason = 'stagnant';
              break;
            }
          }

          if (current.iterations === 0) {
            current = undefined;
            break;
          }
          const finished: DepartmentSummary = current;
          await context.step(`${slug}:complete`, async (step): Promise<CompleteResult> => {
            let evaluationTaskId: string | null = null;
            if (input.enable_auto_evaluation) {
              const submitted = await context.submit(evaluateTaskType, {
                project_id: projectId,
                department_number: department.codeDepNumber,
                department: slug,
                ...(input.user_id ? { user_id: input.user_id } : {}),
                auto_triggered: true,
                gather_task_id: taskId,
              }, { projectId, idempotencyKey: `${taskId}:evaluate:${slug}` });
              evaluationTaskId = submitted.taskId;
            }
            append(step, 'department_complete', {
              department: slug, department_name: department.name, department_number: department.codeDepNumber,
              quality_score: finished.quality_score, iterations_used: finished.iterations, items_created: finished.items_created,
              threshold, threshold_reached: finished.quality_score >= threshold, stopped_because: stopReason ?? 'threshold',
              evaluation_task_id: evaluationTaskId,
            });
            return { evaluationTaskId };
          });
          summary.push(finished);
          current = undefined;
          if (stopReason === 'max_iterations') break;
        }

        stopIfAborted();
        const done = plan;
        await context.step('complete', async (step) => {
          append(step, 'automation_complete', {
            total_iterations: totalIterations, departments_processed: summary.length, items_created: itemsCreated, summary,
            processing_time_ms: Date.now() - done.startedAt,
          });
          return null;
        });
        await context.progress(100, `done: ${itemsCreated} items in ${summary.length} departments`).catch(() => {});
        return await resultOf('completed');
      } catch (error) {
        const reason = abortReason(signal);
        if (reason === 'cancelled' || reason === 'soft_timeout') {
          await Promise.allSettled(inFlight);
          const result = await resultOf(reason === 'cancelled' ? 'cancelled' : 'timeout');
          const payload = {
            items_created_so_far: itemsCreated, items_created: itemsCreated, iterations: totalIterations,
            departments_processed: result.departments_processed, summary: result.summary, processing_time_ms: result.processing_time_ms,
            current_department: current?.department ?? null,
          };
          await context.emit(reason === 'cancelled' ? 'automation_cancelled' : 'automation_timeout', {
            type: reason === 'cancelled' ? 'automation_cancelled' : 'automation_timeout', project_id: projectId, task_id: taskId, timestamp: new Date().toISOString(),
            ...payload, ...(reason === 'soft_timeout' ? { soft_timeout_ms: config.gatherSoftTimeoutMs } : {}),
          });
          return result;
        }
        if (error instanceof StopRequested || reason !== undefined) throw reason === undefined ? error : signal.reason;
        const serialized = serializeError(error);
        const retryable = isTaskloomError(error) ? error.retryable : true;
        await context.emit('automation_error', {
          type: 'automation_error', project_id: projectId, task_id: taskId, timestamp: new Date().toISOString(),
          error: serialized.message, code: serialized.code, attempt: context.attempt, will_retry: retryable && context.willRetry,
          items_created_so_far: itemsCreated, iterations: totalIterations,
        }).catch((emitError: unknown) => logger.warn({ err: emitError, taskId }, 'could not record automation_error'));
        throw error;
      }
    },
  });
}
