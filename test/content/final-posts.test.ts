/**
 * An approved or published post is final: a job asked to rewrite it is refused, at the request
 * (409 `invalid_status`, nothing queued) and, for a job submitted some other way or a decision made
 * after the request, in the job, which then fails and leaves the post exactly as the supervisor
 * left it. The race is written out: the post is approved while its rewrite's model writes the
 * outline (held at a gate), so only the write's own guard can refuse it. Blog posts and social
 * posts alike; the model is the offline one behind a mock that counts and holds the calls.
 */
import type { LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { customProvider } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForFailureHandled, waitForTask } from '../../src/kit/testing.ts';
import { OfflineLanguageModel } from '../../src/llm/index.ts';
import { outlineInstructions } from '../../src/pipelines/content/prompts.ts';
import { Gates } from '../support/gates.ts';
import { startContentHarness, type ContentHarness } from './helpers.ts';

const offline = new OfflineLanguageModel('default');
const gates = new Gates();
/** Whether an outline call waits at gate `outline` before it answers. */
let holdOutline = false;
let calls = 0;

const writer = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'writer',
  doGenerate: async (options: LanguageModelV4CallOptions) => {
    calls += 1;
    const system = options.prompt.filter((message) => message.role === 'system').map((message) => message.content).join('\n');
    if (holdOutline && system.startsWith(outlineInstructions)) await gates.wait('outline', options.abortSignal);
    return offline.doGenerate(options);
  },
});

let harness: ContentHarness;
let companyId: string;
let topicIds: string[];

beforeAll(async () => {
  harness = await startContentHarness({ config: { contentWritingModel: 'mock:writer' }, providers: { mock: customProvider({ languageModels: { writer } }) } });
  const { request, keys } = harness;
  companyId = (await request('POST', '/api/v1/content/companies', { body: { name: 'Final Roasters', plan: 'free' } })).body.id;
  await runJob('generate-personas', {});
  const personas = (await request('GET', `/api/v1/content/companies/${companyId}/personas`)).body.personas as Array<{ id: string }>;
  expect((await request('POST', '/api/v1/content/personas/select', { body: { company_id: companyId, persona_ids: personas.slice(0, 3).map((persona) => persona.id) } })).status).toBe(200);
  topicIds = (await runJob('generate-topics', { year: 2027, month: 7, posts_count: 2 })).result_data.topic_ids;
  for (const id of topicIds) expect((await request('POST', `/api/v1/content/topics/${id}/approve`, { key: keys.supervisor })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await harness?.close();
});

async function startJob(path: string, body: unknown): Promise<string> {
  const started = await harness.request('POST', `/api/v1/ai/companies/${companyId}/${path}/`, { body });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return started.body.job_id as string;
}

async function runJob(path: string, body: unknown): Promise<any> {
  const jobId = await startJob(path, body);
  const task = await waitForTask(harness.engine, jobId, ['completed', 'failed', 'cancelled'], 60_000);
  expect(task.status, JSON.stringify(task.error)).toBe('completed');
  return (await harness.request('GET', `/api/v1/ai/jobs/${jobId}/`)).body;
}

/**
 * Waits for a job to fail and returns its error; for a blog post job, also for its failure
 * handler (which puts a post it wrote back) to have run.
 */
async function failedJob(jobId: string, options: { failureHandler: boolean }): Promise<any> {
  const task = await waitForTask(harness.engine, jobId, ['completed', 'failed', 'cancelled'], 60_000);
  expect(task.status).toBe('failed');
  if (options.failureHandler) await waitForFailureHandled(harness.engine, jobId);
  return task.error;
}

async function postOfTopic(topicId: string): Promise<any> {
  const posts = (await harness.request('GET', `/api/v1/content/posts?company_id=${companyId}`)).body.posts as Array<{ topic_id: string }>;
  return posts.find((post) => post.topic_id === topicId);
}

async function jobCount(): Promise<number> {
  return ((await harness.request('GET', `/api/v1/ai/companies/${companyId}/jobs/`)).body.jobs as unknown[]).length;
}

it('refuses to rewrite an approved or a published blog post, at the request and in the job', async () => {
  const { request, keys, engine } = harness;
  const topicId = topicIds[0]!;
  const postId = (await runJob('generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id as string;
  expect((await request('POST', `/api/v1/content/posts/${postId}/approve`, { key: keys.supervisor })).status).toBe(200);

  for (const status of ['approved', 'published']) {
    if (status === 'published') expect((await request('POST', `/api/v1/content/posts/${postId}/publish`)).status).toBe(200);
    const kept = await postOfTopic(topicId);
    const jobsBefore = await jobCount();
    const refused = await request('POST', `/api/v1/ai/companies/${companyId}/generate-blogpost/`, { body: { topic_id: topicId, min_words: 300, max_words: 700 } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'invalid_status', details: { entity: 'blog_post', id: postId, current_status: status } });
    expect(refused.body.error.message).toContain('final');
    expect(await jobCount()).toBe(jobsBefore);

    // A job submitted past the API (the CLI, another task) fails before any model call.
    const callsBefore = calls;
    const submitted = await engine.submit({ taskType: 'generate_blogpost', input: { company_id: companyId, topic_id: topicId, min_words: 300, max_words: 700 }, tenant: 'alpha', projectId: companyId });
    expect(await failedJob(submitted.task.id, { failureHandler: true })).toMatchObject({ code: 'invalid_status', details: { id: postId, current_status: status } });
    expect(calls).toBe(callsBefore);
    expect(await postOfTopic(topicId)).toEqual(kept);
  }
}, 120_000);

it('rewrites a pending blog post in place, but leaves one approved while its rewrite was outlining as the supervisor approved it', async () => {
  const { request, keys } = harness;
  const topicId = topicIds[1]!;
  const postId = (await runJob('generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id as string;
  // A post not yet decided is rewritten in place, as the next version of the same row.
  const first = await postOfTopic(topicId);
  expect((await runJob('generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 })).result_data.blog_post_id).toBe(postId);
  const pending = await postOfTopic(topicId);
  expect(pending).toMatchObject({ id: postId, status: 'pending_approval', version: first.version + 1 });

  holdOutline = true;
  try {
    // Accepted: the post is pending approval when it is asked for.
    const jobId = await startJob('generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 });
    const release = await gates.reached('outline');
    expect((await request('POST', `/api/v1/content/posts/${postId}/approve`, { key: keys.supervisor })).status).toBe(200);
    const approved = await postOfTopic(topicId);
    release();
    expect(await failedJob(jobId, { failureHandler: true })).toMatchObject({ code: 'invalid_status', details: { id: postId, current_status: 'approved' } });
    expect(await postOfTopic(topicId)).toEqual(approved);
    expect(approved).toMatchObject({ status: 'approved', content: pending.content, version: pending.version });
  } finally {
    holdOutline = false;
  }
}, 120_000);

it('refuses to rewrite an approved social post, and writes the platforms that are not', async () => {
  const { request, keys, engine } = harness;
  const post = await postOfTopic(topicIds[0]!);
  const linkedin = (await runJob('generate-social', { blog_post_id: post.id, platforms: ['linkedin'] })).result_data.social_post_id as string;
  expect((await request('POST', `/api/v1/content/social-posts/${linkedin}/approve`, { key: keys.supervisor })).status).toBe(200);
  const kept = (await request('GET', `/api/v1/content/social-posts/${linkedin}`)).body;

  const jobsBefore = await jobCount();
  const refused = await request('POST', `/api/v1/ai/companies/${companyId}/generate-social/`, { body: { blog_post_id: post.id, platforms: ['twitter', 'linkedin'] } });
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'invalid_status', details: { entity: 'social_post', id: linkedin, current_status: 'approved' } });
  expect(refused.body.error.message).toContain('leave this platform out');
  expect(await jobCount()).toBe(jobsBefore);

  const submitted = await engine.submit({ taskType: 'generate_social', input: { company_id: companyId, blog_post_id: post.id, platforms: ['linkedin'] }, tenant: 'alpha', projectId: companyId });
  expect(await failedJob(submitted.task.id, { failureHandler: false })).toMatchObject({ code: 'invalid_status', details: { id: linkedin } });
  expect((await request('GET', `/api/v1/content/social-posts/${linkedin}`)).body).toEqual(kept);

  // The request without the approved platform is taken.
  const twitter = await runJob('generate-social', { blog_post_id: post.id, platforms: ['twitter'] });
  expect(twitter.result_data.platform).toBe('twitter');
}, 120_000);
