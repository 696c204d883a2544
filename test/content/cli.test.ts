/**
 * `taskloom content` as a real process against a database where a worker runs the content task
 * types: a company, a run that waits for the supervisor, decisions from the command line, and the
 * run tree.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForTask } from '../../src/kit/testing.ts';
import { spawnNode } from '../support/processes.ts';
import { startContentHarness, waitForDecisionWait, type ContentHarness } from './helpers.ts';

let harness: ContentHarness;

beforeAll(async () => {
  harness = await startContentHarness();
});

afterAll(async () => {
  await harness?.close();
});

async function taskloom(...args: string[]): Promise<Array<Record<string, any>>> {
  const child = spawnNode('bin/taskloom.js', ['content', ...args, '--tenant', 'alpha'], { env: { DATABASE_URL: harness.db.url, LOG_LEVEL: 'warn' } });
  const code = await child.exited;
  if (code !== 0) throw new Error(`taskloom content ${args.join(' ')} exited ${code}: ${child.output()}`);
  return child.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, any>);
}

it('creates a company, starts a run, approves its topics and posts from the command line, and shows the run', async () => {
  const [company] = await taskloom('companies', 'create', '--name', 'Fjord Bikes', '--website', 'https://fjord-bikes.example', '--plan', 'free');
  expect(company).toMatchObject({ name: 'Fjord Bikes', plan: 'free' });
  expect((await taskloom('companies', 'list')).map((row) => row.id)).toContain(company!.id);

  const [started] = await taskloom('runs', 'start', '--company', company!.id, '--year', '2027', '--month', '4', '--posts', '2', '--auto-select');
  expect(started).toMatchObject({ status: 'queued' });
  const runId = started!.job_id as string;

  await waitForDecisionWait(harness.engine, runId, 'topic');
  const topics = (await taskloom('approvals', 'list', '--company', company!.id)).filter((row) => row.kind === 'topic');
  expect(topics).toHaveLength(2);
  for (const topic of topics) expect((await taskloom('approvals', 'approve', 'topic', topic.id))[0]).toMatchObject({ kind: 'topic', decision: 'approved' });

  await waitForDecisionWait(harness.engine, runId, 'blog_post', 120_000);
  const posts = (await taskloom('approvals', 'list', '--company', company!.id)).filter((row) => row.kind === 'blog_post');
  expect(posts).toHaveLength(2);
  await taskloom('approvals', 'approve', 'blog_post', posts[0]!.id);
  // A rejection needs its reason; with one, the post is rejected and the run moves on without it.
  const missingReason = spawnNode('bin/taskloom.js', ['content', 'approvals', 'reject', 'blog_post', posts[1]!.id, '--tenant', 'alpha'], { env: { DATABASE_URL: harness.db.url, LOG_LEVEL: 'warn' } });
  expect(await missingReason.exited).not.toBe(0);
  expect((await taskloom('approvals', 'reject', 'blog_post', posts[1]!.id, '--reason', 'Off brand'))[0]).toMatchObject({ decision: 'rejected' });

  const done = await waitForTask(harness.engine, runId, ['completed', 'failed'], 120_000);
  expect(done.status).toBe('completed');
  const [listed] = (await taskloom('runs', 'list', '--company', company!.id)).filter((row) => row.id === runId);
  expect(listed).toMatchObject({ status: 'completed' });
  const show = spawnNode('bin/taskloom.js', ['content', 'runs', 'show', runId, '--tenant', 'alpha'], { env: { DATABASE_URL: harness.db.url, LOG_LEVEL: 'warn' } });
  expect(await show.exited).toBe(0);
  expect(show.output()).toMatch(/content_pipeline .* completed/);
  expect(show.output()).toMatch(/generate_blogpost/);
}, 240_000);
