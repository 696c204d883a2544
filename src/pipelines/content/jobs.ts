/**
 * Jobs as the seed's API shows them (its AIJob): a content task read through the engine, with the
 * seed's statuses (pending | processing | completed | failed | cancelled) mapped from the task's.
 */
import { NotFoundError } from '../../errors.ts';
import type { Engine, TaskRecord, TaskStatus } from '../../kit/index.ts';
import { jobTypeOf, type JobType } from './schemas.ts';

export const jobStatuses = ['pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/**
 * queued -> pending; running, retrying (between attempts) and waiting (a durable wait: approval,
 * children) -> processing: the job has started and is not finished.
 */
export function jobStatusOf(status: TaskStatus | string): JobStatus {
  switch (status) {
    case 'queued': return 'pending';
    case 'completed': return 'completed';
    case 'failed': return 'failed';
    case 'cancelled': return 'cancelled';
    default: return 'processing';
  }
}

/** The task statuses a job status stands for (for filtering). */
export function taskStatusesOf(status: JobStatus): string[] {
  switch (status) {
    case 'pending': return ['queued'];
    case 'processing': return ['running', 'retrying', 'waiting'];
    default: return [status];
  }
}

export interface JobView {
  id: string;
  job_type: JobType;
  queue: string;
  status: JobStatus;
  task_status: string;
  company_id: string | null;
  persona_id: string | null;
  topic_id: string | null;
  blog_post_id: string | null;
  progress: number;
  progress_message: string;
  input: unknown;
  result_data: unknown;
  error_message: string;
  error_code: string | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

export function jobView(task: TaskRecord): JobView {
  const input = (task.input ?? {}) as Record<string, unknown>;
  const error = task.error as { message?: string; code?: string } | null;
  const id = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return {
    id: task.id,
    job_type: jobTypeOf(task.task_type)!,
    queue: task.queue,
    status: jobStatusOf(task.status),
    task_status: task.status,
    company_id: task.project_id,
    persona_id: Array.isArray(input.persona_ids) && input.persona_ids.length === 1 ? id(input.persona_ids[0]) : null,
    topic_id: id(input.topic_id),
    blog_post_id: id(input.blog_post_id),
    progress: task.progress,
    progress_message: task.progress_message ?? '',
    input: task.input,
    result_data: task.result ?? null,
    error_message: error?.message ?? '',
    error_code: error?.code ?? null,
    attempts: task.attempts,
    created_at: task.created_at,
    started_at: task.started_at,
    completed_at: task.completed_at,
  };
}

/** The tenant's content job, or 404 (a task of another pipeline is not a job here). */
export async function getJob(engine: Engine, tenant: string, id: string): Promise<TaskRecord> {
  const task = await engine.getTask(id, { tenant });
  if (!jobTypeOf(task.task_type)) throw new NotFoundError('job', id);
  return task;
}

/** Every content job of a company (all pages), newest first; of the given statuses when named. */
export async function listCompanyJobs(engine: Engine, tenant: string, companyId: string, status?: JobStatus | readonly JobStatus[]): Promise<TaskRecord[]> {
  const statuses = status === undefined ? undefined : (typeof status === 'string' ? [status] : status).flatMap(taskStatusesOf) as TaskStatus[];
  const tasks: TaskRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await engine.listTasks({ tenant, projectId: companyId, limit: 500, ...(statuses ? { status: statuses } : {}), ...(cursor ? { cursor } : {}) });
    tasks.push(...page.tasks.filter((task) => jobTypeOf(task.task_type)));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return tasks;
}

export interface JobTreeNode extends JobView {
  depth: number;
  waiting: boolean;
}

/** A job and its descendants (child tasks), depth first: the run as a tree. */
export async function jobTree(engine: Engine, tenant: string, id: string): Promise<JobTreeNode[]> {
  const nodes: JobTreeNode[] = [];
  const visit = async (task: TaskRecord, depth: number): Promise<void> => {
    nodes.push({ ...jobView(task), depth, waiting: task.status === 'waiting' });
    for (const child of await engine.listChildren(task.id, { tenant })) await visit(child, depth + 1);
  };
  await visit(await getJob(engine, tenant, id), 0);
  return nodes;
}
