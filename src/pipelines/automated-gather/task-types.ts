/**
 * The automated gather pipeline's task types: their names, queues and descriptions, as its
 * definition lists them and its task definitions spread them. Nothing but types is imported here,
 * so the definition stays light (see src/kit/pipeline.ts).
 */
import type { TaskTypeSummary } from '../../engine/task-definition.ts';

export const gatherTaskType = 'automated_gather_creation';
export const evaluateTaskType = 'evaluate_department';

export const gatherTaskSummary: TaskTypeSummary = {
  type: gatherTaskType,
  queue: 'cpu_intensive',
  description: 'Automated gather creation (seed 001): per department, generate gather items with cascading context, de-duplicate, save, index, score quality and iterate to the threshold; then evaluate.',
};

export const evaluateTaskSummary: TaskTypeSummary = {
  type: evaluateTaskType,
  queue: 'ai_jobs',
  description: 'Evaluates one department\'s gather items with an LLM (readiness rating, strengths, weaknesses, recommendations) and stores the evaluation.',
};
