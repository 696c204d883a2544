/**
 * Task types every install has, for health checks, tests and benchmarks.
 */
export { builtin } from './pipeline.ts';
export { sleepInput, sleepTask } from './sleep.ts';
