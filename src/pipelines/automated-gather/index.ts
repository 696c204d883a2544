/**
 * The automated gather pipeline (seeds 000/001): the `automated_gather_creation` and
 * `evaluate_department` task types, the HTTP routes reading what they produce, the
 * `taskloom gather` command, and its dashboard page (`dashboard/page.tsx`).
 *
 * Its tables (`gather_items`, `department_evaluations`, `departments`) predate the kit and were
 * created by core migration 0004, which has shipped and so stays; the pipeline's later
 * migrations are in its own `migrations/` folder.
 */
import { definePipeline, type AnyTaskDefinition } from '../../kit/index.ts';
import { gatherCommand } from './cli.ts';
import { createEvaluateTask } from './evaluate-task.ts';
import { gatherEvents } from './events.ts';
import { createGatherTask } from './gather-task.ts';
import { gatherRoutes } from './routes.ts';
import { resolveGatherServices, type GatherServices } from './services.ts';

export { gatherRoutes } from './routes.ts';
export { gatherCommand, describeGatherEvent } from './cli.ts';
export { aladdinDepartments, createDepartmentSource, listTableDepartments, replaceProjectDepartments, type DepartmentSource } from './departments.ts';
export { contentHash, normaliseContent, semanticDuplicates } from './dedup.ts';
export { listEvaluations, type DepartmentEvaluation } from './evaluations-store.ts';
export { listItems, countItemsOfTask, type GatherItem, type AutomationMetadata } from './items-store.ts';
export { qualityWeights, weightedQuality } from './quality.ts';
export { stagnationLimit } from './gather-task.ts';
export {
  automatedGatherInput,
  department,
  departmentsUpdate,
  evaluateDepartmentInput,
  evaluateTaskType,
  gatherTaskType,
  type AutomatedGatherInput,
  type AutomatedGatherResult,
  type Department,
  type DepartmentSummary,
  type EvaluateDepartmentInput,
} from './schemas.ts';
export type { GatherServices } from './services.ts';

/** `automated_gather_creation` and `evaluate_department`, bound to the process's services. */
export function automatedGatherTaskTypes(services: GatherServices): AnyTaskDefinition[] {
  const resolved = resolveGatherServices(services);
  return [createGatherTask(resolved), createEvaluateTask(resolved)];
}

export const automatedGather = definePipeline({
  name: 'automated-gather',
  title: 'Automated gather',
  description: 'Per-department gather items with cascading context, de-duplication, quality-driven iteration and evaluation (seeds 000/001).',
  migrations: new URL('./migrations/', import.meta.url),
  tasks: automatedGatherTaskTypes,
  routes: gatherRoutes,
  events: gatherEvents,
  cli: gatherCommand,
});
