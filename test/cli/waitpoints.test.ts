/**
 * `taskloom waitpoints list|complete` against a task waiting in another process.
 */
import { expect, it } from 'vitest';
import { waitForTask, useTestEngine } from '../support/engine.ts';
import { spawnNode } from '../support/processes.ts';

const fixture = useTestEngine({ worker: { concurrency: 2, pollIntervalMs: 200 } });

function taskloom(args: string[]) {
  return spawnNode('bin/taskloom.js', args, { env: { DATABASE_URL: fixture.database.url, LOG_LEVEL: 'warn' } });
}

it('lists a pending approval and completes it; the task resumes; bad payloads exit 1 with the reason', async () => {
  const { task } = await fixture.engine.submit({ taskType: 'test_approval', input: {} });
  await waitForTask(fixture.engine, task.id, ['waiting']);
  const list = taskloom(['waitpoints', 'list', '--status', 'pending', '--task', task.id, '--json']);
  expect(await list.exited).toBe(0);
  const listed = JSON.parse(list.output().slice(list.output().indexOf('['))) as Array<{ id: string; key: string }>;
  expect(listed).toHaveLength(1);
  expect(listed[0]!.key).toBe('approval');

  const bad = taskloom(['waitpoints', 'complete', listed[0]!.id, '--payload', '{"approved":"maybe"}']);
  expect(await bad.exited).toBe(1);
  expect(bad.output()).toContain('error [validation_failed]');

  const complete = taskloom(['waitpoints', 'complete', listed[0]!.id, '--payload', '{"approved":true}', '--as', 'ops']);
  expect(await complete.exited).toBe(0);
  expect(complete.output()).toContain('"status":"completed"');
  const done = await waitForTask(fixture.engine, task.id, ['completed', 'failed']);
  expect(done.result).toEqual({ status: 'completed', payload: { approved: true }, completedBy: 'ops' });
}, 60_000);
