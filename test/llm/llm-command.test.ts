/**
 * `taskloom llm models` and `taskloom llm try` on the offline model (no keys, real PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { llmCommand } from '../../src/cli/llm-command.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { silentLogger, testConfig } from './helpers.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

async function run(...args: string[]): Promise<string> {
  const output: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const command = llmCommand({
      loadConfig: () => testConfig(),
      // The test database's pool is closed by drop(); the command's close() must not end it early.
      openDatabase: async () => ({ pool: database.pool, close: async () => {} }),
      logger: silentLogger,
    });
    command.exitOverride();
    await command.parseAsync(args, { from: 'user' });
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return output.join('');
}

describe('taskloom llm', () => {
  it('lists models with purpose, configured and reachable columns', async () => {
    const table = await run('models');
    expect(table.split('\n')[0]).toMatch(/^model\s+purpose\s+configured\s+reachable$/);
    expect(table).toMatch(/offline:default\s+generation,judging,research\s+yes\s+yes/);
    expect(table).toMatch(/openrouter:anthropic\/claude-sonnet-4\.5\s+available\s+no\s+-/);
    const json = JSON.parse(await run('models', '--json')) as Array<{ id: string }>;
    expect(json.map((model) => model.id)).toContain('offline:embedding');
  });

  it('tries a prompt and prints the structured answer, then serves it from the cache', async () => {
    const first = JSON.parse(await run('try', '--model', 'offline:default', 'How should we light a rainy alley at night?'));
    expect(first).toMatchObject({ model: 'offline:default', cached: false, offline: true });
    expect(first.object.key_points.length).toBeGreaterThanOrEqual(1);
    const second = JSON.parse(await run('try', '--model', 'offline:default', 'How should we light a rainy alley at night?'));
    expect(second).toMatchObject({ cached: true, object: first.object });
    const embedded = JSON.parse(await run('try', '--embed', 'rainy alley lighting'));
    expect(embedded).toMatchObject({ model: 'offline:embedding', dimensions: 256 });
    expect(embedded.norm).toBeCloseTo(1, 6);
  });

  it('prints the similarity of two texts and the gather\'s verdict at the model\'s own threshold', async () => {
    const a = 'Collect reference photos of the Agrabah marketplace';
    const b = 'Gather reference images of the bazaar in Agrabah';
    const text = await run('similarity', a, b);
    expect(text).toMatch(/^cosine {5}0\.\d{4}$/m);
    expect(text).toMatch(/^model {6}offline:embedding \(glove-100d-100k-v1, 256 dimensions\)$/m);
    expect(text).toMatch(/^threshold {2}0\.75 \(measured by bench:dedup/m);
    expect(text).toMatch(/^verdict {4}duplicate: the gather would drop the second text$/m);
    const vectors = JSON.parse(await run('similarity', '--json', a, b));
    expect(vectors).toMatchObject({ model: 'offline:embedding', version: 'glove-100d-100k-v1', dimensions: 256, threshold: 0.75, duplicate: true });
    // The n-gram embedding sees the spelling: the same pair, a different verdict at its own threshold.
    const hashed = JSON.parse(await run('similarity', '--json', '--model', 'offline:embedding-hashed', a, b));
    expect(hashed).toMatchObject({ model: 'offline:embedding-hashed', version: 'hashed-ngrams-1024-v1', dimensions: 1024, threshold: 0.55, duplicate: false });
    expect(hashed.cosine).toBeLessThan(vectors.cosine);
    const unrelated = JSON.parse(await run('similarity', '--json', a, 'Reduce the monthly advertising budget by twenty percent.'));
    expect(unrelated.duplicate).toBe(false);
    expect(unrelated.cosine).toBeLessThan(0.3);
  });
});
