/**
 * `taskloom content` as a real process against a database where a worker runs the content task
 * types: a company, a run that waits for the supervisor, decisions from the command line, and the
 * run tree; a topic no run waits for, rejected with --regenerate and rewritten by a job.
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

  // A blank name and a website that is no URL are refused as the API refuses them, and not stored.
  for (const [option, value] of [['--name', '   '], ['--website', 'not a url']] as const) {
    const refused = spawnNode('bin/taskloom.js', ['content', 'companies', 'create', '--name', 'Fjord Bikes', option, value, '--tenant', 'alpha'], { env: { DATABASE_URL: harness.db.url, LOG_LEVEL: 'warn' } });
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toContain(`error [validation_failed]: ${option}: `);
  }
  expect(await taskloom('companies', 'list')).toHaveLength(1);

  // --wait follows the run until it waits for a person (the topics' approval), then returns.
  const [started, ...followed] = await taskloom('runs', 'start', '--company', company!.id, '--year', '2027', '--month', '4', '--posts', '2', '--auto-select', '--wait');
  expect(started).toMatchObject({ status: 'queued' });
  const runId = started!.job_id as string;
  expect(followed.some((line) => line.type === 'approval_requested' && line.kind === 'topic')).toBe(true);
  expect(followed.at(-1)).toMatchObject({ id: runId, task_status: 'waiting' });

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
  // Ids that name nothing are reported as not found, not as an internal error.
  for (const args of [['approvals', 'approve', 'topic', 'not-a-uuid'], ['approvals', 'list', '--company', 'nope']]) {
    const unknown = spawnNode('bin/taskloom.js', ['content', ...args, '--tenant', 'alpha'], { env: { DATABASE_URL: harness.db.url, LOG_LEVEL: 'warn' } });
    expect(await unknown.exited).toBe(1);
    expect(unknown.output()).toMatch(/error \[not_found\]: .*(not-a-uuid|nope) was not found/);
  }

  const done = await waitForTask(harness.engine, runId, ['completed', 'failed'], 120_000);
  expect(done.status).toBe('completed');
  const [listed] = (await taskloom('runs', 'list', '--company', company!.id)).filter((row) => row.id === runId);
  expect(listed).toMatchObject({ status: 'completed' });
  const show = spawnNode('bin/taskloom.js', ['content', 'runs', 'show', runId, '--tenant', 'alpha'], { env: { DATABASE_URL: harness.db.url, LOG_LEVEL: 'warn' } });
  expect(await show.exited).toBe(0);
  expect(show.output()).toMatch(/content_pipeline .* completed/);
  expect(show.output()).toMatch(/generate_blogpost/);
}, 240_000);

it('rejects a topic no run waits for with --regenerate: a generate_topics job rewrites it and asks again', async () => {
  const [company] = await taskloom('companies', 'create', '--name', 'Fjord Rides', '--plan', 'free');
  // Personas and a month's topic through the seed's jobs: no run is involved.
  const job = async (path: string, body: unknown): Promise<void> => {
    const started = await harness.request('POST', `/api/v1/ai/companies/${company!.id}/${path}/`, { body });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect((await waitForTask(harness.engine, started.body.job_id, ['completed', 'failed', 'cancelled'], 60_000)).status).toBe('completed');
  };
  await job('scrape-dna', {});
  await job('generate-personas', {});
  const personas = (await harness.request('GET', `/api/v1/content/companies/${company!.id}/personas`)).body.personas as Array<{ id: string }>;
  expect((await harness.request('POST', '/api/v1/content/personas/select', { body: { company_id: company!.id, persona_ids: personas.slice(0, 3).map((persona) => persona.id) } })).status).toBe(200);
  await job('generate-topics', { year: 2027, month: 6, posts_count: 1 });
  const [topic] = (await taskloom('approvals', 'list', '--company', company!.id)).filter((row) => row.kind === 'topic');
  expect(topic).toMatchObject({ version: 1 });

  const [answer] = await taskloom('approvals', 'reject', 'topic', topic!.id, '--reason', 'Too generic: one route, one season', '--regenerate');
  expect(answer).toMatchObject({ kind: 'topic', id: topic!.id, decision: 'rejected', regeneration_job_id: expect.any(String) });
  const rewrite = await waitForTask(harness.engine, answer!.regeneration_job_id as string, ['completed', 'failed', 'cancelled'], 60_000);
  expect(rewrite).toMatchObject({ status: 'completed', task_type: 'generate_topics', input: { topic_id: topic!.id, rejection_reason: 'Too generic: one route, one season' } });
  expect((await taskloom('approvals', 'list', '--company', company!.id)).filter((row) => row.id === topic!.id)).toEqual([expect.objectContaining({ kind: 'topic', version: 2 })]);
}, 120_000);
