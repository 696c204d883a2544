/**
 * `project_meta_generations`: one row per finished generation (success, or a failure that will
 * not be retried). The metrics are computed from these rows (metrics.ts), which is what makes
 * them right whichever process ran the task; the API shows a project's recent ones.
 */
import { appendEvents, isoTimestamp, type NewEvent, type Queryable } from '../../kit/index.ts';

export interface GenerationRecord {
  tenant: string;
  projectId: string | null;
  taskId: string | null;
  status: 'success' | 'failure';
  modelUsed: string;
  projectType: string;
  errorType?: string | null;
  errorMessage?: string | null;
  durationSeconds: number;
  contentLengthChars?: number | null;
  tagsCount?: number | null;
  summaryLengthChars?: number | null;
}

export async function recordGeneration(database: Queryable, record: GenerationRecord): Promise<void> {
  await database.query(
    `INSERT INTO project_meta_generations (tenant, project_id, task_id, status, model_used, project_type, error_type, error_message,
       duration_seconds, content_length_chars, tags_count, summary_length_chars)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [record.tenant, record.projectId, record.taskId, record.status, record.modelUsed, record.projectType, record.errorType ?? null, record.errorMessage?.slice(0, 2000) ?? null,
      record.durationSeconds, record.contentLengthChars ?? null, record.tagsCount ?? null, record.summaryLengthChars ?? null],
  );
}

/**
 * A generation task's final failure and its `metadata_generation_failed` event, once per task.
 * The task's handler records the failure it saw, and its type's `onFailure` one no handler saw (a
 * worker that died on its last attempt); at a hard timeout the engine settles the task without
 * waiting for the handler, so both may try at once. A lock on the task, held to the commit,
 * orders them, and the second finds the first's row. Returns whether this call recorded it.
 */
export async function recordFinalFailure(transaction: Queryable, record: GenerationRecord & { taskId: string; status: 'failure' }, event: NewEvent): Promise<boolean> {
  await transaction.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`metadata-failure:${record.taskId}`]);
  const recorded = await transaction.query(`SELECT 1 FROM project_meta_generations WHERE task_id = $1 AND status = 'failure'`, [record.taskId]);
  if ((recorded.rowCount ?? 0) > 0) return false;
  await recordGeneration(transaction, record);
  await appendEvents(transaction, [event]);
  return true;
}

export interface GenerationRow {
  task_id: string | null;
  status: 'success' | 'failure';
  model_used: string;
  error_type: string | null;
  error_message: string | null;
  duration_seconds: number;
  created_at: string;
}

export async function recentGenerations(database: Queryable, tenant: string, projectId: string, limit: number): Promise<GenerationRow[]> {
  const result = await database.query<GenerationRow>(
    `SELECT task_id, status, model_used, error_type, error_message, duration_seconds, ${isoTimestamp('created_at')} AS created_at
     FROM project_meta_generations WHERE tenant = $1 AND project_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
    [tenant, projectId, limit],
  );
  return result.rows;
}
