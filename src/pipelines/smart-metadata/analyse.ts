/**
 * One project's metadata: build its text, ask the analyser (one structured LLM call, or the
 * offline analyser when no provider would answer), validate the answer, and say exactly who
 * answered with which prompt. Writes nothing: the caller stores the result in its step's
 * transaction, so a failure anywhere leaves the database as it was.
 */
import type { Config } from '../../config.ts';
import type { Pool } from '../../kit/index.ts';
import { isTaskloomError, NotFoundError } from '../../errors.ts';
import { isLlmError, refuseOfflineFallback, type LlmGateway } from '../../llm/index.ts';
import type { Logger } from '../../logger.ts';
import { analyseOffline, offlineAnalyserVersion, offlineMinTags, offlineModelId, type OfflineAnalysis } from './offline/index.ts';
import { buildProjectText } from './project-text.ts';
import { getProject, projectContentChangedAt } from './projects-store.ts';
import { metadataInstructions, metadataPrompt, promptVersion } from './prompt.ts';
import { metadataAnswer, type AiMetadataValue, type ProjectType } from './schemas.ts';
import { minTags } from './tags.ts';
import { validateMetadata } from './validate-answer.ts';

export interface MetadataServices {
  config: Config;
  pool: Pool;
  logger: Logger;
  llm: LlmGateway;
}

export interface AnalysisResult {
  value: AiMetadataValue;
  /**
   * The project's content version (`projectContentChangedAt`), read before its text, so the text
   * is at least as new: the row stored from this answer records it (`writeAiMetadata`).
   */
  contentVersion: number;
  projectType: ProjectType;
  contentLengthChars: number;
  durationSeconds: number;
  /** The offline analyser's reasons (scored terms, readability); null for model answers. */
  offline: OfflineAnalysis['details'] | null;
}

/** The model a metadata call would be answered by, or the offline analyser's id. */
export function metadataModel(services: Pick<MetadataServices, 'config' | 'llm'>): string {
  if (services.llm.isOffline()) return offlineModelId;
  const model = services.llm.resolveModel('generation', services.config.metadataModel);
  // The gateway's template offline model would answer with text that is not about the project.
  return model.startsWith('offline:') ? offlineModelId : model;
}

/**
 * `metadataModel` for naming the model in a failure record: never throws. A model that does not
 * resolve (its provider is not configured) is named as configured, else `unknown`; resolving it
 * again while recording that very failure threw, and the failure went unrecorded.
 */
export function metadataModelLabel(services: Pick<MetadataServices, 'config' | 'llm'>): string {
  try {
    return metadataModel(services);
  } catch {
    return services.config.metadataModel ?? 'unknown';
  }
}

export async function analyseProject(services: MetadataServices, request: { tenant: string; projectId: string; signal: AbortSignal; taskId?: string; step?: string }): Promise<AnalysisResult> {
  const started = performance.now();
  // Before the text, never after: an edit between the two reads then makes the version look older
  // than the text (a regeneration that was not needed), never the text older than its version
  // (an edit no regeneration would follow).
  const contentVersion = await projectContentChangedAt(services.pool, request.tenant, request.projectId);
  const project = await getProject(services.pool, request.tenant, request.projectId);
  if (contentVersion === undefined || !project) throw new NotFoundError('Project', request.projectId);
  const projectText = buildProjectText(project);
  const model = metadataModel(services);
  let answer;
  let modelUsed: string;
  let usedPrompt: string;
  let offline: OfflineAnalysis['details'] | null = null;
  if (model === offlineModelId) {
    const analysis = analyseOffline(projectText);
    answer = analysis.answer;
    offline = analysis.details;
    modelUsed = offlineModelId;
    usedPrompt = offlineAnalyserVersion;
  } else {
    const result = await services.llm.generateStructured({
      purpose: 'generation',
      ...(services.config.metadataModel ? { model: services.config.metadataModel } : {}),
      schema: metadataAnswer,
      instructions: metadataInstructions,
      prompt: metadataPrompt(projectText),
      // Never from the response cache (TASKLOOM_LLM_CACHE=on): a project's metadata for unchanged
      // text is stored already, so a call is made only to get a new answer (a forced rerun, a
      // retry after an answer this pipeline refused, which the cache would replay for good).
      cache: false,
      signal: request.signal,
      context: { ...(request.taskId ? { taskId: request.taskId } : {}), ...(request.step ? { step: request.step } : {}) },
    });
    // Only an offline fallback answered: the provider failed (retryable), no metadata.
    refuseOfflineFallback(result, model, 'is not about the project');
    answer = result.object;
    // The model that answered, after any fallback: not the one configured.
    modelUsed = result.model;
    usedPrompt = promptVersion;
  }
  // A model's answer needs three usable tags, and may not talk about itself or hand back a
  // failure's text (phrases the project's own text says aside); the offline analyser tags a
  // project with too little text with what it has (at least its kind) rather than with
  // placeholders, and its answer is the project's own words.
  const validated = validateMetadata(answer, modelUsed, modelUsed === offlineModelId ? { requiredTags: offlineMinTags, projectText: null } : { requiredTags: minTags, projectText: projectText.text });
  return {
    value: { ...validated, model_used: modelUsed, prompt_version: usedPrompt, generated_at: new Date().toISOString() },
    contentVersion,
    projectType: project.project_type,
    contentLengthChars: projectText.text.length,
    durationSeconds: (performance.now() - started) / 1000,
    offline,
  };
}


/** The `error_type` label of a failure. */
export function errorTypeOf(error: unknown): string {
  if (isLlmError(error)) {
    if (error.code === 'llm_invalid_output') return 'invalid_output';
    if (error.code === 'llm_unknown_model') return 'configuration';
    if (error.code === 'llm_cancelled') return 'cancelled';
    return /timed out/.test(error.message) ? 'timeout' : 'provider_error';
  }
  if (isTaskloomError(error)) {
    if (error.code === 'not_found') return 'project_not_found';
    if (typeof error.details.error_type === 'string') return error.details.error_type;
    if (error.code === 'dependency_failed') return 'dependency_error';
    return error.code;
  }
  return 'internal_error';
}
