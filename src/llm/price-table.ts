/**
 * The optional price table (TASKLOOM_LLM_PRICES): USD per million tokens by model id, given as
 * JSON or as a path to a JSON file. Entries may name one model (`openrouter:anthropic/claude-sonnet-4.5`)
 * or a whole provider (`groq:*`). Offline models are always free.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

const priceSchema = z.object({ inputPerMillion: z.number().nonnegative(), outputPerMillion: z.number().nonnegative() });
const tableSchema = z.record(z.string().min(1), priceSchema);

export type Price = z.infer<typeof priceSchema>;

export interface PriceTable {
  /** Cost in USD of the tokens, or null when the model has no price. */
  cost(provider: string, model: string, inputTokens: number, outputTokens: number): number | null;
}

export function parsePriceTable(value: string | undefined): PriceTable {
  let entries: Record<string, Price> = {};
  if (value && value.trim() !== '') {
    const trimmed = value.trim();
    let text = trimmed;
    if (!trimmed.startsWith('{')) {
      try {
        text = readFileSync(trimmed, 'utf8');
      } catch (error) {
        throw new ConfigError(`TASKLOOM_LLM_PRICES: cannot read price table file ${trimmed} (${(error as Error).message}). Give JSON or a readable path.`);
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`TASKLOOM_LLM_PRICES is not valid JSON (${(error as Error).message}). Expected {"provider:model": {"inputPerMillion": 3, "outputPerMillion": 15}}.`);
    }
    const result = tableSchema.safeParse(parsed);
    if (!result.success) {
      throw new ConfigError(`TASKLOOM_LLM_PRICES is invalid: ${result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}. Expected {"provider:model": {"inputPerMillion": 3, "outputPerMillion": 15}}.`);
    }
    entries = result.data;
  }
  return {
    cost(provider, model, inputTokens, outputTokens) {
      if (provider === 'offline') return 0;
      const price = entries[`${provider}:${model}`] ?? entries[`${provider}:*`];
      if (!price) return inputTokens === 0 && outputTokens === 0 ? 0 : null;
      return (inputTokens * price.inputPerMillion + outputTokens * price.outputPerMillion) / 1_000_000;
    },
  };
}
