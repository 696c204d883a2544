/**
 * Cron schedules (the seeds' Celery beat), on pg-boss's scheduler: pg-boss sends one job per
 * slot however many processes run it, and the worker that claims the job creates the task with
 * the job's id as idempotency key, so a slot can never produce two tasks.
 */
import type { Boss } from './boss.ts';
import type { AnyTaskDefinition } from './task-definition.ts';

export async function registerSchedules(boss: Boss, definitions: AnyTaskDefinition[]): Promise<number> {
  let count = 0;
  for (const definition of definitions) {
    for (const schedule of definition.schedules ?? []) {
      await boss.schedule(
        definition.queue,
        schedule.cron,
        { schedule: { taskType: definition.type, input: schedule.input } },
        { tz: schedule.timezone ?? 'UTC', key: `${definition.type}.${schedule.key ?? 'default'}` },
      );
      count += 1;
    }
  }
  return count;
}
