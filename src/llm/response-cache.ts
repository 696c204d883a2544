/**
 * The content-addressed response cache in `llm_cache`. The key is a SHA-256 of the model id, the
 * JSON schema, the instructions and the prompt, so any change to any of them is a miss. Only
 * outputs that passed schema validation are stored, and a hit is validated again before use.
 * Combined with checkpointed steps, a resumed task spends no tokens twice.
 */
import type { Queryable } from '../db/pool.ts';
import { sha256 } from './deterministic-random.ts';

/** JSON with object keys sorted, so equal schemas hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, entry]) => entry !== undefined).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Bump when the meaning of cached entries changes (e.g. the offline model's output). */
const cacheVersion = 1;

export function responseCacheKey(parts: { model: string; jsonSchema: unknown; instructions: string; prompt: string }): string {
  return sha256(canonicalJson({ version: cacheVersion, model: parts.model, schema: parts.jsonSchema, instructions: parts.instructions, prompt: parts.prompt }));
}

export interface CachedResponse {
  response: unknown;
  inputTokens: number;
  outputTokens: number;
}

export async function readCachedResponse(database: Queryable, key: string): Promise<CachedResponse | undefined> {
  const result = await database.query<{ response: unknown; input_tokens: number; output_tokens: number }>(
    `UPDATE llm_cache SET hits = hits + 1, last_hit_at = now() WHERE key = $1 RETURNING response, input_tokens, output_tokens`,
    [key],
  );
  const row = result.rows[0];
  return row ? { response: row.response, inputTokens: row.input_tokens, outputTokens: row.output_tokens } : undefined;
}

export async function writeCachedResponse(database: Queryable, key: string, model: string, entry: CachedResponse): Promise<void> {
  await database.query(
    `INSERT INTO llm_cache (key, model, response, input_tokens, output_tokens) VALUES ($1, $2, $3::jsonb, $4, $5)
     ON CONFLICT (key) DO UPDATE SET response = excluded.response, input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens`,
    [key, model, JSON.stringify(entry.response), Math.round(entry.inputTokens), Math.round(entry.outputTokens)],
  );
}

export async function deleteCachedResponse(database: Queryable, key: string): Promise<void> {
  await database.query('DELETE FROM llm_cache WHERE key = $1', [key]);
}
