/**
 * The built-in pipeline's definition: task types every install has, for health checks, tests and
 * benchmarks.
 */
import { definePipeline } from '../../kit/pipeline.ts';
import { sleepTaskSummary } from './task-types.ts';

export const builtin = definePipeline({
  name: 'builtin',
  title: 'Built-in',
  description: 'Task types for health checks, tests and benchmarks.',
  taskTypes: [sleepTaskSummary],
  tasks: async () => [(await import('./sleep.ts')).sleepTask],
});
