/**
 * What the API and the CLI do with projects, in one place so both behave the same: create,
 * update (and the debounced regeneration it may trigger), read with metadata, and start a
 * metadata generation with the seed's rules (existing metadata, force, one run per project).
 */
import type { Config } from '../../config.ts';
import { isUuid, withTransaction, type Engine, type Pool, type Queryable } from '../../kit/index.ts';
import { isTaskloomError, NotFoundError, TaskloomError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { metaOfProjects, readAiMetadata } from './meta-store.ts';
import { getProject, insertProject, listProjects, projectExists, updateProject, type Project, type ProjectSummary } from './projects-store.ts';
import { aiMetadataKey, seedMetaFields, followUpProjectMetaType, generateProjectMetaType, type AiMetadataValue, type ProjectCreate, type ProjectUpdate } from './schemas.ts';
import { defaultTenantSettings, readTenantSettings } from './settings-store.ts';

export interface ProjectServiceDependencies {
  config: Config;
  pool: Pool;
  logger: Logger;
  /** Needed only to start generations (commands that only read may leave it out). */
  engine?: Pick<Engine, 'submit' | 'submitWithin' | 'getTask'> | undefined;
}

/** A project as the API shows it: its fields, every meta key, and the AI fields flattened (seed shape). */
export type ProjectView<Base = Project> = Base & {
  meta: Record<string, unknown>;
  ai_generated_tags: string[] | null;
  content_summary: string | null;
  difficulty_level: string | null;
  ai_model_used: string | null;
  ai_prompt_version: string | null;
  ai_generated_at: string | null;
};

export function projectView<Base extends { id: string }>(project: Base, meta: Record<string, unknown>): ProjectView<Base> {
  const ai = meta[aiMetadataKey] as AiMetadataValue | undefined;
  return {
    ...project,
    // Every key, and the AI value's fields at the top level too, where the seed's clients read
    // them (`meta.ai_generated_tags`); users' keys cannot take those names (userMetaKey).
    meta: ai ? { ...meta, ...Object.fromEntries(seedMetaFields.map((field) => [field, ai[field]])) } : meta,
    ai_generated_tags: ai?.ai_generated_tags ?? null,
    content_summary: ai?.content_summary ?? null,
    difficulty_level: ai?.difficulty_level ?? null,
    ai_model_used: ai?.model_used ?? null,
    ai_prompt_version: ai?.prompt_version ?? null,
    ai_generated_at: ai?.generated_at ?? null,
  };
}

/** Seed 003's answer when metadata generation is switched off. */
export const generationDisabledMessage = 'AI metadata generation is disabled (ENABLE_STI=false).';

export class GenerationDisabledError extends TaskloomError {
  constructor() {
    super('metadata_generation_disabled', generationDisabledMessage, { httpStatus: 400, retryable: false });
  }
}

/**
 * The active generation a submit was refused for (`concurrency_conflict` names it), or undefined
 * for any other error. The id may be `unknown` when that generation ended before it could be
 * looked up.
 */
export function activeGenerationOf(error: unknown): string | undefined {
  if (isTaskloomError(error) && error.code === 'concurrency_conflict' && typeof error.details.running_task_id === 'string') return error.details.running_task_id;
  return undefined;
}

export type GenerationRequestOutcome =
  | { kind: 'started'; taskId: string; forceRegenerate: boolean }
  | { kind: 'already_running'; taskId: string; forceRegenerate: boolean }
  | { kind: 'exists' };

export function createProjectService(dependencies: ProjectServiceDependencies) {
  const { pool, config } = dependencies;

  const readProject = async (tenant: string, projectId: string): Promise<ProjectView> => {
    // Not a uuid names no project (the CLI passes ids as typed; the API checks them too).
    const project = isUuid(projectId) ? await getProject(pool, tenant, projectId) : undefined;
    if (!project) throw new NotFoundError('Project', projectId);
    const meta = await metaOfProjects(pool, tenant, [projectId]);
    return projectView(project, meta.get(projectId) ?? {});
  };

  const requireEngine = (): NonNullable<ProjectServiceDependencies['engine']> => {
    if (!dependencies.engine) throw new Error('This project service has no engine to submit tasks to.');
    return dependencies.engine;
  };

  /**
   * Submits a generation; a generation already active for the project is returned instead. One
   * that ended before it could be named (`unknown`) no longer holds the project: submitted again.
   */
  const submitGeneration = async (tenant: string, projectId: string, force: boolean, trigger: 'api' | 'cli' | 'content_change', tries = 2): Promise<GenerationRequestOutcome> => {
    const engine = requireEngine();
    try {
      const submitted = await engine.submit({ taskType: generateProjectMetaType, input: { project_id: projectId, force, trigger }, tenant, projectId });
      return { kind: 'started', taskId: submitted.task.id, forceRegenerate: force };
    } catch (error) {
      const activeTaskId = activeGenerationOf(error);
      if (activeTaskId === undefined) throw error;
      if (!isUuid(activeTaskId) && tries > 1) return submitGeneration(tenant, projectId, force, trigger, tries - 1);
      // The running task's own `force`: a forced request answered with a generation that is not
      // forced may still end `skipped`, and must not be told otherwise.
      const running = await engine.getTask(activeTaskId, { tenant }).catch(() => undefined);
      const runningForce = (running?.input as { force?: unknown } | undefined)?.force;
      return { kind: 'already_running', taskId: activeTaskId, forceRegenerate: typeof runningForce === 'boolean' ? runningForce : force };
    }
  };

  /**
   * After a content change, for a tenant that asked for regeneration: submits it (the task
   * debounces) in the edit's transaction (`submitWithin`), while that holds the project's row
   * lock, so that the edit and its regeneration commit together or not at all: an edit is never
   * kept without its regeneration (a process dying between two commits used to keep the edit and
   * lose the regeneration). The submit takes no second connection: edits submitting through the
   * pool from inside their transactions held every connection of the pool at a dozen at once,
   * each waiting for one more, until the pool's timeout failed them with 503s.
   *
   * A generation already active for the project cannot be relied on to describe this edit: it may
   * have read the text before the edit committed (and looks no more), or end skipped, failed or
   * cancelled. So the edit's regeneration, refused while that generation is active, is queued as
   * a follow-up task (follow-up-task.ts), durable from here on: it waits until the project has no
   * active generation, then submits this regeneration, which costs nothing if the metadata
   * describes the content by then. One follow-up per active generation however many edits it
   * refuses (the idempotency key): each was refused while that generation was active, so each
   * committed before the regeneration the follow-up submits once it has ended.
   */
  const handOverRegeneration = async (transaction: Queryable, tenant: string, projectId: string): Promise<void> => {
    const engine = requireEngine();
    let active: string;
    try {
      await engine.submitWithin(transaction, { taskType: generateProjectMetaType, input: { project_id: projectId, force: true, trigger: 'content_change' }, tenant, projectId });
      return;
    } catch (error) {
      const activeTaskId = activeGenerationOf(error);
      if (activeTaskId === undefined) throw error;
      active = activeTaskId;
    }
    // `unknown`: the refusing generation ended before it could be named; the follow-up then
    // finds the project free at once, and needs no key to share.
    const followed = isUuid(active) ? active : undefined;
    await engine.submitWithin(transaction, {
      taskType: followUpProjectMetaType,
      input: { project_id: projectId, ...(followed ? { after_task_id: followed } : {}) },
      tenant,
      projectId,
      ...(followed ? { idempotencyKey: `${followUpProjectMetaType}:${followed}` } : {}),
    });
  };

  return {
    readProject,

    async createProject(tenant: string, input: ProjectCreate): Promise<ProjectView> {
      const id = await withTransaction(pool, (transaction) => insertProject(transaction, tenant, input));
      return readProject(tenant, id);
    },

    async updateProject(tenant: string, projectId: string, update: ProjectUpdate): Promise<ProjectView> {
      const outcome = await withTransaction(pool, async (transaction) => {
        const updated = await updateProject(transaction, tenant, projectId, update);
        if (updated.contentChanged && config.enableSti && (await readTenantSettings(transaction, tenant, defaultTenantSettings(config))).regenerate_on_change) await handOverRegeneration(transaction, tenant, projectId);
        return updated;
      });
      if (!outcome.found) throw new NotFoundError('Project', projectId);
      return readProject(tenant, projectId);
    },

    async listProjects(tenant: string, options: { limit: number; cursor?: string }): Promise<{ projects: Array<ProjectView<ProjectSummary>>; nextCursor: string | null }> {
      const page = await listProjects(pool, tenant, options);
      const meta = await metaOfProjects(pool, tenant, page.projects.map((project) => project.id));
      return { projects: page.projects.map((project) => projectView(project, meta.get(project.id) ?? {})), nextCursor: page.nextCursor };
    },

    /**
     * POST /api/projects/{id}/generate_metadata/: the seed's rules. Unknown (or another tenant's)
     * project: NotFoundError. Metadata present and no force: `exists`. Otherwise a task, or the one
     * already running for the project.
     */
    async requestGeneration(tenant: string, projectId: string, options: { force: boolean; trigger: 'api' | 'cli' }): Promise<GenerationRequestOutcome> {
      if (!config.enableSti) throw new GenerationDisabledError();
      if (!isUuid(projectId) || !(await projectExists(pool, tenant, projectId))) throw new NotFoundError('Project', projectId);
      if (!options.force && (await readAiMetadata(pool, tenant, projectId))) return { kind: 'exists' };
      return submitGeneration(tenant, projectId, options.force, options.trigger);
    },
  };
}

export type ProjectService = ReturnType<typeof createProjectService>;
