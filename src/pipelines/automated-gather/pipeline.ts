/**
 * The automated gather pipeline's definition (seeds 000/001): the `automated_gather_creation` and
 * `evaluate_department` task types, the HTTP routes reading what they produce, the
 * `taskloom gather` command, and its dashboard page (`dashboard/page.tsx`). Its parts are
 * imported when used (see src/kit/pipeline.ts); the rest of its public surface is in index.ts.
 *
 * Its tables (`gather_items`, `department_evaluations`, `departments`) predate the kit and were
 * created by core migration 0004, which has shipped and so stays; the pipeline's later
 * migrations are in its own `migrations/` folder.
 */
import { definePipeline } from '../../kit/pipeline.ts';
import { evaluateTaskSummary, gatherTaskSummary } from './task-types.ts';

export const automatedGather = definePipeline({
  name: 'automated-gather',
  title: 'Automated gather',
  description: 'Per-department gather items with cascading context, de-duplication, quality-driven iteration and evaluation (seeds 000/001).',
  migrations: new URL('./migrations/', import.meta.url),
  taskTypes: [gatherTaskSummary, evaluateTaskSummary],
  tasks: async (services) => (await import('./index.ts')).automatedGatherTaskTypes(services),
  routes: async (services) => (await import('./routes.ts')).gatherRoutes(services),
  events: async () => (await import('./events.ts')).gatherEvents,
  cli: async (runtime) => (await import('./cli.ts')).gatherCommand(runtime),
});
