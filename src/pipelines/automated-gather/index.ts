/**
 * The automated gather pipeline (seeds 000/001): its definition (pipeline.ts), the task types
 * bound to a process's services, and what the rest of taskloom and the tests use of it.
 */
import type { AnyTaskDefinition } from '../../kit/index.ts';
import { createEvaluateTask } from './evaluate-task.ts';
import { createGatherTask } from './gather-task.ts';
import { resolveGatherServices, type GatherServices } from './services.ts';

export { automatedGather } from './pipeline.ts';
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
