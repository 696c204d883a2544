/**
 * The automated gather pipeline's public entry (seeds 000/001): the `automated_gather_creation`
 * and `evaluate_department` task types, and the HTTP routes reading what they produce.
 */
import type { AnyTaskDefinition } from '../../engine/index.ts';
import { createEvaluateTask } from './evaluate-task.ts';
import { createGatherTask } from './gather-task.ts';
import { resolveGatherServices, type GatherServices } from './services.ts';

export { gatherRoutes } from './routes.ts';
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
