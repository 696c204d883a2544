/**
 * SQL for `department_evaluations`: one row per evaluate_department task.
 */
import { isoTimestamp, type Queryable } from '../../kit/index.ts';

export interface DepartmentEvaluation {
  id: string;
  projectId: string;
  department: string;
  departmentNumber: number | null;
  taskId: string;
  gatherTaskId: string | null;
  userId: string | null;
  autoTriggered: boolean;
  rating: number;
  summary: string;
  strengths: string[];
  weaknesses: string[];
  recommendations: string[];
  itemsEvaluated: number;
  model: string | null;
  createdAt: string;
}

const columns = `id, project_id AS "projectId", department, department_number AS "departmentNumber", task_id AS "taskId", gather_task_id AS "gatherTaskId",
  user_id AS "userId", auto_triggered AS "autoTriggered", rating, summary, strengths, weaknesses, recommendations, items_evaluated AS "itemsEvaluated", model,
  ${isoTimestamp('created_at')} AS "createdAt"`;

/** Inserts an evaluation (id and time chosen by the caller when given); undefined if the task already has one. */
export async function insertEvaluation(
  database: Queryable,
  tenant: string,
  evaluation: Omit<DepartmentEvaluation, 'id' | 'createdAt'> & { id?: string; createdAt?: string },
): Promise<DepartmentEvaluation | undefined> {
  const result = await database.query<DepartmentEvaluation>(
    `INSERT INTO department_evaluations (tenant, project_id, department, department_number, task_id, gather_task_id, user_id, auto_triggered, rating, summary,
       strengths, weaknesses, recommendations, items_evaluated, model, id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, coalesce($16::uuid, gen_random_uuid()), coalesce($17::timestamptz, now()))
     ON CONFLICT (task_id) DO NOTHING
     RETURNING ${columns}`,
    [
      tenant, evaluation.projectId, evaluation.department, evaluation.departmentNumber, evaluation.taskId, evaluation.gatherTaskId, evaluation.userId,
      evaluation.autoTriggered, Math.round(evaluation.rating), evaluation.summary, JSON.stringify(evaluation.strengths), JSON.stringify(evaluation.weaknesses),
      JSON.stringify(evaluation.recommendations), evaluation.itemsEvaluated, evaluation.model, evaluation.id ?? null, evaluation.createdAt ?? null,
    ],
  );
  return result.rows[0];
}

/** A project's evaluations, newest first, optionally of one department. */
export async function listEvaluations(database: Queryable, query: { tenant: string; projectId: string; department?: string; limit: number }): Promise<DepartmentEvaluation[]> {
  const values: unknown[] = [query.tenant, query.projectId];
  let filter = '';
  if (query.department !== undefined) {
    values.push(query.department);
    filter = ` AND department = $${values.length}`;
  }
  values.push(query.limit);
  const result = await database.query<DepartmentEvaluation>(
    `SELECT ${columns} FROM department_evaluations WHERE tenant = $1 AND project_id = $2${filter} ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  return result.rows;
}
