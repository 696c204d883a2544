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
    expect(embedded).toMatchObject({ model: 'offline:embedding', dimensions: 1024 });
    expect(embedded.norm).toBeCloseTo(1, 6);
  });
});
