/**
 * The `llm_calls` table: one row per provider request (successful or not, or cut off by a
 * crash) and per cache hit, and the per-task totals read back from it.
 */
import type { Queryable } from '../db/pool.ts';
import { isUuid } from '../db/sql.ts';

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

/** A non-uuid task id (a CLI label) is kept out of the uuid column rather than failing the call. */
function taskIdColumn(taskId: string | undefined): string | null {
  return taskId !== undefined && isUuid(taskId) ? taskId : null;
}

/** What is known of a provider request when it starts. */
export type StartedLlmCall = Pick<LlmCallRow, 'taskId' | 'step' | 'purpose' | 'provider' | 'model' | 'attempt'>;

/** The row of a request that cannot still be running by then is swept; the margin covers the finishing write. */
const deadlineMarginMs = 10_000;

/**
 * A row to insert: a request that is starting (`timeoutMs` given: state in_flight, swept to
 * interrupted after its deadline unless finished), or a finished call in one row (cache hits,
 * and requests whose start could not be recorded).
 */
export type NewLlmCall = { started: StartedLlmCall; timeoutMs: number } | { finished: LlmCallRow };

const rounded = (value: number): number => Math.max(0, Math.round(value));

/** Inserts rows in one statement, in the order given; returns their ids in that order. */
export async function insertLlmCalls(database: Queryable, calls: NewLlmCall[]): Promise<number[]> {
  if (calls.length === 0) return [];
  const column = <T>(pick: (call: NewLlmCall) => T): T[] => calls.map(pick);
  const row = (call: NewLlmCall): StartedLlmCall & Partial<LlmCallRow> => ('started' in call ? call.started : call.finished);
  const result = await database.query<{ id: string }>(
    `INSERT INTO llm_calls (task_id, step, purpose, provider, model, input_tokens, output_tokens, latency_ms, cache_hit, attempt, cost_usd, error_code, error, state, deadline_at)
     SELECT task_id, step, purpose, provider, model, input_tokens, output_tokens, latency_ms, cache_hit, attempt, cost_usd, error_code, error,
            CASE WHEN deadline_ms IS NULL THEN 'finished' ELSE 'in_flight' END,
            CASE WHEN deadline_ms IS NULL THEN NULL ELSE now() + make_interval(secs => deadline_ms / 1000) END
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::boolean[], $10::int[], $11::numeric[], $12::text[], $13::text[], $14::float8[])
       WITH ORDINALITY AS call (task_id, step, purpose, provider, model, input_tokens, output_tokens, latency_ms, cache_hit, attempt, cost_usd, error_code, error, deadline_ms, position)
     ORDER BY position
     RETURNING id`,
    [
      column((call) => taskIdColumn(row(call).taskId)),
      column((call) => row(call).step ?? null),
      column((call) => row(call).purpose),
      column((call) => row(call).provider),
      column((call) => row(call).model),
      column((call) => rounded(row(call).inputTokens ?? 0)),
      column((call) => rounded(row(call).outputTokens ?? 0)),
      column((call) => rounded(row(call).latencyMs ?? 0)),
      column((call) => row(call).cacheHit ?? false),
      column((call) => row(call).attempt),
      column((call) => row(call).costUsd ?? null),
      column((call) => row(call).errorCode ?? null),
      column((call) => row(call).error ?? null),
      column((call) => ('started' in call ? call.timeoutMs + deadlineMarginMs : null)),
    ],
  );
  // The sequence hands out ids in insertion order, which ORDER BY position fixed.
  return result.rows.map((inserted) => Number(inserted.id)).sort((left, right) => left - right);
}

/** Completes rows insertLlmCalls wrote as in_flight, in one statement. */
export async function finishLlmCalls(database: Queryable, calls: Array<{ id: number; row: LlmCallRow }>): Promise<void> {
  if (calls.length === 0) return;
  await database.query(
    `UPDATE llm_calls SET input_tokens = call.input_tokens, output_tokens = call.output_tokens, latency_ms = call.latency_ms, cost_usd = call.cost_usd,
       error_code = call.error_code, error = call.error, state = 'finished'
     FROM unnest($1::bigint[], $2::int[], $3::int[], $4::int[], $5::numeric[], $6::text[], $7::text[]) AS call (id, input_tokens, output_tokens, latency_ms, cost_usd, error_code, error)
     WHERE llm_calls.id = call.id`,
    [
      calls.map((call) => call.id),
      calls.map((call) => rounded(call.row.inputTokens)),
      calls.map((call) => rounded(call.row.outputTokens)),
      calls.map((call) => rounded(call.row.latencyMs)),
      calls.map((call) => call.row.costUsd),
      calls.map((call) => call.row.errorCode ?? null),
      calls.map((call) => call.row.error ?? null),
    ],
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
  /** Keyed by the calls' step (`''` for calls made outside a step). */
  byStep: Record<string, ModelUsage>;
}

interface UsageRow {
  provider: string;
  model: string;
  step: string;
  calls: number;
  cached_calls: number;
  failed_calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string | null;
  unpriced: boolean;
}

/**
 * The task's usage, and how many of its rows are still in flight past their deadline (their
 * process died mid-request: `sweepInterruptedLlmCalls` marks them).
 */
export async function usageForTask(database: Queryable, taskId: string): Promise<{ usage: TaskUsage; lapsed: number }> {
  const empty: TaskUsage = { calls: 0, cachedCalls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, byModel: {}, byStep: {} };
  if (!isUuid(taskId)) return { usage: empty, lapsed: 0 };
  const result = await database.query<UsageRow & { lapsed: number }>(
    `SELECT provider, model, coalesce(step, '') AS step,
            count(*) FILTER (WHERE state = 'in_flight' AND deadline_at < now())::int AS lapsed,
            count(*)::int AS calls,
            count(*) FILTER (WHERE cache_hit)::int AS cached_calls,
            count(*) FILTER (WHERE error IS NOT NULL)::int AS failed_calls,
            coalesce(sum(input_tokens), 0)::int AS input_tokens,
            coalesce(sum(output_tokens), 0)::int AS output_tokens,
            sum(cost_usd)::text AS cost_usd,
            bool_or(cost_usd IS NULL) AS unpriced
       FROM llm_calls WHERE task_id = $1
      GROUP BY provider, model, coalesce(step, '')
      ORDER BY provider, model, step`,
    [taskId],
  );
  const usage = empty;
  let lapsed = 0;
  const addTo = (total: ModelUsage, row: UsageRow, cost: number | null): void => {
    total.calls += row.calls;
    total.cachedCalls += row.cached_calls;
    total.failedCalls += row.failed_calls;
    total.inputTokens += row.input_tokens;
    total.outputTokens += row.output_tokens;
    total.costUsd = total.costUsd === null || cost === null ? null : total.costUsd + cost;
  };
  const zero = (): ModelUsage => ({ calls: 0, cachedCalls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
  for (const row of result.rows) {
    const cost = row.unpriced ? null : Number(row.cost_usd ?? 0);
    addTo(usage.byModel[`${row.provider}:${row.model}`] ??= zero(), row, cost);
    addTo(usage.byStep[row.step] ??= zero(), row, cost);
    addTo(usage, row, cost);
    lapsed += row.lapsed;
  }
  return { usage, lapsed };
}
