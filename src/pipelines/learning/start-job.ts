/**
 * Starting and reading learning jobs, shared by the HTTP API and the CLI so both show the same
 * document.
 */
import type { Config } from '../../config.ts';
import type { Engine, Pool, TaskRecord } from '../../kit/index.ts';
import { NotFoundError } from '../../errors.ts';
import { jobDocument } from './job-document.ts';
import { getJob } from './jobs-store.ts';
import { bigLearningTaskType, learningTaskType, type BigLearningJobInput, type JobDocument, type LearningJobInput } from './schemas.ts';

const learningTaskTypes = new Set([learningTaskType, bigLearningTaskType]);

export interface JobStarter {
  engine: Engine;
  pool: Pool;
  config: Config;
}

/**
 * Submits a `learning_job`. A quick run takes the tenant's throttle slot as it is submitted (the
 * task type's `admit`: LearningThrottledError, 429, when a quick run started within the window).
 */
export async function startLearningJob(starter: JobStarter, tenant: string, input: LearningJobInput): Promise<{ jobId: string }> {
  const submitted = await starter.engine.submit({ taskType: learningTaskType, input, tenant });
  return { jobId: submitted.task.id };
}

/** Submits a `big_learning_job` (one per tenant at a time: a second answers 409 concurrency_conflict). */
export async function startBigLearningJob(starter: JobStarter, tenant: string, input: BigLearningJobInput): Promise<{ jobId: string }> {
  const submitted = await starter.engine.submit({ taskType: bigLearningTaskType, input, tenant });
  return { jobId: submitted.task.id };
}

/** The learning task `id` of `tenant`; any other task (or none) is a 404. */
export async function learningTask(engine: Engine, tenant: string, id: string): Promise<TaskRecord> {
  // One message for both: the engine's own said "Task ... was not found" where no task was.
  const task = await engine.getTask(id, { tenant }).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
  if (!task || !learningTaskTypes.has(task.task_type)) throw new NotFoundError('Learning job', id);
  return task;
}

export async function readJobDocument(engine: Engine, pool: Pool, tenant: string, id: string): Promise<JobDocument> {
  const task = await learningTask(engine, tenant, id);
  return jobDocument(task, await getJob(pool, tenant, id));
}
