/**
 * Cron schedules (the seeds' Celery beat), on pg-boss's timekeeper: it sends one job per slot to
 * the `taskloom-schedules` queue however many processes run it, and a maintenance process turns
 * each into a task with the job's id as idempotency key, so a slot can never produce two tasks.
 */
import { isTaskloomError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Boss } from './boss.ts';
import type { SubmitRequest, SubmitResult } from './submit.ts';
import type { AnyTaskDefinition } from './task-definition.ts';

/** The pg-boss queue every cron slot is sent to. */
export const schedulesQueue = 'taskloom-schedules';

interface ScheduleSlot {
  schedule: { taskType: string; input: unknown; tenant?: string };
}

/**
 * Registers the task types' schedules (an upsert per schedule key). A registered type's schedule
 * that it no longer declares (the configuration turned it off: smart metadata's ENABLE_STI=false,
 * say) is removed, or its slots would go on firing tasks nobody asked for. Types this process does
 * not register keep theirs. Schedules filed by an earlier version on the task's own queue are
 * moved here, or their slots would be sent where nothing reads them.
 */
export async function registerSchedules(boss: Boss, definitions: AnyTaskDefinition[]): Promise<number> {
  let count = 0;
  const registered = new Set<string>();
  for (const definition of definitions) {
    for (const schedule of definition.schedules ?? []) {
      const key = `${definition.type}.${schedule.key ?? 'default'}`;
      await boss.schedule(schedulesQueue, schedule.cron, { schedule: { taskType: definition.type, input: schedule.input } } satisfies ScheduleSlot, { tz: schedule.timezone ?? 'UTC', key });
      registered.add(key);
      count += 1;
    }
  }
  const types = definitions.map((definition) => `${definition.type}.`);
  for (const stale of await boss.getSchedules()) {
    if (stale.name !== schedulesQueue && registered.has(stale.key)) await boss.unschedule(stale.name, stale.key);
    else if (stale.name === schedulesQueue && !registered.has(stale.key) && types.some((prefix) => stale.key.startsWith(prefix))) await boss.unschedule(stale.name, stale.key);
  }
  return count;
}

/** Turns each cron slot pg-boss sends into a task, until the boss stops. */
export async function workSchedules(boss: Boss, submit: (request: SubmitRequest) => Promise<SubmitResult>, logger: Logger, pollingIntervalSeconds: number): Promise<void> {
  await boss.work<ScheduleSlot>(schedulesQueue, { pollingIntervalSeconds, batchSize: 10 }, async (jobs) => {
    for (const job of jobs) {
      const { schedule } = job.data;
      try {
        await submit({ taskType: schedule.taskType, input: schedule.input, tenant: schedule.tenant ?? 'default', idempotencyKey: `schedule:${job.id}` });
      } catch (error) {
        // A slot whose task can never be submitted (its input no longer valid) is skipped, loudly;
        // an outage throws on, and pg-boss sends the slot again.
        if (!isTaskloomError(error) || error.retryable) throw error;
        logger.error({ err: error, schedule }, 'a scheduled task could not be submitted; the slot is skipped');
      }
    }
  });
}
