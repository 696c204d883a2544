/**
 * An approved or published post is final: a job asked to rewrite it is refused, at the request
 * (409 `invalid_status`, nothing queued) and, for a job submitted some other way or a decision made
 * after the request, in the job, which then fails and leaves the post exactly as the supervisor
 * left it. The race is written out: the post is approved while its rewrite's model writes the
 * outline (held at a gate), so only the write's own guard can refuse it. Blog posts and social
 * posts alike; the model is the offline one behind a mock that counts and holds the calls. A
 * person's edit that waited for an approval to commit is refused too, not laid over it, and a
 * rejection's rewrite overtaken by a person's edit and submit writes nothing.
 */
import type { LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OfflineLanguageModel } from '../../src/llm/index.ts';
import { outlineInstructions, socialInstructions } from '../../src/pipelines/content/prompts.ts';
import { eventually } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';
import { callText } from '../support/model-calls.ts';
import { companyWithTopics, postOfTopic, jobEnded, runJob, startContentHarness, startJob, type ContentHarness } from './helpers.ts';

const offline = new OfflineLanguageModel('default');
const gates = new Gates();
/** Whether an outline call waits at gate `outline` before it answers. */
let holdOutline = false;
/** Whether a social post's call waits at gate `social` before it answers. */
let holdSocial = false;
let calls = 0;

const writer = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'writer',
  doGenerate: async (options: LanguageModelV4CallOptions) => {
    calls += 1;
    const { system } = callText(options);
    if (holdOutline && system.startsWith(outlineInstructions)) await gates.wait('outline', options.abortSignal);
    if (holdSocial && system.startsWith(socialInstructions)) await gates.wait('social', options.abortSignal);
    return offline.doGenerate(options);
  },
});

let harness: ContentHarness;
let companyId: string;
let topicIds: string[];

beforeAll(async () => {
  harness = await startContentHarness({ writer });
  ({ companyId, topicIds } = await companyWithTopics(harness, { name: 'Final Roasters', year: 2027, month: 7, count: 2, approved: true }));
}, 120_000);

afterAll(async () => {
  await harness?.close();
});

/** The error a job failed with, once it has failed (and its failure handler, if any, has run). */
async function failureOf(jobId: string): Promise<unknown> {
  await jobEnded(harness, jobId, 'failed');
  return (await harness.engine.getTask(jobId)).error;
}

async function jobCount(): Promise<number> {
  return ((await harness.request('GET', `/api/v1/ai/companies/${companyId}/jobs/`)).body.jobs as unknown[]).length;
}

it('refuses to rewrite an approved or a published blog post, at the request and in the job', async () => {
  const { request, keys, engine } = harness;
  const topicId = topicIds[0]!;
  const postId = (await runJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id as string;
  expect((await request('POST', `/api/v1/content/posts/${postId}/approve`, { key: keys.supervisor })).status).toBe(200);

  for (const status of ['approved', 'published']) {
    if (status === 'published') expect((await request('POST', `/api/v1/content/posts/${postId}/publish`)).status).toBe(200);
    const kept = await postOfTopic(harness, companyId, topicId);
    const jobsBefore = await jobCount();
    const refused = await request('POST', `/api/v1/ai/companies/${companyId}/generate-blogpost/`, { body: { topic_id: topicId, min_words: 300, max_words: 700 } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'invalid_status', details: { entity: 'blog_post', id: postId, current_status: status } });
    expect(refused.body.error.message).toContain('final');
    expect(await jobCount()).toBe(jobsBefore);

    // A job submitted past the API (the CLI, another task) fails before any model call.
    const callsBefore = calls;
    const submitted = await engine.submit({ taskType: 'generate_blogpost', input: { company_id: companyId, topic_id: topicId, min_words: 300, max_words: 700 }, tenant: 'alpha', projectId: companyId });
    expect(await failureOf(submitted.task.id)).toMatchObject({ code: 'invalid_status', details: { id: postId, current_status: status } });
    expect(calls).toBe(callsBefore);
    expect(await postOfTopic(harness, companyId, topicId)).toEqual(kept);
  }
}, 120_000);

it('rewrites a pending blog post in place, but leaves one approved while its rewrite was outlining as the supervisor approved it', async () => {
  const { request, keys } = harness;
  const topicId = topicIds[1]!;
  const postId = (await runJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id as string;
  // A post not yet decided is rewritten in place, as the next version of the same row.
  const first = await postOfTopic(harness, companyId, topicId);
  expect((await runJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id).toBe(postId);
  const pending = await postOfTopic(harness, companyId, topicId);
  expect(pending).toMatchObject({ id: postId, status: 'pending_approval', version: first.version + 1 });

  holdOutline = true;
  try {
    // Accepted: the post is pending approval when it is asked for.
    const jobId = await startJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 });
    const release = await gates.reached('outline');
    expect((await request('POST', `/api/v1/content/posts/${postId}/approve`, { key: keys.supervisor })).status).toBe(200);
    const approved = await postOfTopic(harness, companyId, topicId);
    release();
    expect(await failureOf(jobId)).toMatchObject({ code: 'invalid_status', details: { id: postId, current_status: 'approved' } });
    expect(await postOfTopic(harness, companyId, topicId)).toEqual(approved);
    expect(approved).toMatchObject({ status: 'approved', content: pending.content, version: pending.version });
  } finally {
    holdOutline = false;
  }
}, 120_000);

it('refuses to rewrite an approved social post, and writes the platforms that are not', async () => {
  const { request, keys, engine } = harness;
  const post = await postOfTopic(harness, companyId, topicIds[0]!);
  const linkedin = (await runJob(harness, companyId, 'generate-social', { blog_post_id: post.id, platforms: ['linkedin'] })).result_data.social_post_id as string;
  expect((await request('POST', `/api/v1/content/social-posts/${linkedin}/approve`, { key: keys.supervisor })).status).toBe(200);
  const kept = (await request('GET', `/api/v1/content/social-posts/${linkedin}`)).body;

  const jobsBefore = await jobCount();
  const refused = await request('POST', `/api/v1/ai/companies/${companyId}/generate-social/`, { body: { blog_post_id: post.id, platforms: ['twitter', 'linkedin'] } });
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'invalid_status', details: { entity: 'social_post', id: linkedin, current_status: 'approved' } });
  expect(refused.body.error.message).toContain('leave this platform out');
  expect(await jobCount()).toBe(jobsBefore);

  const submitted = await engine.submit({ taskType: 'generate_social', input: { company_id: companyId, blog_post_id: post.id, platforms: ['linkedin'] }, tenant: 'alpha', projectId: companyId });
  expect(await failureOf(submitted.task.id)).toMatchObject({ code: 'invalid_status', details: { id: linkedin } });
  expect((await request('GET', `/api/v1/content/social-posts/${linkedin}`)).body).toEqual(kept);

  // The request without the approved platform is taken.
  const twitter = await runJob(harness, companyId, 'generate-social', { blog_post_id: post.id, platforms: ['twitter'] });
  expect(twitter.result_data.platform).toBe('twitter');
}, 120_000);

it('refuses an edit that waited for an approval committing meanwhile, and keeps what was approved', async () => {
  const { request } = harness;
  const { topicIds: [topicId] } = await companyWithTopics(harness, { name: 'Racing Roasters', year: 2027, month: 8, count: 1 });
  const before = (await request('GET', `/api/v1/content/topics/${topicId}`)).body;
  expect(before.status).toBe('pending_approval');
  // The supervisor's decision, written and not committed yet: it holds the row.
  const approving = await harness.db.pool.connect();
  try {
    await approving.query('BEGIN');
    await approving.query("UPDATE content_topics SET status = 'approved', approved_by = 'supervisor', approved_at = now() WHERE id = $1", [topicId]);
    const edit = request('PATCH', `/api/v1/content/topics/${topicId}`, { body: { title: 'Edited after approval' } });
    await eventually(async () => (await harness.db.pool.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%content_topics%'")).rowCount);
    await approving.query('COMMIT');
    const answered = await edit;
    expect(answered.status).toBe(409);
    expect(answered.body.error).toMatchObject({ code: 'invalid_status', details: { current_status: 'approved' } });
  } finally {
    await approving.query('ROLLBACK').catch(() => {});
    approving.release();
  }
  expect((await request('GET', `/api/v1/content/topics/${topicId}`)).body).toMatchObject({ status: 'approved', title: before.title });
}, 120_000);

it('leaves a post a person edited and submitted while its rejection\'s rewrite was outlining as they left it', async () => {
  const { request, keys } = harness;
  const { companyId: ownCompany, topicIds: [topicId] } = await companyWithTopics(harness, { name: 'Overtaken Roasters', year: 2027, month: 9, count: 1, approved: true });
  const postId = (await runJob(harness, ownCompany, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id as string;
  holdOutline = true;
  try {
    const rejected = await request('POST', `/api/v1/content/posts/${postId}/reject`, { key: keys.supervisor, body: { reason: 'Too salesy', regenerate: true } });
    expect(rejected.body).toMatchObject({ status: 'rejected' });
    const release = await gates.reached('outline');
    expect((await request('PATCH', `/api/v1/content/posts/${postId}`, { body: { title: 'A title fixed by hand' } })).status).toBe(200);
    expect((await request('POST', `/api/v1/content/posts/${postId}/submit-for-approval`)).body).toMatchObject({ status: 'pending_approval' });
    const submitted = await postOfTopic(harness, ownCompany, topicId!);
    release();
    const job = await jobEnded(harness, rejected.body.regeneration_job_id as string, 'completed');
    expect(job.result_data).toMatchObject({ blog_post_id: postId, rewritten: false });
    expect(await postOfTopic(harness, ownCompany, topicId!)).toEqual(submitted);
    expect(submitted).toMatchObject({ title: 'A title fixed by hand', status: 'pending_approval' });
  } finally {
    holdOutline = false;
  }
}, 120_000);

it('leaves a social post a person edited and submitted while its rejection\'s rewrite was written as they left it', async () => {
  const { request, keys } = harness;
  const { companyId: ownCompany, topicIds: [topicId] } = await companyWithTopics(harness, { name: 'Overtaken Social Roasters', year: 2027, month: 9, count: 1, approved: true });
  const postId = (await runJob(harness, ownCompany, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id as string;
  expect((await request('POST', `/api/v1/content/posts/${postId}/approve`, { key: keys.supervisor })).status).toBe(200);
  const socialId = (await runJob(harness, ownCompany, 'generate-social', { blog_post_id: postId, platforms: ['twitter'] })).result_data.social_post_id as string;
  holdSocial = true;
  try {
    const rejected = await request('POST', `/api/v1/content/social-posts/${socialId}/reject`, { key: keys.supervisor, body: { reason: 'Too long-winded', regenerate: true } });
    expect(rejected.body).toMatchObject({ status: 'rejected' });
    const release = await gates.reached('social');
    expect((await request('PATCH', `/api/v1/content/social-posts/${socialId}`, { body: { text: 'Fresh beans, roasted this morning.' } })).status).toBe(200);
    expect((await request('POST', `/api/v1/content/social-posts/${socialId}/submit-for-approval`)).body).toMatchObject({ status: 'pending_approval' });
    const submitted = (await request('GET', `/api/v1/content/social-posts/${socialId}`)).body;
    release();
    const job = await jobEnded(harness, rejected.body.regeneration_job_id as string, 'completed');
    expect(job.result_data).toMatchObject({ social_post_id: socialId, rewritten: false });
    expect((await request('GET', `/api/v1/content/social-posts/${socialId}`)).body).toEqual(submitted);
    expect(submitted).toMatchObject({ text: 'Fresh beans, roasted this morning.', status: 'pending_approval' });
  } finally {
    holdSocial = false;
  }
}, 120_000);

it('rewrites a post that is not rejected when asked by hand with a reason, as it is', async () => {
  const { companyId: ownCompany, topicIds: [topicId] } = await companyWithTopics(harness, { name: 'Reasoned Roasters', year: 2027, month: 9, count: 1, approved: true });
  await runJob(harness, ownCompany, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 });
  const pending = await postOfTopic(harness, ownCompany, topicId!);
  expect(pending.status).toBe('pending_approval');
  const job = await runJob(harness, ownCompany, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700, rejection_reason: 'A warmer opening' });
  expect(job.result_data).not.toHaveProperty('rewritten');
  expect(await postOfTopic(harness, ownCompany, topicId!)).toMatchObject({ id: pending.id, status: 'pending_approval', version: pending.version + 1 });
}, 120_000);

it('leaves a post a person edited and submitted before a run\'s rewrite of its rejected version started', async () => {
  const { request, keys } = harness;
  const { companyId: ownCompany, topicIds: [topicId] } = await companyWithTopics(harness, { name: 'Early Fix Roasters', year: 2027, month: 9, count: 1, approved: true });
  const postId = (await runJob(harness, ownCompany, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id as string;
  const rejected = (await request('POST', `/api/v1/content/posts/${postId}/reject`, { key: keys.supervisor, body: { reason: 'Too salesy' } })).body;
  expect(rejected).toMatchObject({ status: 'rejected' });
  expect((await request('PATCH', `/api/v1/content/posts/${postId}`, { body: { title: 'Fixed before the rewrite' } })).status).toBe(200);
  expect((await request('POST', `/api/v1/content/posts/${postId}/submit-for-approval`)).body).toMatchObject({ status: 'pending_approval' });
  const submitted = await postOfTopic(harness, ownCompany, topicId!);
  // What a run submits for the rejection it read: the version the rejection left.
  const job = await harness.engine.submit({ taskType: 'generate_blogpost', tenant: 'alpha', projectId: ownCompany, input: { company_id: ownCompany, topic_id: topicId, min_words: 300, max_words: 700, rejection_reason: 'Too salesy', rejected_version: rejected.version, submit_for_approval: false } });
  expect((await jobEnded(harness, job.task.id, 'completed')).result_data).toMatchObject({ rewritten: false });
  expect(await postOfTopic(harness, ownCompany, topicId!)).toEqual(submitted);
}, 120_000);
