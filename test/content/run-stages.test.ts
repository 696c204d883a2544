/**
 * content_pipeline does DNA, personas and topics as steps of its own (a model call each that it
 * waits for anyway, without a child task's hand-offs around it) and counts their usage by stage;
 * a run planned before that, with child tasks for them, finishes the way it started.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForTask } from '../../src/kit/testing.ts';
import { OfflineLanguageModel } from '../../src/llm/index.ts';
import { runJob, startContentHarness, type ContentHarness } from './helpers.ts';

let harness: ContentHarness;
/** The company of the run the second test makes, for the third. */
let finishedCompanyId: string;

beforeAll(async () => {
  // The offline model's text behind a provider of its own: research then makes a call (with
  // no provider the DNA research reads nothing and calls no model), counted like the others.
  harness = await startContentHarness({ worker: false, writer: new OfflineLanguageModel('default') });
});

afterAll(async () => {
  await harness?.close();
});

const runInput = { year: 2027, month: 5, posts_count: 2, auto_select_personas: true, auto_approve: true, min_words: 200, max_words: 500, platforms: ['twitter'] };

async function startRun(name: string): Promise<{ companyId: string; runId: string }> {
  const company = (await harness.request('POST', '/api/v1/content/companies', { body: { name, plan: 'free' } })).body;
  // Approving is a supervisor's: a run that approves itself takes an admin's key, on the job
  // route and on the generic submit alike, and a refusal queues nothing.
  const tasksBefore = (await harness.db.pool.query('SELECT count(*)::int AS count FROM tasks')).rows[0].count as number;
  const refused = await harness.request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: runInput });
  expect(refused.status).toBe(403);
  expect(refused.body.error).toMatchObject({ code: 'forbidden', details: { role: 'marketer' } });
  expect(refused.body.error.message).toContain('auto_approve');
  const generic = await harness.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'content_pipeline', task_data: { ...runInput, company_id: company.id } } });
  expect(generic.status).toBe(403);
  expect((await harness.db.pool.query('SELECT count(*)::int AS count FROM tasks')).rows[0].count).toBe(tasksBefore);
  const started = await harness.request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: runInput, key: harness.keys.admin });
  expect(started.status).toBe(202);
  return { companyId: company.id as string, runId: started.body.job_id as string };
}

it('finishes a run planned before, with child tasks for DNA, personas and topics', async () => {
  // No worker yet: the run is prepared before anything claims it.
  const { runId } = await startRun('Legacy Roasters');
  // What a run that started before the upgrade left: its plan, without stages_in_run.
  await harness.db.pool.query("INSERT INTO task_steps (task_id, key, result, attempt, duration_ms) VALUES ($1, 'plan', '{\"dna\": true, \"personas\": true}', 1, 0)", [runId]);
  await harness.db.pool.query('UPDATE tasks SET started_at = now() WHERE id = $1', [runId]);
  await harness.engine.startWorker({ concurrency: 16, pollIntervalMs: 200 });
  const run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 120_000);
  expect(run.status, JSON.stringify(run.error)).toBe('completed');
  const children = await harness.engine.listChildren(runId);
  expect(children.map((child) => child.task_type).filter((type) => ['generate_dna', 'generate_personas', 'generate_topics'].includes(type))).toEqual(['generate_dna', 'generate_personas', 'generate_topics']);
  expect((run.result as { llm_usage_by_stage: Record<string, { calls: number }> }).llm_usage_by_stage).toMatchObject({ dna: { calls: 1 }, personas: { calls: 1 }, topics: { calls: 2 } });
}, 180_000);

it('researches, writes personas and plans topics in the run, and counts their calls by stage', async () => {
  const { runId, companyId } = await startRun('Stage Roasters');
  finishedCompanyId = companyId;
  const run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 120_000);
  expect(run.status, JSON.stringify(run.error)).toBe('completed');

  const children = await harness.engine.listChildren(runId);
  expect(new Set(children.map((child) => child.task_type))).toEqual(new Set(['generate_blogpost', 'generate_social']));
  const usage = (run.result as { llm_usage_by_stage: Record<string, { calls: number }> }).llm_usage_by_stage;
  // Two topics over three personas: two personas plan one each.
  expect(usage).toMatchObject({ dna: { calls: 1 }, personas: { calls: 1 }, topics: { calls: 2 }, social: { calls: 2 } });
  expect(usage.blogposts!.calls).toBeGreaterThanOrEqual(2 * 4);

  const events = await harness.engine.readEvents({ taskId: runId });
  const types = events.map((event) => event.type);
  expect(types.filter((type) => ['dna_generated', 'personas_generated', 'topics_generated'].includes(type))).toEqual(['dna_generated', 'personas_generated', 'topics_generated', 'topics_generated']);
  const stages = events.filter((event) => event.type === 'pipeline_stage').map((event) => event.payload.stage);
  expect(stages).toEqual(['dna', 'personas', 'topics', 'topic_approval', 'blogposts', 'blogpost_approval', 'social', 'done']);
  // Each stage is announced before the work it announces lands.
  expect(types.indexOf('dna_generated')).toBeGreaterThan(events.findIndex((event) => event.payload.stage === 'dna'));
  expect(types.indexOf('personas_generated')).toBeGreaterThan(events.findIndex((event) => event.payload.stage === 'personas'));
  expect(events.findIndex((event) => event.payload.stage === 'personas')).toBeGreaterThan(types.indexOf('dna_generated'));

  // auto_approve decides every row the run made: topics, posts and social posts alike.
  const social = (await harness.request('GET', `/api/v1/content/social-posts?company_id=${companyId}`)).body.social_posts as Array<{ status: string; approved_by: string }>;
  expect(social).toHaveLength(2);
  expect(social.map((post) => [post.status, post.approved_by])).toEqual([['approved', `content_pipeline:${runId}`], ['approved', `content_pipeline:${runId}`]]);
  const decided = events.filter((event) => event.type === 'approval_decided').map((event) => [event.payload.kind, event.payload.by]);
  expect(decided).toEqual([...['topic', 'topic', 'blog_post', 'blog_post', 'social_post', 'social_post'].map((kind) => [kind, `content_pipeline:${runId}`])]);
}, 180_000);

it('rewrites a rejected social post in place, as the next version of the same row', async () => {
  const { request, keys } = harness;
  // The run approved its social posts (auto_approve); a post of another platform waits for a decision.
  const [post] = (await request('GET', `/api/v1/content/posts?company_id=${finishedCompanyId}`)).body.posts as Array<{ id: string }>;
  await runJob(harness, finishedCompanyId, 'generate-social', { blog_post_id: post!.id, platforms: ['linkedin'] });
  const social = ((await request('GET', `/api/v1/content/social-posts?blog_post_id=${post!.id}`)).body.social_posts as Array<{ id: string; version: number; platform: string; status: string }>).find((entry) => entry.platform === 'linkedin');
  expect(social?.status).toBe('pending_approval');
  const rejected = await request('POST', `/api/v1/content/social-posts/${social!.id}/reject`, { key: keys.supervisor, body: { reason: 'Say when the roastery opens', regenerate: true } });
  expect(rejected.body.regeneration_job_id).toEqual(expect.any(String));
  const rewrite = await waitForTask(harness.engine, rejected.body.regeneration_job_id, ['completed', 'failed'], 60_000);
  expect(rewrite.status).toBe('completed');
  expect((rewrite.result as { social_post_id: string }).social_post_id).toBe(social!.id);
  expect((await request('GET', `/api/v1/content/social-posts/${social!.id}`)).body).toMatchObject({ id: social!.id, version: social!.version + 1, status: 'pending_approval' });
}, 120_000);
