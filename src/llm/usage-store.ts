/**
 * The `llm_calls` table: one row per provider request (successful or not, or cut off by a
 * crash) and per cache hit, and the per-task totals read back from it.
 */
import type { Queryable } from '../db/pool.ts';

export type LlmPurpose = 'generation' | 'judging' | 'research' | 'embedding';

export interface LlmCallRow {
  taskId: string | undefined;
  step: string | undefined;
  purpose: LlmPurpose;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  cacheHit: boolean;
  attempt: number;
  costUsd: number | null;
  errorCode?: string | undefined;
  error?: string | undefined;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A non-uuid task id (a CLI label) is kept out of the uuid column rather than failing the call. */
function taskIdColumn(taskId: string | undefined): string | null {
  return taskId !== undefined && uuidPattern.test(taskId) ? taskId : null;
}

/** What is known of a provider request when it starts. */
export type StartedLlmCall = Pick<LlmCallRow, 'taskId' | 'step' | 'purpose' | 'provider' | 'model' | 'attempt'>;

/** The row of a request that cannot still be running by then is swept; the margin covers the finishing write. */
const deadlineMarginMs = 10_000;

/** Records a provider request as it starts (state in_flight); returns the row id to finish it with. */
export async function beginLlmCall(database: Queryable, call: StartedLlmCall, timeoutMs: number): Promise<number> {
  const result = await database.query<{ id: number }>(
    `INSERT INTO llm_calls (task_id, step, purpose, provider, model, attempt, state, deadline_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'in_flight', now() + make_interval(secs => $7::double precision / 1000)) RETURNING id`,
    [taskIdColumn(call.taskId), call.step ?? null, call.purpose, call.provider, call.model, call.attempt, timeoutMs + deadlineMarginMs],
  );
  return result.rows[0]!.id;
}

/** Completes the row beginLlmCall wrote. */
export async function finishLlmCall(database: Queryable, id: number, row: LlmCallRow): Promise<void> {
  await database.query(
    `UPDATE llm_calls SET input_tokens = $2, output_tokens = $3, latency_ms = $4, cost_usd = $5, error_code = $6, error = $7, state = 'finished'
      WHERE id = $1`,
    [id, Math.max(0, Math.round(row.inputTokens)), Math.max(0, Math.round(row.outputTokens)), Math.max(0, Math.round(row.latencyMs)), row.costUsd, row.errorCode ?? null, row.error ?? null],
  );
}

/**
 * Marks in_flight rows past their deadline interrupted: their process died mid-request (a
 * request cannot outlive its timeout). Returns how many were marked.
 */
export async function sweepInterruptedLlmCalls(database: Queryable): Promise<number> {
  const result = await database.query(
    `UPDATE llm_calls SET state = 'interrupted', error_code = 'llm_interrupted', error = 'the process making this request stopped before it ended'
      WHERE state = 'in_flight' AND deadline_at < now()`,
  );
  return result.rowCount ?? 0;
}

/** Records a call in one row (cache hits, and requests whose start could not be recorded). */
export async function insertLlmCall(database: Queryable, row: LlmCallRow): Promise<void> {
  await database.query(
    `INSERT INTO llm_calls (task_id, step, purpose, provider, model, input_tokens, output_tokens, latency_ms, cache_hit, attempt, cost_usd, error_code, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      taskIdColumn(row.taskId),
      row.step ?? null,
      row.purpose,
      row.provider,
      row.model,
      Math.max(0, Math.round(row.inputTokens)),
      Math.max(0, Math.round(row.outputTokens)),
      Math.max(0, Math.round(row.latencyMs)),
      row.cacheHit,
      row.attempt,
      row.costUsd,
      row.errorCode ?? null,
      row.error ?? null,
    ],
  );
}

export interface ModelUsage {
  calls: number;
  cachedCalls: number;
  failedCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** null when some of the model's tokens have no price. */
  costUsd: number | null;
}

export interface TaskUsage extends ModelUsage {
  /** Keyed by `provider:model`. */
  byModel: Record<string, ModelUsage>;
}

interface UsageRow {
  provider: string;
  model: string;
  calls: number;
  cached_calls: number;
  failed_calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string | null;
  unpriced: boolean;
}

export async function usageForTask(database: Queryable, taskId: string): Promise<TaskUsage> {
  const empty: TaskUsage = { calls: 0, cachedCalls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, byModel: {} };
  if (!uuidPattern.test(taskId)) return empty;
  const result = await database.query<UsageRow>(
    `SELECT provider, model,
            count(*)::int AS calls,
            count(*) FILTER (WHERE cache_hit)::int AS cached_calls,
            count(*) FILTER (WHERE error IS NOT NULL)::int AS failed_calls,
            coalesce(sum(input_tokens), 0)::int AS input_tokens,
            coalesce(sum(output_tokens), 0)::int AS output_tokens,
            sum(cost_usd)::text AS cost_usd,
            bool_or(cost_usd IS NULL) AS unpriced
       FROM llm_calls WHERE task_id = $1
      GROUP BY provider, model
      ORDER BY provider, model`,
    [taskId],
  );
  const usage = empty;
  for (const row of result.rows) {
    const cost = row.unpriced ? null : Number(row.cost_usd ?? 0);
    usage.byModel[`${row.provider}:${row.model}`] = {
      calls: row.calls,
      cachedCalls: row.cached_calls,
      failedCalls: row.failed_calls,
      inputTokens: row.input_tokens,
      outputTokens: row.output_tokens,
      costUsd: cost,
    };
    usage.calls += row.calls;
    usage.cachedCalls += row.cached_calls;
    usage.failedCalls += row.failed_calls;
    usage.inputTokens += row.input_tokens;
    usage.outputTokens += row.output_tokens;
    usage.costUsd = usage.costUsd === null || cost === null ? null : usage.costUsd + cost;
  }
  return usage;
}
