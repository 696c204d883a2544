/**
 * One content job type, registered on both of the seed's AI queues: `ai_jobs` for the free plan
 * and `ai_priority` (`<type>@ai_priority`) for paid plans. Every job's result carries its LLM
 * usage and cost (read from llm_calls, so it covers every attempt), and progress is reported as
 * it goes without waiting on the progress write (it is a courtesy, not part of the result).
 *
 * Progress writes are paced. Each is a durable commit appending an event, holding a pooled
 * connection while it waits its turn. A stage's jobs start together and its posts' sections end
 * together: thirty start-of-job reports queued in front of the stage's reads and claims, and each
 * post's section reports in front of every post's checkpoints. So a job writes its first report
 * `firstProgressAfterMs` in (by then its model call is out), at most one write every
 * `progressIntervalMs` after that (reports meanwhile collapse into the latest), its last report
 * (100 %) at once, and a report still waiting when the handler parks or fails before it stops.
 * Measured on bench:content's run, sixteen runs each, interleaved (load 1): the blog post stage's
 * overhead 81 -> 39 ms, the social stage's 140 -> 110 ms (medians).
 */
import type { z } from 'zod';
import { defineTask, type AnyTaskDefinition, type Queryable, type TaskContext, type TaskDefinition } from '../../kit/index.ts';
import type { TaskUsage } from '../../llm/index.ts';
import { usageTotals } from '../llm-usage-totals.ts';
import type { ContentServices } from './services.ts';
import { getCompany } from './companies-store.ts';
import { PriorityQueuePlanError } from './errors.ts';
import { jobTaskTypes, priorityQueue, type JobType } from './task-types.ts';
import { NotFoundError } from '../../errors.ts';

/** How long into a job its first progress write waits. */
const firstProgressAfterMs = 100;
/** The least time between two progress writes of a job (its last report excepted). */
const progressIntervalMs = 250;

export interface JobSpec<Input> {
  /** Its two task types, names, queues and descriptions, are the job type's (task-types.ts). */
  jobType: JobType;
  input: z.ZodType<Input>;
  /** @default the queue's (300 s) */
  hardTimeoutMs?: number;
  /** The task type's `requiresAdminKey` (task-definition.ts). */
  requiresAdminKey?: (input: Input) => string | undefined;
  /**
   * `usage` reads the task's recorded model calls once per attempt (every attempt's calls, with
   * the gateway's pending rows written first); the job's `llm_usage` is made from the same read.
   * Call it after the job's last model call, or not at all.
   */
  run(context: TaskContext<Input>, report: (percent: number, message: string) => void, usage: () => Promise<TaskUsage | undefined>): Promise<Record<string, unknown>>;
  /** The job type's `onFailure` (docs/engine.md, "Failure handlers"). */
  onFailure?: TaskDefinition<Input>['onFailure'];
}

export function contentJob<Input extends { company_id: string }>(services: ContentServices, spec: JobSpec<Input>): AnyTaskDefinition[] {
  return jobTaskTypes(spec.jobType).map((summary) => defineTask({
    ...summary,
    input: spec.input,
    ...(spec.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: spec.hardTimeoutMs }),
    projectId: (input: Input) => input.company_id,
    ...(spec.onFailure === undefined ? {} : { onFailure: spec.onFailure }),
    ...(spec.requiresAdminKey === undefined ? {} : { requiresAdminKey: spec.requiresAdminKey }),
    // The paid plans' queue is for paid plans on every submit path: the API's job routes pick the
    // type from the plan, but the generic submit, the CLI and a child take a task type by name,
    // and a free company's job there would run ahead of paying tenants'.
    ...(summary.queue === priorityQueue ? { admit: async ({ tenant, input, database }: { tenant: string; input: Input; database: Queryable }) => {
      const company = await getCompany(database, tenant, input.company_id).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      if (company?.plan === 'free') throw new PriorityQueuePlanError({ company_id: company.id, plan: company.plan, task_type: summary.type, job_type: spec.jobType });
    } } : {}),
    async run(context: TaskContext<Input>) {
      // At most one progress write per task in flight, paced (see above); reports arriving
      // meanwhile collapse into the latest.
      let latest: { percent: number; message: string } | undefined;
      let writing: Promise<void> | undefined;
      let timer: NodeJS.Timeout | undefined;
      const startedAt = performance.now();
      let lastWriteAt = -Infinity;
      const write = (): void => {
        clearTimeout(timer);
        timer = undefined;
        writing ??= (async () => {
          while (latest) {
            const next = latest;
            latest = undefined;
            lastWriteAt = performance.now();
            await context.progress(next.percent, next.message).catch((error: unknown) => services.logger.debug({ err: error, taskId: context.taskId }, 'progress update skipped'));
          }
          writing = undefined;
        })();
      };
      const report = (percent: number, message: string): void => {
        latest = { percent, message };
        if (writing) return;
        const now = performance.now();
        const due = percent >= 100 ? now : Math.max(startedAt + firstProgressAfterMs, lastWriteAt + progressIntervalMs);
        if (due <= now) write();
        else timer ??= setTimeout(write, due - now);
      };
      // Accounting must not fail the result it is attached to: an unreadable table reads as zero.
      let reading: Promise<TaskUsage | undefined> | undefined;
      const usage = (): Promise<TaskUsage | undefined> => (reading ??= services.llm.usageForTask(context.taskId).catch(() => undefined));
      let result: Record<string, unknown>;
      try {
        result = await spec.run(context, report, usage);
      } catch (error) {
        // Parked (a wait) or failed: what it reported last is written while its lease holds, the
        // write already under way too (left to race the park, it lost the lease on a loaded
        // machine, and the parked run showed no progress).
        if (latest) write();
        if (writing) await writing;
        throw error;
      }
      // Completed: a report still waiting to be paced is superseded by the completion (progress
      // 100); the one being written is awaited, beside the usage read, not after it. Left to race
      // the outcome, it lost now and then on a loaded machine: written after the outcome it no
      // longer holds the task, so the job's last message ("DNA of ...: 31 points found") was
      // dropped, from its events and from the task's progress_message.
      clearTimeout(timer);
      const [taskUsage] = await Promise.all([usage(), writing]);
      return { ...result, llm_usage: usageTotals(taskUsage) };
    },
  }));
}
