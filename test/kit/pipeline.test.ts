/**
 * The pipeline kit: a pipeline's own migrations are applied after the core's, once, under its
 * name; databases made before namespaces keep their history.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { coreMigrations, listMigrations, migrate, migrationsApplied } from '../../src/db/migrate.ts';
import { definePipeline } from '../../src/kit/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const example = definePipeline({
  name: 'example-notes',
  title: 'Example notes',
  migrations: new URL('../fixtures/example-pipeline/migrations/', import.meta.url),
});

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});

afterAll(async () => {
  await database?.drop();
});

it('applies a pipeline\'s migrations after the core\'s, once, recorded under its name', async () => {
  const sources = [coreMigrations, example.migrationSource!];
  const applied = await migrate(database.pool, sources);
  const core = await listMigrations([coreMigrations]);
  expect(applied).toEqual([...core.map((migration) => migration.name), 'example-notes/0001_notes', 'example-notes/0002_note_tags']);
  expect(await migrate(database.pool, sources)).toEqual([]);
  expect(await migrationsApplied(database.pool, sources)).toBe(true);
  await database.pool.query(`INSERT INTO example_notes (tenant, text, tags) VALUES ('default', 'hello', '{a}')`);
  const rows = await database.pool.query<{ namespace: string; version: number }>(`SELECT namespace, version FROM taskloom_migrations WHERE namespace <> 'core' ORDER BY version`);
  expect(rows.rows).toEqual([{ namespace: 'example-notes', version: 1 }, { namespace: 'example-notes', version: 2 }]);
});

it('upgrades a migrations table from before namespaces without re-running anything', async () => {
  const old = await createTestDatabase({ migrate: false });
  try {
    // The table as releases before the kit made it, with the core's history in it.
    await old.pool.query('CREATE TABLE taskloom_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const core = await listMigrations([coreMigrations]);
    for (const migration of core) {
      await old.pool.query(migration.sql);
      await old.pool.query('INSERT INTO taskloom_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    expect(await migrate(old.pool, [coreMigrations, example.migrationSource!])).toEqual(['example-notes/0001_notes', 'example-notes/0002_note_tags']);
  } finally {
    await old.drop();
  }
});

it('refuses a pipeline name that is not kebab-case or is reserved', () => {
  expect(() => definePipeline({ name: 'Smart_Metadata', title: 'x' })).toThrow(/kebab-case/);
  expect(() => definePipeline({ name: 'core', title: 'x' })).toThrow(/reserved/);
});

it('registers a pipeline\'s own queue, which its task types and workers then use', async () => {
  const { defineTask } = await import('../../src/kit/index.ts');
  const { queuePolicy, queueNames } = await import('../../src/engine/index.ts');
  const { z } = await import('zod');
  const { startTestEngine, waitForTask } = await import('../support/engine.ts');
  const report = { type: 'example_report', description: 'a report', queue: 'example_reports' };
  const reports = definePipeline({
    name: 'example-reports',
    title: 'Example reports',
    queues: [{ name: 'example_reports', priority: 7, hardTimeoutMs: 5_000, maxAttempts: 2, retryBaseDelayMs: 10, retryMaxDelayMs: 100 }],
    taskTypes: [report],
    tasks: () => [defineTask({ ...report, input: z.object({}), async run(context) { return { attempts: context.maxAttempts }; } })],
  });
  expect(queuePolicy('example_reports')).toMatchObject({ priority: 7, maxAttempts: 2 });
  expect(queueNames()).toContain('example_reports');
  expect(() => definePipeline({ name: 'example-clash', title: 'x', queues: [{ name: 'default', priority: 1, hardTimeoutMs: 5_000, maxAttempts: 1, retryBaseDelayMs: 0, retryMaxDelayMs: 0 }] })).toThrow(/built in/);
  const queued = await createTestDatabase();
  const engine = await startTestEngine(queued, await reports.tasks({} as never));
  try {
    await engine.startWorker({ concurrency: 1, pollIntervalMs: 200 });
    const { task } = await engine.submit({ taskType: 'example_report', input: {} });
    expect(task.queue).toBe('example_reports');
    const done = await waitForTask(engine, task.id, ['completed', 'failed']);
    expect(done.result).toEqual({ attempts: 2 });
  } finally {
    await engine.stop({ graceMs: 100 });
    await queued.drop();
  }
});

it('builds only the task types a pipeline declares, as it declares them, so `taskloom types` lists what runs', async () => {
  const { defineTask } = await import('../../src/kit/index.ts');
  const { z } = await import('zod');
  const note = { type: 'example_note', description: 'a note', queue: 'default' };
  const build = (definitions: Array<{ type: string; description: string; queue: string; aliases?: string[] }>) => definePipeline({
    name: 'example-declared',
    title: 'Example declared',
    taskTypes: [note],
    // Imported on demand, as the built-in pipelines do.
    tasks: async () => definitions.map((definition) => defineTask({ ...definition, input: z.object({}), async run() { return {}; } })),
  });
  expect(build([note]).taskTypes).toEqual([note]);
  expect((await build([note]).tasks({} as never)).map((definition) => definition.type)).toEqual(['example_note']);
  await expect(build([note, { type: 'example_other', description: 'x', queue: 'default' }]).tasks({} as never)).rejects.toThrow(/"example_other" is built but not declared/);
  await expect(build([{ ...note, queue: 'quick' }]).tasks({} as never)).rejects.toThrow(/"example_note" is built with another queue, description or aliases/);
  await expect(build([{ ...note, aliases: ['example_note_v1'] }]).tasks({} as never)).rejects.toThrow(/"example_note" is built with another queue, description or aliases/);
  await expect(build([]).tasks({} as never)).rejects.toThrow(/"example_note" is declared but not built/);
});
