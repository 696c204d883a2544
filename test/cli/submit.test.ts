import { execFile } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine } from '../support/engine.ts';
import { spawnNode } from '../support/processes.ts';

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [sleepTask]);
  await engine.startWorker({ concurrency: 2 });
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

function taskloom(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnNode('bin/taskloom.js', args, { env: { DATABASE_URL: database.url, LOG_LEVEL: 'warn', ...env } });
}

it('submit --wait prints the task and its events as JSON lines off a terminal, and exits 0 on completion', async () => {
  const child = taskloom(['submit', 'sleep', '--data', '{"ms":300,"steps":3}', '--project', 'demo', '--wait']);
  expect(await child.exited).toBe(0);
  const lines = child.output().trim().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines[0]).toMatchObject({ status: 'queued', created: true });
  const events = lines.slice(1);
  expect(events.map((event) => event.type)).toEqual(['task_queued', 'task_started', 'task_progress', 'task_progress', 'task_progress', 'task_completed']);
  expect(events.every((event) => event.task_id === lines[0]!.task_id && event.project_id === 'demo')).toBe(true);
  const task = await engine.getTask(lines[0]!.task_id as string);
  expect(task.status).toBe('completed');
}, 60_000);

it('status, tasks and cancel work from the command line', async () => {
  const { task } = await engine.submit({ taskType: 'sleep', input: { ms: 0 } });
  const status = taskloom(['status', task.id]);
  expect(await status.exited).toBe(0);
  // The API's shape: task_id and task_data, no internal column.
  const shown = JSON.parse(status.output().slice(status.output().indexOf('{'))) as Record<string, unknown>;
  expect(shown).toMatchObject({ task_id: task.id, id: task.id, task_data: { ms: 0 } });
  expect(shown).not.toHaveProperty('lease');
  const list = taskloom(['tasks', '--type', 'sleep', '--json']);
  expect(await list.exited).toBe(0);
  const page = JSON.parse(list.output().slice(list.output().indexOf('{'))) as { tasks: Array<{ id: string }> };
  expect(page.tasks.map((each) => each.id)).toContain(task.id);
  // Page by page, as the API does.
  const first = taskloom(['tasks', '--type', 'sleep', '--limit', '1', '--json']);
  expect(await first.exited).toBe(0);
  const firstPage = JSON.parse(first.output().slice(first.output().indexOf('{'))) as { tasks: Array<{ task_id: string }>; next_cursor: string };
  expect(firstPage.next_cursor).toEqual(expect.any(String));
  const second = taskloom(['tasks', '--type', 'sleep', '--limit', '1', '--json', '--cursor', firstPage.next_cursor]);
  expect(await second.exited).toBe(0);
  const secondPage = JSON.parse(second.output().slice(second.output().indexOf('{'))) as { tasks: Array<{ task_id: string }> };
  expect(secondPage.tasks).toHaveLength(1);
  expect(secondPage.tasks[0]!.task_id).not.toBe(firstPage.tasks[0]!.task_id);
  const badCursor = taskloom(['tasks', '--cursor', 'not-a-cursor']);
  expect(await badCursor.exited).toBe(1);
  expect(badCursor.output()).toContain('--cursor');
  const cancel = taskloom(['cancel', task.id]);
  expect(await cancel.exited).toBe(0);
  expect(cancel.output()).toContain('"task_id"');
}, 60_000);

it('tasks --type takes a task type\'s alias, the seeds\' name for it', async () => {
  // A task stored under a type that has an alias (generate_missing_metadata_nightly): the row is
  // all the listing reads, so a finished sleep task renamed stands in for one.
  const { task } = await engine.submit({ taskType: 'sleep', input: { ms: 0 } });
  await database.pool.query(`UPDATE tasks SET task_type = 'generate_missing_metadata' WHERE id = $1`, [task.id]);
  const list = taskloom(['tasks', '--type', 'generate_missing_metadata_nightly', '--json']);
  expect(await list.exited).toBe(0);
  const page = JSON.parse(list.output().slice(list.output().indexOf('{'))) as { tasks: Array<{ id: string }> };
  expect(page.tasks.map((each) => each.id)).toContain(task.id);
}, 60_000);

it('explains bad input and bad configuration, writing nothing', async () => {
  const before = (await database.pool.query('SELECT 1 FROM tasks')).rowCount;
  const invalid = taskloom(['submit', 'sleep', '--data', '{"ms":-5}']);
  expect(await invalid.exited).toBe(1);
  expect(invalid.output()).toContain('error [validation_failed]');
  expect(invalid.output()).toContain('ms');
  const unknown = taskloom(['submit', 'no_such_task']);
  expect(await unknown.exited).toBe(1);
  expect(unknown.output()).toContain('Valid task types');
  const notJson = taskloom(['submit', 'sleep', '--data', '{ms:1}']);
  expect(await notJson.exited).toBe(1);
  expect(notJson.output()).toContain('--data must be JSON');
  // What PostgreSQL cannot store is refused by the option, naming where, as the API refuses it.
  const withNul = taskloom(['submit', 'sleep', '--data', '{"ms":1,"note":"a\\u0000b"}']);
  expect(await withNul.exited).toBe(1);
  expect(withNul.output()).toContain('--data: note: strings may not contain NUL characters');
  expect(withNul.output()).not.toContain('internal_error');
  expect((await database.pool.query('SELECT 1 FROM tasks')).rowCount).toBe(before);
  const badConfig = taskloom(['tasks'], { TASKLOOM_WORKER_CONCURRENCY: 'lots' });
  expect(await badConfig.exited).toBe(2);
  expect(badConfig.output()).toContain('TASKLOOM_WORKER_CONCURRENCY="lots" is invalid');
  // Every command, one that reads none of the configuration too (`types` listed and exited 0).
  for (const command of [['tasks'], ['types']]) {
    const badLogLevel = taskloom(command, { LOG_LEVEL: 'loud' });
    expect(await badLogLevel.exited, command.join(' ')).toBe(2);
    expect(badLogLevel.output()).toContain('LOG_LEVEL="loud" is invalid');
  }
  // A queue name's typo stops a worker at once, naming the variable (it used to exit silently).
  const badQueues = taskloom(['worker'], { TASKLOOM_QUEUES: 'defualt' });
  expect(await badQueues.exited).toBe(2);
  expect(badQueues.output()).toContain('TASKLOOM_QUEUES="defualt" is invalid: unknown queue(s) defualt; valid queues:');
  // A default model no provider here serves stops the worker at start-up, naming the setting: it
  // used to crash it with a stack trace while the providers loaded.
  for (const [variable, model, reason] of [['TASKLOOM_LLM_GENERATION_MODEL', 'gpt-4o', 'names no provider'], ['TASKLOOM_LLM_EMBEDDING_MODEL', 'openai:text-embedding-3-small', 'set OPENAI_API_KEY']] as const) {
    const badModel = taskloom(['worker'], { [variable]: model, OPENAI_API_KEY: '' });
    expect(await badModel.exited, badModel.output()).toBe(2);
    expect(badModel.output()).toContain(`error [config_invalid]: ${variable}: Model "${model}"`);
    expect(badModel.output()).toContain(reason);
    expect(badModel.output()).not.toContain('model-resolver.ts');
  }
  // Numbers that are not numbers, or out of range, are refused by the option, before any SQL.
  // So are a tenant no API key could act for (its tasks were written and never seen again) and an
  // idempotency key the API refuses (one of 6,000 characters reached the index: internal_error).
  for (const [args, option] of [
    [['tasks', '--limit', 'abc'], '--limit'], [['tasks', '--limit', '-5'], '--limit'], [['submit', 'sleep', '--priority', '500'], '--priority'],
    [['watch', '00000000-0000-4000-8000-000000000000', '--after', 'x'], '--after'],
    [['submit', 'sleep', '--tenant', 'bad name!'], '--tenant'], [['tasks', '--tenant', ''], '--tenant'], [['gather', 'start', '--project', 'p', '--tenant', 'x/y'], '--tenant'],
    [['submit', 'sleep', '--idempotency-key', 'k'.repeat(6000)], '--idempotency-key'], [['submit', 'sleep', '--idempotency-key', ''], '--idempotency-key'],
  ] as const) {
    const refused = taskloom([...args]);
    expect(await refused.exited, args.join(' ')).toBe(1);
    expect(refused.output()).toContain(`option '${option} <`);
    expect(refused.output()).not.toContain('internal_error');
  }
  expect((await database.pool.query('SELECT 1 FROM tasks')).rowCount).toBe(before);
}, 60_000);

it('carries --project into the input as the API does with project_id, and refuses an input naming another project', async () => {
  // A gather's input requires project_id: --project alone is enough, as project_id is over HTTP.
  const given = taskloom(['submit', 'automated_gather_creation', '--project', 'aladdin', '--data', '{"max_iterations":1,"enable_auto_evaluation":false}']);
  expect(await given.exited, given.output()).toBe(0);
  const { task_id: taskId } = JSON.parse(given.output().slice(given.output().indexOf('{'))) as { task_id: string };
  const row = (await database.pool.query<{ project_id: string; input: { project_id: string } }>('SELECT project_id, input FROM tasks WHERE id = $1', [taskId])).rows[0]!;
  expect(row).toMatchObject({ project_id: 'aladdin', input: { project_id: 'aladdin' } });
  await engine.cancel(taskId);
  // Filed under one project while working for another: refused, nothing written.
  const before = (await database.pool.query('SELECT 1 FROM tasks')).rowCount;
  const conflicting = taskloom(['submit', 'automated_gather_creation', '--project', 'A', '--data', '{"project_id":"B"}']);
  expect(await conflicting.exited).toBe(1);
  expect(conflicting.output()).toContain('--data project_id ("B") differs from --project ("A")');
  expect((await database.pool.query('SELECT 1 FROM tasks')).rowCount).toBe(before);
}, 60_000);

it('watch replays a finished task from --after and exits, also when nothing is left to show', async () => {
  const { task } = await engine.submit({ taskType: 'sleep', input: { ms: 0 } });
  const events = await (async () => {
    for (;;) {
      const stored = await engine.readEvents({ taskId: task.id });
      if (stored.some((event) => event.type === 'task_completed')) return stored;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const fromStart = taskloom(['watch', task.id]);
  expect(await fromStart.exited).toBe(0);
  expect(fromStart.output()).toContain('task_completed');
  const pastTheEnd = taskloom(['watch', task.id, '--after', String(events.at(-1)!.id)]);
  expect(await pastTheEnd.exited).toBe(0);
  expect(pastTheEnd.output()).not.toContain('task_started');
}, 60_000);

it('db psql passes a SIGTERM on to psql and exits as psql did, also when a signal ended it', async () => {
  const psqlOf = async (wrapper: number): Promise<number> => {
    for (let tries = 0; tries < 200; tries += 1) {
      const found = await new Promise<string>((resolve) => execFile('pgrep', ['-P', String(wrapper), 'psql'], (_error, stdout) => resolve(stdout.trim())));
      if (found) return Number(found.split('\n')[0]);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('psql did not start');
  };
  // psql killed: a shell's 128 + 9 (before, 0: the child's code was null).
  const killed = taskloom(['db', 'psql', '--', '-c', 'SELECT pg_sleep(30)']);
  process.kill(await psqlOf(killed.process.pid!), 'SIGKILL');
  expect(await killed.exited, killed.output()).toBe(137);
  // A SIGTERM reaches psql, which ends, and the command exits with its code (before, psql ran on).
  const stopped = taskloom(['db', 'psql', '--', '-c', 'SELECT pg_sleep(30)']);
  const psql = await psqlOf(stopped.process.pid!);
  stopped.process.kill('SIGTERM');
  expect(await stopped.exited, stopped.output()).toBe(143);
  expect(() => process.kill(psql, 0)).toThrow();
}, 30_000);
