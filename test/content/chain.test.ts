/**
 * The whole chain through the HTTP API on the offline model, with a marketer's and a
 * supervisor's key: company, content_pipeline run, persona selection gate, an approval per topic
 * (one rejected with regeneration), blog posts as child tasks, an approval per post, social posts
 * per platform; role refusals and tenant isolation along the way.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForTask } from '../../src/kit/testing.ts';
import { platformRules, ruleViolations } from '../../src/pipelines/content/index.ts';
import { contentEvents } from '../../src/pipelines/content/events.ts';
import { expectDeclaredPayloads } from '../support/declared-events.ts';
import { startContentHarness, waitForDecisionWait, type ContentHarness } from './helpers.ts';

let harness: ContentHarness;

beforeAll(async () => {
  harness = await startContentHarness();
});

afterAll(async () => {
  await harness?.close();
});

it('runs a month from DNA to social posts, gated by a supervisor', async () => {
  const { request, keys } = harness;
  const created = await request('POST', '/api/v1/content/companies', { body: { name: 'Acme Roasters', website: 'https://acme-roasters.example', plan: 'free' } });
  expect(created.status).toBe(201);
  const company = created.body;

  // A supervisor may not start a job; a marketer may.
  expect((await request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { key: keys.supervisor, body: { year: 2027, month: 3, posts_count: 3 } })).status).toBe(403);
  const started = await request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: { year: 2027, month: 3, posts_count: 3, min_words: 300, max_words: 600, platforms: ['twitter', 'linkedin'] } });
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ status: 'queued', job_type: 'content_pipeline', queue: 'ai_jobs' });
  const runId = started.body.job_id as string;

  // The run researches, writes personas, then waits for a selection without a slot.
  await waitForDecisionWait(harness.engine, runId, 'personas');
  let run = await harness.engine.getTask(runId);
  expect(run.status).toBe('waiting');
  const personas = (await request('GET', `/api/v1/content/companies/${company.id}/personas`)).body.personas as Array<{ id: string; archetype: string; mbti: string }>;
  expect(personas).toHaveLength(6);
  // Research on the offline model finds nothing, and invents nothing: the company's own name,
  // every other data point "Not found", no sources, no model call.
  const dna = (await request('GET', `/api/v1/content/companies/${company.id}/dna`)).body;
  expect(Object.keys(dna.data).length).toBeGreaterThanOrEqual(30);
  expect(dna).toMatchObject({ model: 'offline:default', sources: [], data: { company_name: 'Acme Roasters', mission: 'Not found', founded_year: 'Not found', key_people: [], tone_formal_casual: null } });
  expect(dna.not_found).toHaveLength(Object.keys(dna.data).length - 1);
  const researched = (await harness.engine.readEvents({ taskId: runId })).find((event) => event.type === 'dna_generated')!;
  expect(researched.payload).toMatchObject({ sources: 0, offline: true });

  // The supervisor may not select; the marketer selects three.
  expect((await request('POST', '/api/v1/content/personas/select/', { key: keys.supervisor, body: { company_id: company.id, persona_ids: personas.slice(0, 3).map((persona) => persona.id) } })).status).toBe(403);
  const selected = await request('POST', '/api/v1/content/personas/select/', { body: { company_id: company.id, persona_ids: personas.slice(0, 3).map((persona) => persona.id) } });
  expect(selected.status).toBe(200);

  // Topics wait for approval.
  await waitForDecisionWait(harness.engine, runId, 'topic');
  expect((await harness.engine.getTask(runId)).status).toBe('waiting');
  const pending = (await request('GET', `/api/v1/content/pending-approvals/?company_id=${company.id}`, { key: keys.supervisor })).body.pending as Array<{ kind: string; id: string }>;
  expect(pending.filter((entry) => entry.kind === 'topic')).toHaveLength(3);
  const [first, second, third] = pending.map((entry) => entry.id) as [string, string, string];

  // A marketer may not approve; another tenant does not see the topic.
  expect((await request('POST', `/api/v1/content/topics/${first}/approve`, { key: keys.marketer })).status).toBe(403);
  expect((await request('POST', `/api/v1/content/topics/${first}/approve`, { key: keys.otherSupervisor })).status).toBe(404);
  expect((await request('GET', `/api/v1/content/topics/${first}`, { key: keys.otherMarketer })).status).toBe(404);

  expect((await request('POST', `/api/v1/content/topics/${first}/approve`, { key: keys.supervisor })).body.status).toBe('approved');
  const twice = await request('POST', `/api/v1/content/topics/${first}/approve`, { key: keys.supervisor });
  expect(twice.status).toBe(409);
  expect(twice.body.error.details.current_status).toBe('approved');
  expect((await request('POST', `/api/v1/content/topics/${second}/reject`, { key: keys.supervisor, body: { reason: '   ' } })).status).toBe(400);
  const before = (await request('GET', `/api/v1/content/topics/${second}`)).body;
  const rejected = await request('POST', `/api/v1/content/topics/${second}/reject`, { key: keys.supervisor, body: { reason: 'Too generic: make it about cold brew at home', regenerate: true } });
  expect(rejected.body).toMatchObject({ status: 'rejected', rejection_reason: 'Too generic: make it about cold brew at home' });
  expect((await request('POST', `/api/v1/content/topics/${third}/approve`, { key: keys.supervisor })).status).toBe(200);

  // The run regenerates the rejected topic (the prompt sees the reason) and asks again.
  const regenerated = await waitForStatus('topics', second, 'pending_approval');
  expect(regenerated.version).toBe(before.version + 1);
  expect(regenerated.rejection_reason).toBe('Too generic: make it about cold brew at home');
  // Approved, it no longer carries the reason it was rejected for.
  expect((await request('POST', `/api/v1/content/topics/${second}/approve`, { key: keys.supervisor })).body).toMatchObject({ status: 'approved', rejection_reason: null, rejected_by: null });

  // Three blog posts are written as child tasks, then wait for approval.
  const posts = await waitForPosts(company.id, 3);
  for (const post of posts) {
    expect(post.word_count).toBeGreaterThanOrEqual(300);
    expect(post.word_count).toBeLessThanOrEqual(600);
    expect(post.meta_title.length).toBeLessThanOrEqual(60);
  }
  for (const post of posts) expect((await request('POST', `/api/v1/content/posts/${post.id}/approve`, { key: keys.supervisor })).status).toBe(200);

  run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 120_000);
  expect(run.status, JSON.stringify(run.error)).toBe('completed');
  const social = (await request('GET', `/api/v1/content/social-posts?company_id=${company.id}`)).body.social_posts as Array<{ platform: 'twitter' | 'linkedin'; text: string; hashtags: string[]; status: string }>;
  expect(social).toHaveLength(6);
  for (const post of social) {
    expect(ruleViolations(post.platform, post)).toEqual([]);
    expect(post.hashtags.length).toBeGreaterThanOrEqual(platformRules[post.platform].minHashtags);
    expect(post.status).toBe('pending_approval');
  }
  // Every decision is in the run's log, in the order it was made, as it landed.
  const decided = (await harness.engine.readEvents({ taskId: runId })).filter((event) => event.type === 'approval_decided').map((event) => event.payload);
  expect(decided.map((payload) => [payload.kind, payload.id, payload.decision])).toEqual([
    ['topic', first, 'approved'], ['topic', second, 'rejected'], ['topic', third, 'approved'], ['topic', second, 'approved'],
    ...posts.map((post) => ['blog_post', post.id, 'approved']),
  ]);
  expect(decided[1]).toMatchObject({ company_id: company.id, reason: 'Too generic: make it about cold brew at home', by: expect.any(String) });
  const job = (await request('GET', `/api/v1/ai/jobs/${runId}/`, { key: keys.supervisor })).body;
  expect(job).toMatchObject({ job_type: 'content_pipeline', status: 'completed', progress: 100 });
  expect(job.result_data.llm_usage_by_stage.blogposts.calls).toBeGreaterThan(0);
  const stats = (await request('GET', `/api/v1/ai/companies/${company.id}/jobs/stats/`)).body;
  expect(stats.failed).toBe(0);
  expect(stats.completed).toBeGreaterThan(8);

  // Every pipeline event the run and its jobs stored has the payload its declaration says
  // (what GET /api/v1/event-types publishes).
  const seen = expectDeclaredPayloads(await harness.engine.readEvents({ projectId: company.id, limit: 10_000 }), contentEvents);
  expect(seen).toEqual(new Set(['dna_generated', 'personas_generated', 'topics_generated', 'topic_regenerated', 'pipeline_stage', 'approval_requested', 'approval_decided', 'blogpost_outlined', 'blogpost_section_written', 'blogpost_generated', 'social_post_generated', ...seen.has('platform_rules_broken') ? ['platform_rules_broken'] : []]));
}, 240_000);

async function waitForStatus(collection: string, id: string, status: string): Promise<any> {
  return eventually(async () => {
    const row = (await harness.request('GET', `/api/v1/content/${collection}/${id}`)).body;
    return row.status === status ? row : undefined;
  });
}

async function waitForPosts(companyId: string, count: number): Promise<any[]> {
  return eventually(async () => {
    const posts = (await harness.request('GET', `/api/v1/content/posts?company_id=${companyId}&status=pending_approval`)).body.posts as any[];
    return posts.length === count ? posts : undefined;
  });
}

async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('survives an engine restart while the run waits for approval, without a slot', async () => {
  const { request, keys } = harness;
  const company = (await request('POST', '/api/v1/content/companies', { body: { name: 'Ultimate Teas', plan: 'ultimate' } })).body;
  const started = await request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: { year: 2027, month: 4, posts_count: 2, auto_select_personas: true, min_words: 200, max_words: 500, platforms: ['facebook'] } });
  expect(started.body.queue).toBe('ai_priority');
  const runId = started.body.job_id as string;
  await waitForDecisionWait(harness.engine, runId, 'topic');

  // The engine (and its worker) stops; the run stays parked in PostgreSQL; a new engine starts.
  await harness.restartEngine();
  const waiting = await harness.engine.getTask(runId);
  expect(waiting.status).toBe('waiting');
  expect(waiting.worker_id).toBeNull();

  const topics = (await request('GET', `/api/v1/content/topics?company_id=${company.id}&status=pending_approval`, { key: keys.supervisor })).body.topics as Array<{ id: string }>;
  expect(topics).toHaveLength(2);
  for (const topic of topics) expect((await request('POST', `/api/v1/content/topics/${topic.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  await waitForDecisionWait(harness.engine, runId, 'blog_post');
  const posts = (await request('GET', `/api/v1/content/posts?company_id=${company.id}&status=pending_approval`)).body.posts as Array<{ id: string; topic_id: string }>;
  expect(posts).toHaveLength(2);
  // One post is rejected with a reason and rewritten by the run; the rewrite sees the reason.
  const rejected = await request('POST', `/api/v1/content/posts/${posts[0]!.id}/reject`, { key: keys.supervisor, body: { reason: 'Needs a section on water temperature', regenerate: true } });
  expect(rejected.body.status).toBe('rejected');
  expect((await request('POST', `/api/v1/content/posts/${posts[1]!.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  const rewritten = await waitForStatus('posts', posts[0]!.id, 'pending_approval');
  expect(rewritten.version).toBeGreaterThan(1);
  const rewriteJob = (await request('GET', `/api/v1/ai/companies/${company.id}/jobs/`)).body.jobs.find((job: { job_type: string; input: { rejection_reason?: string } }) => job.job_type === 'generate_blogpost' && job.input.rejection_reason);
  expect(rewriteJob.input.rejection_reason).toBe('Needs a section on water temperature');
  expect((await request('POST', `/api/v1/content/posts/${posts[0]!.id}/approve`, { key: keys.supervisor })).status).toBe(200);

  const run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 120_000);
  expect(run.status, JSON.stringify(run.error)).toBe('completed');
  expect(run.result).toMatchObject({ topics: 2, topics_approved: 2, blog_posts: 2, blog_posts_approved: 2 });
  expect((await request('GET', `/api/v1/content/social-posts?company_id=${company.id}`)).body.social_posts).toHaveLength(2);
  // Every job of a paid plan ran on ai_priority.
  const jobs = (await request('GET', `/api/v1/ai/companies/${company.id}/jobs/`)).body.jobs as Array<{ queue: string }>;
  expect(new Set(jobs.map((job) => job.queue))).toEqual(new Set(['ai_priority']));
  // No image provider is configured here: an image is refused before anything is queued.
  const image = await request('POST', `/api/v1/ai/companies/${company.id}/generate-image/`, { body: { target: 'blog_post', target_id: posts[1]!.id } });
  expect(image.status).toBe(422);
  expect(image.body.error.code).toBe('provider_not_configured');
  // So is a post that asks for a featured image: its job would queue an image that can only fail.
  const featured = await request('POST', `/api/v1/ai/companies/${company.id}/generate-blogpost/`, { body: { topic_id: posts[1]!.topic_id, featured_image: true } });
  expect(featured.status).toBe(422);
  expect(featured.body.error.code).toBe('provider_not_configured');
}, 240_000);
