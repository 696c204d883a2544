/**
 * One content job type, registered on both of the seed's AI queues: `ai_jobs` for the free plan
 * and `ai_priority` (`<type>@ai_priority`) for paid plans. Every job's result carries its LLM
 * usage and cost (read from llm_calls, so it covers every attempt), and progress is reported as
 * it goes without waiting on the progress write (it is a courtesy, not part of the result).
 */
import type { z } from 'zod';
import { defineTask, type AnyTaskDefinition, type TaskContext } from '../../kit/index.ts';
import { llmUsageTotals } from '../llm-usage-totals.ts';
import type { ContentServices } from './services.ts';
import { jobTaskTypes, type JobType } from './task-types.ts';

export interface JobSpec<Input> {
  /** Its two task types, names, queues and descriptions, are the job type's (task-types.ts). */
  jobType: JobType;
  input: z.ZodType<Input>;
  /** @default the queue's (300 s) */
  hardTimeoutMs?: number;
  run(context: TaskContext<Input>, report: (percent: number, message: string) => void): Promise<Record<string, unknown>>;
}

export function contentJob<Input extends { company_id: string }>(services: ContentServices, spec: JobSpec<Input>): AnyTaskDefinition[] {
  return jobTaskTypes(spec.jobType).map((summary) => defineTask({
    ...summary,
    input: spec.input,
    ...(spec.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: spec.hardTimeoutMs }),
    projectId: (input: Input) => input.company_id,
    async run(context: TaskContext<Input>) {
      // At most one progress write per task in flight; reports arriving meanwhile collapse into
      // the latest. Each write is a transaction appending an event, and event appends commit one
      // after another (the event-order lock is held through the commit): seven sections of a
      // post finishing together would otherwise queue seven commits in front of the step
      // checkpoints of every other task of the stage.
      let latest: { percent: number; message: string } | undefined;
      let writing: Promise<void> | undefined;
      const report = (percent: number, message: string): void => {
        latest = { percent, message };
        writing ??= (async () => {
          while (latest) {
            const next = latest;
            latest = undefined;
            await context.progress(next.percent, next.message).catch((error: unknown) => services.logger.debug({ err: error, taskId: context.taskId }, 'progress update skipped'));
          }
          writing = undefined;
        })();
      };
      const result = await spec.run(context, report);
      // Not waiting for the last progress write: it is on its way (or next after the one in
      // flight) and usually takes the task row before the outcome does; waiting would put one
      // more event-appending commit on the critical path of every job (measured: a social post
      // task's tail p50 +25-35 ms at load 4, thirty of them committing at once).
      // llmUsageTotals reads after the gateway's pending usage rows are written (usageForTask flushes).
      const usage = await llmUsageTotals(services.llm, context.taskId);
      return { ...result, llm_usage: usage };
    },
  }));
}
