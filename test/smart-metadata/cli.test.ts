/**
 * `taskloom projects` as a real process on a test database (no provider key: the offline
 * analyser answers), with a worker in this process: create from flags and files, list, show,
 * generate-metadata (--wait, then the seed's "already exists" without --force), backfill.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { smartMetadataTaskTypes } from '../../src/pipelines/smart-metadata/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, testLogger } from '../support/engine.ts';
import { spawnNode } from '../support/processes.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';
import { metadataConfig, metadataGateway } from './helpers.ts';

let database: TestDatabase;
let engine: Engine;
let folder: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = metadataConfig();
  engine = await startTestEngine(database, smartMetadataTaskTypes({ config, pool: database.pool, logger: testLogger, llm: metadataGateway(database, config) }, { schedules: false }));
  await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
  folder = await mkdtemp(path.join(os.tmpdir(), 'taskloom-projects-'));
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

async function taskloom(...args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawnNode('bin/taskloom.js', ['projects', ...args], { env: { DATABASE_URL: database.url, LOG_LEVEL: 'warn', OPENROUTER_API_KEY: '', OPENAI_API_KEY: '' } });
  const code = await child.exited;
  return { code, output: child.output() };
}

const jsonOf = (output: string): any => JSON.parse(output.slice(output.indexOf('{')));

it('creates, lists, shows and generates metadata from the command line', async () => {
  const notes = path.join(folder, 'backpropagation_notes.txt');
  await writeFile(notes, neuralNetworksBody.files[0]!.extracted_text);
  const created = await taskloom('create', '--name', 'Neural Networks in Python', '--type', 'self_study', '--goal', neuralNetworksBody.goal_description!, '--frequency', 'weekly', '--file', notes, '--date', 'Demo=2026-03-01');
  expect(created.code, created.output).toBe(0);
  const project = jsonOf(created.output);
  expect(project).toMatchObject({ name: 'Neural Networks in Python', files: [{ name: 'backpropagation_notes.txt' }], important_dates: [{ title: 'Demo', date: '2026-03-01' }], meta: {} });

  const generated = await taskloom('generate-metadata', project.id, '--wait');
  expect(generated.code, generated.output).toBe(0);
  const lines = generated.output.trim().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  expect(lines.at(-1)).toMatchObject({ status: 'completed', result: { status: 'generated', metadata: { model_used: 'offline:extractive' } } });

  const again = await taskloom('generate-metadata', project.id);
  expect(jsonOf(again.output)).toEqual({ message: 'Metadata already exists. Use --force to regenerate.', project_id: project.id, existing_metadata: true });

  const shown = jsonOf((await taskloom('show', project.id)).output);
  expect(shown.ai_generated_tags).toEqual(expect.arrayContaining(['python', 'neural-networks']));
  const listed = await taskloom('list');
  expect(listed.output).toContain(`${project.id}  self_study`);
  expect(listed.output).toContain('neural-networks');

  const invalid = await taskloom('create', '--name', 'x', '--type', 'university');
  expect(invalid.code).toBe(1);
  expect(invalid.output).toContain('project_type');
  // An id as typed that is no uuid names no project; a binary file is refused by name.
  for (const command of ['show', 'generate-metadata']) {
    const unknown = await taskloom(command, 'not-a-uuid');
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/Project not-a-uuid .*not found|not found.*not-a-uuid/i);
    expect(unknown.output).not.toContain('invalid input syntax');
  }
  const binary = path.join(folder, 'slides.pdf');
  await writeFile(binary, Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0x01, 0x02]));
  const refused = await taskloom('create', '--name', 'Slides', '--type', 'self_study', '--file', binary);
  expect(refused.code).toBe(1);
  expect(refused.output).toContain(`--file ${binary}: not a text file`);
  const absent = path.join(folder, 'notes-never-written.txt');
  const unread = await taskloom('create', '--name', 'Absent', '--type', 'self_study', '--file', absent);
  expect(unread.code).toBe(1);
  expect(unread.output).toContain(`error [validation_failed]: --file ${absent}: no such file`);
}, 90_000);

it('refuses a NUL character or a lone surrogate in any field with a validation error naming it, as the API does, and writes nothing', async () => {
  const projectsBefore = (await database.pool.query('SELECT count(*)::int AS count FROM projects')).rows[0].count;
  const cases: Array<[string, Record<string, unknown>]> = [
    ['name', { name: 'a\u0000b', project_type: 'self_study' }],
    ['goal_description', { name: 'x', project_type: 'self_study', goal_description: 'half a pair \ud800 here' }],
    ['files.0.extracted_text', { name: 'x', project_type: 'self_study', files: [{ name: 'notes.txt', extracted_text: 'binary\u0000text' }] }],
    ['important_dates.0.title', { name: 'x', project_type: 'self_study', important_dates: [{ title: 'Exam\udfff', date: '2026-06-01' }] }],
  ];
  for (const [field, body] of cases) {
    // JSON.stringify writes the NUL and the lone surrogate as \u escapes, as a user would type them.
    const refused = await taskloom('create', '--data', JSON.stringify(body));
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toContain(`error [validation_failed]: Invalid project: ${field}: strings may not contain NUL characters or unpaired surrogates`);
    expect(refused.output).not.toMatch(/internal_error|invalid byte sequence|unsupported Unicode escape/);
  }
  expect((await database.pool.query('SELECT count(*)::int AS count FROM projects')).rows[0].count).toBe(projectsBefore);
}, 90_000);

it('runs the back-fill now', async () => {
  const backfill = await taskloom('backfill', '--min-age-minutes', '0', '--wait');
  expect(backfill.code, backfill.output).toBe(0);
  const last = backfill.output.trim().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)).at(-1);
  expect(last).toMatchObject({ status: 'completed', result: { status: 'completed', failed: 0 } });
}, 60_000);
