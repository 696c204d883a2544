/**
 * LLM usage read from `llm_calls` (one row per provider request, failed ones included, and per
 * cache hit), for the API: one task's calls with their totals, and a tenant's totals per model
 * since a moment.
 *
 * `llm_calls` has no tenant column and its task_id no foreign key (gateway calls also happen
 * outside tasks), so a tenant's usage is its calls whose task_id is one of the tenant's tasks.
 * Calls made outside any task (`taskloom llm try`) belong to no tenant and are never counted.
 *
 * Costs follow the `llm_usage` convention of task results: a sum is null as soon as one of its
 * calls has no price (the model is missing from TASKLOOM_LLM_PRICES), because a partial sum
 * would understate the spend without saying so.
 */
import type { Queryable } from '../../db/pool.ts';
import { isoTimestamp } from '../../db/sql.ts';
import { sweepInterruptedLlmCalls } from '../../llm/index.ts';

/** At most this many calls are listed for one task (the totals always cover all of them). */
export const taskCallListLimit = 1000;

export interface LlmCallTotals {
  calls: number;
  failed_calls: number;
  cached_calls: number;
  input_tokens: number;
  output_tokens: number;
  /** USD; null when some call of the set has no price. */
  cost_usd: number | null;
}

export interface LlmCallView {
  id: number;
  step: string | null;
  purpose: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  latency_ms: number;
  cache_hit: boolean;
  attempt: number;
  /** USD; null when the model has no price. */
  cost_usd: number | null;
  /** null on success (the cause itself is not shown: it may name internal provider hosts). */
  error_code: string | null;
  /** `in_flight` while the request runs, `interrupted` when its process died mid-request (error_code `llm_interrupted`). */
  state: 'in_flight' | 'finished' | 'interrupted';
  created_at: string;
}

export interface TaskLlmCalls {
  task_id: string;
  /** Oldest first; the newest `taskCallListLimit` when there are more (then `truncated`). */
  calls: LlmCallView[];
  truncated: boolean;
  totals: LlmCallTotals;
}

export interface ModelUsageView {
  /** `provider:model`, as TASKLOOM_LLM_* settings name models. */
  model: string;
  calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
}

export interface TenantLlmUsage {
  since: string;
  totals: LlmCallTotals;
  /** Most tokens first. */
  by_model: ModelUsageView[];
}

interface TotalsRow {
  calls: number;
  failed_calls: number;
  cached_calls: number;
  input_tokens: number;
  output_tokens: number;
  /** numeric arrives as text; summed in SQL to keep its exactness. */
  cost_usd: string | null;
  unpriced: boolean | null;
}

/**
 * The aggregate columns of TotalsRow over llm_calls rows aliased `call`. Sums stay bigint (read
 * as numbers by the pool's int8 parser): a tenant's tokens since a distant `since` can pass 2^31.
 */
const totalsColumns = `
  count(*) AS calls,
  count(*) FILTER (WHERE call.error_code IS NOT NULL OR call.error IS NOT NULL) AS failed_calls,
  count(*) FILTER (WHERE call.cache_hit) AS cached_calls,
  coalesce(sum(call.input_tokens), 0) AS input_tokens,
  coalesce(sum(call.output_tokens), 0) AS output_tokens,
  coalesce(sum(call.cost_usd), 0)::text AS cost_usd,
  bool_or(call.cost_usd IS NULL) AS unpriced`;

function cost(row: Pick<TotalsRow, 'cost_usd' | 'unpriced'>): number | null {
  return row.unpriced === true ? null : Number(row.cost_usd ?? 0);
}

function totalsOf(row: TotalsRow | undefined): LlmCallTotals {
  if (!row) return { calls: 0, failed_calls: 0, cached_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  return { calls: row.calls, failed_calls: row.failed_calls, cached_calls: row.cached_calls, input_tokens: row.input_tokens, output_tokens: row.output_tokens, cost_usd: cost(row) };
}

interface CallRow extends Omit<LlmCallView, 'cost_usd'> {
  cost_usd: string | null;
}

/** The task's calls and totals. The caller has checked that the task is the tenant's. */
export async function taskLlmCalls(database: Queryable, taskId: string): Promise<TaskLlmCalls> {
  await sweepInterruptedLlmCalls(database);
  const calls = await database.query<CallRow>(
    `SELECT * FROM (
       SELECT call.id, call.step, call.purpose, call.provider, call.model, call.input_tokens, call.output_tokens,
              call.latency_ms, call.cache_hit, call.attempt, call.cost_usd::text AS cost_usd, call.error_code, call.state,
              ${isoTimestamp('call.created_at')} AS created_at
         FROM llm_calls AS call
        WHERE call.task_id = $1
        ORDER BY call.id DESC
        LIMIT $2
     ) AS newest ORDER BY id`,
    [taskId, taskCallListLimit + 1],
  );
  const truncated = calls.rows.length > taskCallListLimit;
  const rows = truncated ? calls.rows.slice(1) : calls.rows;
  const totals = await database.query<TotalsRow>(`SELECT ${totalsColumns} FROM llm_calls AS call WHERE call.task_id = $1`, [taskId]);
  return {
    task_id: taskId,
    calls: rows.map((row) => ({ ...row, cost_usd: row.cost_usd === null ? null : Number(row.cost_usd) })),
    truncated,
    totals: totalsOf(totals.rows[0]),
  };
}

interface ModelRow extends TotalsRow {
  /** null on the grand-total row of the grouping sets. */
  provider: string | null;
  model: string | null;
  is_total: boolean;
}

/** The tenant's calls made at or after `since`, in total and per model. */
export async function tenantLlmUsage(database: Queryable, options: { tenant: string; since: Date }): Promise<TenantLlmUsage> {
  await sweepInterruptedLlmCalls(database);
  // Grouping sets give the per-model rows and the grand total in one scan, with the costs
  // summed exactly as numeric rather than as floats here.
  const result = await database.query<ModelRow>(
    `SELECT call.provider, call.model, grouping(call.provider) = 1 AS is_total, ${totalsColumns}
       FROM llm_calls AS call
       JOIN tasks AS task ON task.id = call.task_id
      WHERE task.tenant = $1 AND call.created_at >= $2
      GROUP BY GROUPING SETS ((call.provider, call.model), ())
      ORDER BY is_total, sum(call.input_tokens::bigint + call.output_tokens) DESC, call.provider, call.model`,
    [options.tenant, options.since.toISOString()],
  );
  const total = result.rows.find((row) => row.is_total);
  const byModel = result.rows
    .filter((row) => !row.is_total)
    .map((row): ModelUsageView => ({ model: `${row.provider}:${row.model}`, calls: row.calls, input_tokens: row.input_tokens, output_tokens: row.output_tokens, cost_usd: cost(row) }));
  return { since: options.since.toISOString(), totals: totalsOf(total), by_model: byModel };
}
