/**
 * Task types every install has, for health checks, tests and benchmarks.
 */
import { definePipeline } from '../../kit/index.ts';
import { sleepTask } from './sleep.ts';

export const builtin = definePipeline({
  name: 'builtin',
  title: 'Built-in',
  description: 'Task types for health checks, tests and benchmarks.',
  tasks: () => [sleepTask],
});
