/**
 * The `llm_usage` block pipelines put in their results: what the task's model calls cost and
 * which models served them, read from `llm_calls` (so it covers every attempt of the task).
 * `models` names the served `provider:model` ids, so a result made by the offline model says so.
 */
import type { LlmGateway, TaskUsage } from '../llm/index.ts';

export interface LlmUsageTotals {
  calls: number;
  cached_calls: number;
  failed_calls: number;
  input_tokens: number;
  output_tokens: number;
  /** null when some tokens were spent on a model without a price. */
  cost_usd: number | null;
  /** `provider:model` of every model that answered or was tried, most calls first. */
  models: string[];
}

export async function llmUsageTotals(llm: LlmGateway, taskId: string): Promise<LlmUsageTotals> {
  // Accounting must not fail the result it is attached to: an unreadable table reads as zero.
  return usageTotals(await llm.usageForTask(taskId).catch(() => undefined));
}

/** The block for usage already read (undefined: it could not be, and reads as zero). */
export function usageTotals(usage: TaskUsage | undefined): LlmUsageTotals {
  const models = Object.entries(usage?.byModel ?? {})
    .sort(([, left], [, right]) => right.calls - left.calls)
    .map(([model]) => model);
  return {
    calls: usage?.calls ?? 0,
    cached_calls: usage?.cachedCalls ?? 0,
    failed_calls: usage?.failedCalls ?? 0,
    input_tokens: usage?.inputTokens ?? 0,
    output_tokens: usage?.outputTokens ?? 0,
    cost_usd: usage ? usage.costUsd : 0,
    models,
  };
}
