/**
 * `sleep`: waits `ms` in `steps` checkpointed steps, reporting progress after each. For health
 * checks, tests and benchmarks; with `ms: 0` it is a no-op task.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask } from '../../kit/index.ts';
import { sleepTaskSummary } from './task-types.ts';

export const sleepInput = z.object({
  ms: z.number().int().min(0).max(3_600_000).default(1000).describe('Total time to sleep, in milliseconds.'),
  steps: z.number().int().min(1).max(1000).default(1).describe('Checkpointed steps the sleep is split into; progress is reported after each.'),
  project_id: z.string().min(1).max(200).optional().describe('Project the task belongs to (for filtering and project streams).'),
}).strict();

export const sleepTask = defineTask({
  ...sleepTaskSummary,
  input: sleepInput,
  async run(context) {
    const { ms, steps } = context.input;
    const started = Date.now();
    if (ms === 0 && steps === 1) return { slept_ms: 0, steps: 1 };
    const perStep = ms / steps;
    for (let index = 1; index <= steps; index += 1) {
      await context.step(`sleep-${index}`, async () => {
        await sleep(perStep, undefined, { signal: context.signal });
        return index;
      });
      await context.progress((index / steps) * 100, `step ${index}/${steps}`);
    }
    return { slept_ms: Date.now() - started, steps };
  },
});
