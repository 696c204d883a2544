/**
 * What a script sees from the read commands: stdout carries only what was asked and parses as
 * JSON with --json; stderr stays empty at the default log level (no provider or start-up chatter);
 * an unreachable database is one `error [code]: message` line and a hint, never a stack trace.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { freePort } from '../db/postmasters.ts';

let database: TestDatabase;
let taskId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const submitted = await taskloom(['submit', 'sleep', '--data', '{"ms":0}', '--project', 'json-check']);
  taskId = (JSON.parse(submitted.stdout) as { task_id: string }).task_id;
});

afterAll(async () => {
  await database?.drop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** One command with stdout and stderr kept apart; LOG_LEVEL unset, as a newcomer runs it. */
function taskloom(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const environment: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: database.url, ...env };
  delete environment.LOG_LEVEL;
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/taskloom.js', ...args], { env: environment }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

it('read commands print parseable JSON on stdout and nothing on stderr', async () => {
  const runs = {
    tasks: await taskloom(['tasks', '--json']),
    status: await taskloom(['status', taskId]),
    types: await taskloom(['types', '--json']),
    keys: await taskloom(['keys', 'list', '--json']),
  };
  for (const [name, run] of Object.entries(runs)) {
    expect({ name, code: run.code, stderr: run.stderr }).toEqual({ name, code: 0, stderr: '' });
    expect(() => JSON.parse(run.stdout), `${name}: ${run.stdout}`).not.toThrow();
  }
  expect((JSON.parse(runs.tasks.stdout) as { tasks: Array<{ id: string }> }).tasks.map((task) => task.id)).toContain(taskId);
  expect(JSON.parse(runs.status.stdout)).toMatchObject({ id: taskId, project_id: 'json-check' });
  expect((JSON.parse(runs.types.stdout) as Array<{ type: string }>).map((entry) => entry.type)).toContain('sleep');
  expect(JSON.parse(runs.keys.stdout)).toEqual([]);
});

it('an unreachable database is an error line with a hint, exit 1, no stack trace', async () => {
  const run = await taskloom(['tasks'], { DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/nowhere` });
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error \[dependency_failed\]: cannot use the database at 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  expect(lines[1]).toMatch(/^ {2}hint: /);
  expect(lines).toHaveLength(2);
  expect(run.stderr).not.toMatch(/\n\s+at /);
});

it('migrate names the migrations it applied to a new database, and then says it is up to date', async () => {
  const fresh = await createTestDatabase({ migrate: false });
  try {
    const first = await taskloom(['migrate'], { DATABASE_URL: fresh.url });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^applied: 0001_tasks/);
    const second = await taskloom(['migrate'], { DATABASE_URL: fresh.url });
    expect(second.stdout).toBe('database is up to date\n');
  } finally {
    await fresh.drop();
  }
});
