/**
 * The learning pipeline's task types: their names, queues and descriptions, as its definition
 * lists them and its task definitions spread them. Nothing but types is imported here, so the
 * definition stays light and the dashboard's typecheck, which reads schemas.ts, does not reach the
 * kit.
 */
import type { TaskTypeSummary } from '../../engine/task-definition.ts';

export const bigLearningTaskType = 'big_learning_job';
export const learningTaskType = 'learning_job';

export const bigLearningTaskSummary: TaskTypeSummary = {
  type: bigLearningTaskType,
  queue: 'ai_jobs',
  description: 'Big learning job (seed 004): rounds of proposed words, each researched, defined and enriched into the knowledge base, until the wall-clock budget (TASKLOOM_LEARNING_BUDGET_SECONDS, 600 s) runs out.',
};

export const learningTaskSummary: TaskTypeSummary = {
  type: learningTaskType,
  queue: 'ai_jobs',
  description: 'Learning job (seed 004): quick learns the first few queued words; deep learns every queued word, then deepens up to 5 entries.',
};
