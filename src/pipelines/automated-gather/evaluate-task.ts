/**
 * `evaluate_department` (seed 001's evaluation trigger): one LLM evaluation of a department's
 * gather items (readiness rating 0-100, summary, strengths, weaknesses, recommendations), stored
 * in `department_evaluations` in the same checkpointed step, readable through the API.
 */
import { randomUUID } from 'node:crypto';
import { defineTask, type TaskContext } from '../../kit/index.ts';
import { PermanentError } from '../../errors.ts';
import { refuseOfflineFallback } from '../../llm/index.ts';
import { listTableDepartments } from './departments.ts';
import { insertEvaluation, type DepartmentEvaluation } from './evaluations-store.ts';
import { departmentSummaries } from './items-store.ts';
import { evaluationInstructions, evaluationPrompt } from './prompts.ts';
import { evaluateDepartmentInput, evaluationOutput, type Department, type EvaluateDepartmentInput } from './schemas.ts';
import { llmUsageTotals, type LlmUsageTotals } from '../llm-usage-totals.ts';
import { gatherEventPayload, type ResolvedGatherServices } from './services.ts';
import { evaluateTaskSummary } from './task-types.ts';

export function createEvaluateTask(services: ResolvedGatherServices) {
  const { llm } = services;

  const findDepartment = async (tenant: string, input: EvaluateDepartmentInput, signal: AbortSignal): Promise<Department> => {
    const candidates = services.departments.kind === 'payload'
      ? await services.departments.gatherDepartments(tenant, input.project_id, signal)
      : (await listTableDepartments(services.pool, tenant, input.project_id)).departments;
    const matching = candidates.filter((entry) => (input.department !== undefined ? entry.slug === input.department : entry.codeDepNumber === input.department_number));
    // Payload may hold two departments with one number (taskloom's table refuses them).
    if (matching.length > 1) {
      throw new PermanentError(`Departments ${matching.map((entry) => entry.slug).join(' and ')} share number ${input.department_number} for project ${input.project_id}; name the department by its slug (department) instead.`, { department_number: input.department_number ?? null, departments: matching.map((entry) => entry.slug) });
    }
    const found = matching[0];
    if (!found) {
      throw new PermanentError(`Department ${input.department ?? `number ${input.department_number}`} does not exist for project ${input.project_id}.`, { department: input.department ?? null, department_number: input.department_number ?? null });
    }
    // Both given by a person: they must name the same department, or which one was meant is a
    // guess. A gather sends both as it planned them; a department renumbered since is still the
    // one it gathered (its slug).
    if (!input.auto_triggered && input.department !== undefined && input.department_number !== undefined && found.codeDepNumber !== input.department_number) {
      throw new PermanentError(`Department ${found.slug} has number ${found.codeDepNumber}, not ${input.department_number}, for project ${input.project_id}; give department or department_number, or both naming the same department.`, { department: found.slug, department_number: input.department_number, number_of_department: found.codeDepNumber });
    }
    return found;
  };

  return defineTask({
    ...evaluateTaskSummary,
    priority: 6,
    input: evaluateDepartmentInput,
    projectId: (input: EvaluateDepartmentInput) => input.project_id,
    async run(context: TaskContext<EvaluateDepartmentInput>): Promise<DepartmentEvaluation & { llm_usage: LlmUsageTotals }> {
      const { input, taskId, tenant, signal } = context;
      const department = await context.step('department', () => findDepartment(tenant, input, signal));
      const stored = await context.step('evaluate', async (step): Promise<DepartmentEvaluation> => {
        const items = await departmentSummaries(services.pool, { tenant, projectId: input.project_id, department: department.slug }, 60);
        const base = {
          projectId: input.project_id, department: department.slug, departmentNumber: department.codeDepNumber, taskId,
          gatherTaskId: input.gather_task_id ?? null, userId: input.user_id ?? null, autoTriggered: input.auto_triggered, itemsEvaluated: items.count,
        };
        let evaluation: Omit<DepartmentEvaluation, 'id' | 'createdAt'>;
        if (items.count === 0) {
          // Nothing to read: no model call, an honest zero.
          evaluation = { ...base, rating: 0, summary: `${department.name} has no gather items yet.`, strengths: [], weaknesses: ['No gather items.'], recommendations: ['Run an automated gather for this project.'], model: null };
        } else {
          const answer = await llm.generateStructured({
            purpose: 'judging',
            schema: evaluationOutput,
            instructions: evaluationInstructions,
            prompt: evaluationPrompt({ department, itemCount: items.count, summaries: items.summaries.map((entry) => entry.summary) }),
            signal,
            context: { taskId, step: 'evaluate' },
          });
          // A template's rating is no evaluation: the provider failed (retried), nothing stored.
          refuseOfflineFallback(answer, llm.resolveModel('judging'), 'is not an evaluation of these items');
          evaluation = { ...base, ...answer.object, rating: Math.round(answer.object.rating), model: answer.model };
        }
        // Id and time are chosen here, so the stored checkpoint is exactly the row the save writes.
        const row: DepartmentEvaluation = { ...evaluation, id: randomUUID(), createdAt: new Date().toISOString() };
        step.emit('department_evaluated', gatherEventPayload({ taskId, projectId: input.project_id }, 'department_evaluated', {
          department: department.slug, department_name: department.name, department_number: department.codeDepNumber,
          rating: row.rating, items_evaluated: row.itemsEvaluated, evaluation_id: row.id, auto_triggered: input.auto_triggered,
        }));
        return row;
      }, {
        save: async (transaction, row) => {
          const inserted = await insertEvaluation(transaction, tenant, row);
          if (!inserted) throw new PermanentError(`An evaluation for task ${taskId} already exists.`);
        },
      });
      return { ...stored, llm_usage: await llmUsageTotals(llm, taskId) };
    },
  });
}
