/**
 * The automated gather's events (the seed's names), with the fields each payload carries. Every
 * payload also has the seed's envelope: `type`, `project_id`, `task_id`, `timestamp`.
 */
import { z } from 'zod';

const envelope = { type: z.string(), project_id: z.string(), task_id: z.string(), timestamp: z.string() };
const department = { department: z.string(), department_name: z.string() };
/** A run that stopped early (cancel, soft timeout): what it made, `items_created_so_far` the seed's name for `items_created`. */
const stopped = {
  items_created_so_far: z.number(), items_created: z.number(), iterations: z.number(), departments_processed: z.number(),
  summary: z.array(z.unknown()), processing_time_ms: z.number(), current_department: z.string().nullable(),
};

export const gatherEvents = {
  automation_started: z.object({ ...envelope, departments_count: z.number(), max_iterations: z.number(), departments: z.array(z.string()), source: z.enum(['payload', 'table']) }),
  department_started: z.object({ ...envelope, ...department, department_number: z.number().nullable(), threshold: z.number(), model: z.string(), configured_model: z.string().nullable() }),
  deduplicating: z.object({ ...envelope, ...department, iteration: z.number(), items_to_check: z.number() }),
  iteration_complete: z.object({
    ...envelope, ...department, iteration: z.number(), total_iterations: z.number(), quality_score: z.number(), items_created: z.number(),
    threshold: z.number(), max_iterations: z.number(), items_generated: z.number(), duplicates_removed: z.number(), department_items_created: z.number(),
    breakdown: z.object({ coverage: z.number(), depth: z.number(), coherence: z.number(), actionability: z.number() }), missing_aspects: z.array(z.string()),
  }),
  quality_stagnant: z.object({ ...envelope, ...department, quality_score: z.number(), best_quality_score: z.number(), iterations_without_improvement: z.number(), threshold: z.number(), iteration: z.number(), on_stagnation: z.enum(['continue', 'next_department']) }),
  max_iterations_reached: z.object({ ...envelope, ...department, final_quality_score: z.number().nullable(), threshold: z.number(), max_iterations: z.number(), iterations_used: z.number(), departments_skipped: z.array(z.string()) }),
  department_complete: z.object({
    ...envelope, ...department, department_number: z.number().nullable(), quality_score: z.number(), iterations_used: z.number(), items_created: z.number(),
    threshold: z.number(), threshold_reached: z.boolean(), stopped_because: z.enum(['threshold', 'stagnant', 'max_iterations']), evaluation_task_id: z.string().nullable(),
  }),
  automation_complete: z.object({ ...envelope, total_iterations: z.number(), departments_processed: z.number(), items_created: z.number(), summary: z.array(z.unknown()), processing_time_ms: z.number() }),
  automation_timeout: z.object({ ...envelope, ...stopped, soft_timeout_ms: z.number() }),
  automation_cancelled: z.object({ ...envelope, ...stopped }),
  automation_error: z.object({ ...envelope, error: z.string(), code: z.string(), attempt: z.number(), will_retry: z.boolean(), items_created_so_far: z.number(), iterations: z.number() }),
  automation_warning: z.object({
    ...envelope, code: z.string(), message: z.string(),
    operation: z.enum(['context', 'search_duplicates', 'index', 'coverage']).optional().describe('brain_unavailable: the Brain call that failed.'),
    department: z.string().optional(), items: z.number().optional().describe('brain_unavailable while indexing: the items saved in taskloom only.'),
    lower_bound: z.number().optional(), threshold: z.number().optional().describe('judge_band_empty: the judge\'s lower bound and the duplicate threshold it is not below.'),
  }),
  department_evaluated: z.object({ ...envelope, ...department, department_number: z.number().nullable(), rating: z.number(), items_evaluated: z.number(), evaluation_id: z.string(), auto_triggered: z.boolean() }),
} satisfies Record<string, z.ZodType>;
