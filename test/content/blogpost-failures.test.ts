/**
 * A generate_blogpost that ends without success puts its post back: a new post is left `failed`
 * with no text (a new job writes it), a rewrite gets its previous text, status and version back
 * once its last attempt fails, and a failure that will be retried leaves the post `generating`
 * for the next attempt. A job cancelled while it waits for a retry, when none of its code runs,
 * puts its post back too (its `onFailure`, run by the engine after the task ended), and a second
 * job for a post one is writing is refused. On a mock writing model at the spec interface whose section calls fail
 * on demand (everything else answered by the offline model); retry delays pass on the test clock.
 */
import { APICallError, type LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { advanceTime, waitForFailureHandled, waitForTask } from '../../src/kit/testing.ts';
import { OfflineLanguageModel } from '../../src/llm/index.ts';
import { outlineInstructions, sectionInstructions } from '../../src/pipelines/content/prompts.ts';
import { callText } from '../support/model-calls.ts';
import { companyWithTopics, postOfTopic, runJob, startContentHarness, startJob, waitForDecisionWait, waitForEvent, type ContentHarness } from './helpers.ts';

const offline = new OfflineLanguageModel('default');
/** How the writer answers a section: a refusal (not retried), an outage (retried), or the offline model's text. */
let sections: 'refused' | 'unavailable' | 'written' = 'written';
/** A failing section answers once this settles: a test holds it until the job's outline has committed. */
let sectionsAnswer: Promise<unknown> = Promise.resolve();
/** The outline answers once this settles: a test holds a job before it has marked its post. */
let outlineAnswer: Promise<unknown> = Promise.resolve();

const writer = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'writer',
  doGenerate: async (options: LanguageModelV4CallOptions) => {
    const { system } = callText(options);
    if (system.startsWith(outlineInstructions)) await outlineAnswer;
    if (system.startsWith(sectionInstructions) && sections !== 'written') {
      await sectionsAnswer;
      const refused = sections === 'refused';
      throw new APICallError({ message: refused ? 'content policy refused the request' : 'service unavailable', url: 'https://writer.example/v1', requestBodyValues: {}, statusCode: refused ? 400 : 503, isRetryable: !refused });
    }
    return offline.doGenerate(options);
  },
});

let harness: ContentHarness;
let companyId: string;
/** Three approved topics: one for each test. */
let topicIds: string[];

beforeAll(async () => {
  harness = await startContentHarness({ writer });
  ({ companyId, topicIds } = await companyWithTopics(harness, { name: 'Failing Roasters', year: 2027, month: 6, count: 3, approved: true }));
}, 120_000);

afterAll(async () => {
  await harness?.close();
});

it('leaves a new post whose job failed `failed` with no text, and a new job writes it', async () => {
  const { request } = harness;
  const topicId = topicIds[0]!;
  sections = 'refused';
  const failed = await runJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 }, 'failed');
  expect(failed).toMatchObject({ status: 'failed', error_code: 'llm_call_failed', attempts: 1 });
  const left = await postOfTopic(harness, companyId, topicId);
  expect(left).toMatchObject({ status: 'failed', content: '', version: 1 });
  // Nothing to edit or submit; the topic's job is what writes it.
  expect((await request('POST', `/api/v1/content/posts/${left.id}/submit-for-approval`)).status).toBe(409);

  sections = 'written';
  const written = await runJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 });
  expect(written.result_data.blog_post_id).toBe(left.id);
  const post = await postOfTopic(harness, companyId, topicId);
  expect(post.status).toBe('pending_approval');
  expect(post.content.startsWith(`# ${post.title}`)).toBe(true);
  // A blank text is no edit of a post: refused, and the written text stays.
  const blank = await request('PATCH', `/api/v1/content/posts/${post.id}`, { body: { content: ' \n\t ' } });
  expect(blank.status).toBe(400);
  expect(blank.body.error.details.issues).toEqual([expect.objectContaining({ path: 'content' })]);
  expect(await postOfTopic(harness, companyId, topicId)).toMatchObject({ content: post.content, version: post.version });
}, 120_000);

it('puts a rewritten post back as it was once its last attempt fails, and leaves it to a retried one meanwhile', async () => {
  const { request, keys } = harness;
  const topicId = topicIds[1]!;
  sections = 'written';
  const written = await runJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 });
  const reason = 'Needs a section on grind size';
  expect((await request('POST', `/api/v1/content/posts/${written.result_data.blog_post_id}/reject`, { key: keys.supervisor, body: { reason } })).status).toBe(200);
  const before = await postOfTopic(harness, companyId, topicId);
  expect(before).toMatchObject({ status: 'rejected', rejection_reason: reason });

  sections = 'unavailable';
  let outlined!: () => void;
  sectionsAnswer = new Promise<void>((resolve) => {
    outlined = resolve;
  });
  const jobId = await startJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700, rejection_reason: reason });
  // The sections fail once the outline (which saved the post `generating`) has committed: an
  // outline still committing when its attempt fails is lost with the attempt, and written again.
  await waitForEvent(harness.engine, jobId, (event) => event.type === 'blogpost_outlined');
  outlined();
  const maxAttempts = (await harness.engine.getTask(jobId)).max_attempts;
  for (let attempt = 1; attempt < maxAttempts; attempt += 1) {
    await waitForEvent(harness.engine, jobId, (event) => event.type === 'task_retrying' && event.payload.attempt === attempt);
    // A failure that will be retried: the next attempt goes on from the outline it saved.
    expect(await postOfTopic(harness, companyId, topicId)).toMatchObject({ status: 'generating', content: '', version: before.version + 1 });
    await advanceTime(harness.engine, 15 * 60_000);
  }
  const task = await waitForTask(harness.engine, jobId, ['completed', 'failed', 'cancelled'], 60_000);
  expect(task.status).toBe('failed');
  expect(task.attempts).toBe(maxAttempts);
  await waitForFailureHandled(harness.engine, jobId);

  const after = await postOfTopic(harness, companyId, topicId);
  const restored = ['title', 'content', 'excerpt', 'meta_title', 'meta_description', 'slug', 'keywords', 'word_count', 'reading_time_minutes', 'outline', 'status', 'version', 'task_id', 'approved_by', 'approved_at', 'rejected_by', 'rejection_reason'];
  expect(Object.fromEntries(restored.map((field) => [field, after[field]]))).toEqual(Object.fromEntries(restored.map((field) => [field, before[field]])));
  // Back where the supervisor left it: the marketer can edit it and submit it again.
  expect((await request('POST', `/api/v1/content/posts/${after.id}/submit-for-approval`)).body.status).toBe('pending_approval');
  sections = 'written';
}, 180_000);

it('puts a post back when its job is cancelled while it waits for a retry, with none of its code running', async () => {
  const topicId = topicIds[2]!;
  sections = 'unavailable';
  let outlined!: () => void;
  sectionsAnswer = new Promise<void>((resolve) => {
    outlined = resolve;
  });
  const jobId = await startJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 });
  await waitForEvent(harness.engine, jobId, (event) => event.type === 'blogpost_outlined');
  outlined();
  await waitForEvent(harness.engine, jobId, (event) => event.type === 'task_retrying' && event.payload.attempt === 1);
  expect(await postOfTopic(harness, companyId, topicId)).toMatchObject({ status: 'generating', content: '', version: 1 });
  // A second job for the post while this one is under way is refused: it would take the post over
  // with no earlier text to put back, and this one's ending could no longer restore it.
  const second = await harness.request('POST', `/api/v1/ai/companies/${companyId}/generate-blogpost/`, { body: { topic_id: topicId, min_words: 300, max_words: 700 } });
  expect(second.status).toBe(409);
  expect(second.body.error).toMatchObject({ code: 'post_being_written', details: { job_id: jobId } });
  expect(second.body.error.message).toContain(`/api/v1/ai/jobs/${jobId}/cancel/`);

  expect(await harness.engine.cancel(jobId)).toMatchObject({ previous_state: 'retrying', status: 'cancelled' });
  await waitForFailureHandled(harness.engine, jobId);
  // A new post has no earlier text to go back to: `failed`, which a new job for the topic writes.
  expect(await postOfTopic(harness, companyId, topicId)).toMatchObject({ status: 'failed', content: '', version: 1 });
  sections = 'written';
}, 120_000);

it('refuses a second job for a topic whose first job has not yet reached its outline', async () => {
  const topicId = topicIds[0]!;
  sections = 'written';
  let outlined!: () => void;
  outlineAnswer = new Promise<void>((resolve) => {
    outlined = resolve;
  });
  const first = await startJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 300, max_words: 700 });
  await waitForEvent(harness.engine, first, (event) => event.type === 'task_started');
  // The post still reads as the last job left it: only the job list knows one is under way.
  expect((await postOfTopic(harness, companyId, topicId)).status).not.toBe('generating');
  const second = await harness.request('POST', `/api/v1/ai/companies/${companyId}/generate-blogpost/`, { body: { topic_id: topicId, min_words: 300, max_words: 700 } });
  expect(second.status).toBe(409);
  expect(second.body.error).toMatchObject({ code: 'post_being_written', details: { topic_id: topicId, job_id: first } });
  outlined();
  outlineAnswer = Promise.resolve();
  expect((await waitForTask(harness.engine, first, ['completed', 'failed', 'cancelled'], 60_000)).status).toBe('completed');
}, 120_000);

it('goes on with the other posts when a run\'s rewrite of a rejected post fails, and puts that post back', async () => {
  const { request, keys } = harness;
  sections = 'written';
  const started = await request('POST', `/api/v1/ai/companies/${companyId}/content-pipeline/`, { body: { year: 2027, month: 9, posts_count: 2, auto_select_personas: true, min_words: 300, max_words: 700, platforms: ['twitter'] } });
  expect(started.status).toBe(202);
  const runId = started.body.job_id as string;
  await waitForDecisionWait(harness.engine, runId, 'topic');
  // The run's rows: its month's topics, and their posts (the earlier tests left others pending).
  const topics = (await request('GET', `/api/v1/content/topics?company_id=${companyId}&year=2027&month=9`)).body.topics as Array<{ id: string }>;
  expect(topics).toHaveLength(2);
  for (const topic of topics) expect((await request('POST', `/api/v1/content/topics/${topic.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  await waitForDecisionWait(harness.engine, runId, 'blog_post');
  const [kept, rejected] = await Promise.all(topics.map((topic) => postOfTopic(harness, companyId, topic.id)));

  // The rewrite's sections are refused (not retried): its job fails.
  sections = 'refused';
  const reason = 'Say which beans';
  expect((await request('POST', `/api/v1/content/posts/${rejected!.id}/reject`, { key: keys.supervisor, body: { reason, regenerate: true } })).status).toBe(200);
  expect((await request('POST', `/api/v1/content/posts/${kept!.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  const run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 120_000);
  sections = 'written';
  expect(run.status, JSON.stringify(run.error)).toBe('completed');
  const result = run.result as { blog_posts_approved: number; blog_post_rewrites_failed: string[]; social_tasks: unknown[] };
  expect(result.blog_posts_approved).toBe(1);
  expect(result.blog_post_rewrites_failed).toHaveLength(1);
  expect(result.social_tasks).toHaveLength(1);
  const rewrite = await harness.engine.getTask(result.blog_post_rewrites_failed[0]!);
  expect(rewrite).toMatchObject({ status: 'failed', parent_task_id: runId });
  await waitForFailureHandled(harness.engine, rewrite.id);
  // As the rejection left it, for the marketer to edit and submit again.
  expect((await request('GET', `/api/v1/content/posts/${rejected!.id}`)).body).toMatchObject({ status: 'rejected', rejection_reason: reason });
}, 180_000);
