/**
 * The built-in pipeline's task types as its definition lists them and its definitions spread them.
 * Nothing but types is imported here (see src/kit/pipeline.ts).
 */
import type { TaskTypeSummary } from '../../engine/task-definition.ts';

export const sleepTaskSummary: TaskTypeSummary = {
  type: 'sleep',
  queue: 'default',
  description: 'Sleeps for `ms` milliseconds in `steps` checkpointed steps, reporting progress after each step.',
};
