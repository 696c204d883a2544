/**
 * The shapes of the automated gather pipeline: task inputs and results (seed 001's shapes),
 * departments (Payload CMS's shape), gather items as the API shows them, and the structured
 * outputs asked of the models. One zod schema per shape drives validation and types.
 */
import { z } from 'zod';
import { departmentNumber } from '../../integrations/payload.ts';
import type { LlmUsageTotals } from '../llm-usage-totals.ts';

// Defined with the pipeline's task types, which its definition lists without loading these schemas.
export { evaluateTaskType, gatherTaskType } from './task-types.ts';

/**
 * Seed 001 input (every field the seed sends is here). Unknown fields are refused: a typo such as
 * `max_iteration` would otherwise run the default 50-iteration budget of paid calls.
 */
export const automatedGatherInput = z.object({
  project_id: z.string().trim().min(1).max(200).describe('Project whose departments are gathered.'),
  user_id: z.string().trim().min(1).max(200).optional().describe('Recorded as createdBy on the items; forwarded to evaluations.'),
  max_iterations: z.number().int().min(1).max(500).default(50).describe('Iterations for the whole run, over all departments (seed default 50).'),
  enable_auto_evaluation: z.boolean().default(true).describe('Submit an evaluate_department task after each completed department.'),
  webhook_url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048).optional().describe('Every event of the run is POSTed here, signed, like a submit\'s callback_url (which wins when both are given).'),
  on_stagnation: z.enum(['continue', 'next_department']).default('continue')
    .describe('After 3 iterations without a better score quality_stagnant is emitted; then keep iterating toward the threshold (seed behaviour; the run budget still bounds it) or move on to the next department.'),
}).strict();
export type AutomatedGatherInput = z.infer<typeof automatedGatherInput>;

/** Seed 001 evaluation trigger: `{project_id, department_number, user_id, auto_triggered}`. */
export const evaluateDepartmentInput = z.object({
  project_id: z.string().trim().min(1).max(200),
  department_number: departmentNumber.optional().describe('codeDepNumber of the department.'),
  department: z.string().trim().min(1).max(100).optional().describe('Department slug (either this or department_number).'),
  user_id: z.string().trim().min(1).max(200).optional(),
  auto_triggered: z.boolean().default(false),
  gather_task_id: z.uuid().optional().describe('The automated gather run that triggered the evaluation.'),
}).strict().refine((value) => value.department_number !== undefined || value.department !== undefined, { message: 'department_number or department is required' });
export type EvaluateDepartmentInput = z.infer<typeof evaluateDepartmentInput>;

export const coordinationSettings = z.object({
  minQualityThreshold: z.number().min(0).max(100).default(80),
  maxRetries: z.number().int().min(0).max(100).default(3),
}).loose();

/** A department as Payload CMS stores it (and as the departments API shows it). */
export const department = z.object({
  id: z.string().min(1),
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes').max(100),
  name: z.string().min(1).max(200),
  description: z.string().max(4000).default(''),
  codeDepNumber: departmentNumber,
  gatherCheck: z.boolean().default(true),
  isActive: z.boolean().default(true),
  defaultModel: z.string().trim().min(1, 'a model id, or null for the default').max(200).nullable().default(null),
  coordinationSettings: coordinationSettings.default({ minQualityThreshold: 80, maxRetries: 3 }),
});
export type Department = z.infer<typeof department>;

/**
 * PUT /projects/{id}/departments body: the project's full list (ids are assigned by taskloom).
 * Strict at every level, unlike `department`, which also reads Payload's documents (they carry
 * fields of their own): a misspelt field here would silently fall back to its default.
 */
export const departmentsUpdate = z.object({
  departments: z.array(department.omit({ id: true }).extend({
    id: z.string().optional(),
    coordinationSettings: coordinationSettings.strict().default({ minQualityThreshold: 80, maxRetries: 3 }),
  }).strict()).min(1).max(200),
}).strict();
export type DepartmentsUpdate = z.infer<typeof departmentsUpdate>;

export const departmentSummary = z.object({
  department: z.string(),
  name: z.string(),
  quality_score: z.number(),
  iterations: z.number().int(),
  items_created: z.number().int(),
});
export type DepartmentSummary = z.infer<typeof departmentSummary>;

export type { LlmUsageTotals };

/** Seed 001 output, plus `llm_usage`. `completed`, `timeout` and `cancelled` all keep partial results. */
export interface AutomatedGatherResult {
  status: 'completed' | 'timeout' | 'cancelled';
  iterations: number;
  departments_processed: number;
  items_created: number;
  processing_time_ms: number;
  summary: DepartmentSummary[];
  llm_usage: LlmUsageTotals;
}

/** What the generation model returns for one iteration. */
export const generatedItem = z.object({
  content: z.string().min(20).max(6000).describe('The gather item itself: a detailed, self-contained paragraph.'),
  summary: z.string().min(3).max(400).describe('One sentence of about 100 characters.'),
  context: z.string().max(3000).describe('How the item relates to the project and to the previous departments.'),
});
export type GeneratedItem = z.infer<typeof generatedItem>;

export const generationOutput = z.object({
  items: z.array(generatedItem).min(5).max(10),
});

/** What the quality model returns. Field names end in `_score` (0-100 each). */
export const qualityOutput = z.object({
  coverage_score: z.number().min(0).max(100).describe('How many aspects of the department are covered.'),
  depth_score: z.number().min(0).max(100).describe('Level of detail of the items.'),
  coherence_score: z.number().min(0).max(100).describe('Consistency with each other and with earlier departments.'),
  actionability_score: z.number().min(0).max(100).describe('How directly the items can be used in production.'),
  missing_aspects: z.array(z.string().min(1).max(300)).max(10).describe('Aspects of the department the items do not cover yet.'),
});
export type QualityOutput = z.infer<typeof qualityOutput>;

/** What the optional duplicate judge returns for the borderline pairs it is shown. */
export const judgeOutput = z.object({
  verdicts: z.array(z.object({
    pair: z.number().int().min(1),
    duplicate: z.boolean(),
  })),
});

/** What the evaluation model returns. */
export const evaluationOutput = z.object({
  rating: z.number().min(0).max(100).describe('Overall readiness score of the department, 0-100.'),
  summary: z.string().min(1).max(2000),
  strengths: z.array(z.string().min(1).max(400)).max(10),
  weaknesses: z.array(z.string().min(1).max(400)).max(10),
  recommendations: z.array(z.string().min(1).max(400)).max(10),
});
export type EvaluationOutput = z.infer<typeof evaluationOutput>;
