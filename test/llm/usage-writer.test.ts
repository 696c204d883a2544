/**
 * The background writer of llm_calls rows: rows queued together are written together, in the
 * order they were queued; a row that breaks its batch is written alone and dropped, never taking
 * the others with it; `written()` waits for what was queued before it and no more.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import type { LlmCallRow } from '../../src/llm/usage-store.ts';
import { UsageWriter } from '../../src/llm/usage-writer.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
const warnings: unknown[] = [];
const logger = createLogger('silent');
logger.warn = ((object: unknown) => { warnings.push(object); }) as typeof logger.warn;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const taskId = '3f6d2c1e-8a4b-4c7d-9e0f-1a2b3c4d5e6f';
const call = (step: string, purpose: LlmCallRow['purpose'] = 'generation'): LlmCallRow => ({
  taskId, step, purpose, provider: 'mock', model: 'writer', inputTokens: 10, outputTokens: 5, latencyMs: 120, cacheHit: false, attempt: 1, costUsd: 0.001,
});

/** How many transactions wrote the task's rows as they are now (a row's xmin is its writer's). */
const writers = async (stepLike: string): Promise<number> =>
  (await database.pool.query<{ count: number }>('SELECT count(DISTINCT xmin::text)::int AS count FROM llm_calls WHERE task_id = $1 AND step LIKE $2', [taskId, stepLike])).rows[0]!.count;

const rows = async (): Promise<Array<{ step: string; state: string; output_tokens: number }>> =>
  (await database.pool.query('SELECT step, state, output_tokens FROM llm_calls WHERE task_id = $1 ORDER BY id', [taskId])).rows;

it('writes rows queued together in one statement, in the order they were queued, and finishes them in one', async () => {
  const writer = new UsageWriter(database.pool, logger);
  const started = Array.from({ length: 30 }, (_, index) => writer.begin({ taskId, step: `section:${index + 1}`, purpose: 'generation', provider: 'mock', model: 'writer', attempt: 1 }, 60_000));
  writer.record({ ...call('cache'), cacheHit: true });
  await writer.written();
  const ids = await Promise.all(started);
  expect(ids.every((id) => typeof id === 'number')).toBe(true);
  expect([...ids].sort((left, right) => left! - right!)).toEqual(ids);
  expect((await rows()).map((row) => [row.step, row.state])).toEqual([...Array.from({ length: 30 }, (_, index) => [`section:${index + 1}`, 'in_flight']), ['cache', 'finished']]);
  // Queued together, written together: one statement, one commit.
  expect(await writers('%')).toBe(1);

  started.forEach((id, index) => writer.record({ ...call(`section:${index + 1}`), outputTokens: index }, id));
  await writer.idle();
  const finished = await rows();
  expect(finished.filter((row) => row.state === 'finished')).toHaveLength(31);
  expect(finished.slice(0, 30).map((row) => row.output_tokens)).toEqual(Array.from({ length: 30 }, (_, index) => index));
  expect(await writers('section:%')).toBe(1);
});

it('writes the rest of a batch that one bad row would fail, and logs the bad row', async () => {
  await database.pool.query('DELETE FROM llm_calls WHERE task_id = $1', [taskId]);
  const writer = new UsageWriter(database.pool, logger);
  writer.record(call('before'));
  // Not a purpose the table allows: its batch fails, then it fails alone.
  writer.record(call('bad', 'guessing' as LlmCallRow['purpose']));
  writer.record(call('after'));
  await writer.idle();
  expect((await rows()).map((row) => row.step)).toEqual(['before', 'after']);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ provider: 'mock', model: 'writer' });
});
