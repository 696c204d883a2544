/**
 * A content_pipeline run's gates when the run can no longer act on them, on the offline model:
 * the persona selection past approval_timeout_hours fails the run (approval_timed_out) instead of
 * waiting round after round; a topic phase past its deadline goes on with what was approved, and
 * a decision after that, or on a topic of a cancelled run, is one no run waits for (a rejection
 * with regenerate gets a generate_topics job of its own). Time passes on the test clock: the
 * phase's opening is moved back and the engine's pending timeouts brought forward.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { advanceTime, waitForTask } from '../../src/kit/testing.ts';
import { startContentHarness, waitForDecisionWait, waitForEvent, type ContentHarness } from './helpers.ts';

let harness: ContentHarness;

beforeAll(async () => {
  harness = await startContentHarness();
});

afterAll(async () => {
  await harness?.close();
});

const hour = 3_600_000;

async function startRun(name: string, options: Record<string, unknown>): Promise<{ companyId: string; runId: string }> {
  const company = (await harness.request('POST', '/api/v1/content/companies', { body: { name, plan: 'free' } })).body;
  const started = await harness.request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: { year: 2027, month: 7, posts_count: 2, min_words: 200, max_words: 500, platforms: ['twitter'], ...options } });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return { companyId: company.id as string, runId: started.body.job_id as string };
}

/** The run's gate phase opened `hours` ago (the `at` its step recorded) and its pending wait times out now. */
async function openedHoursAgo(runId: string, step: string, hours: number): Promise<void> {
  const moved = await harness.db.pool.query("UPDATE task_steps SET result = jsonb_set(result, '{at}', to_jsonb((result->>'at')::bigint - $3::bigint)) WHERE task_id = $1 AND key = $2", [runId, step, hours * hour]);
  expect(moved.rowCount).toBe(1);
  await advanceTime(harness.engine, hours * hour);
}

async function pendingTopics(companyId: string): Promise<Array<{ id: string; version: number }>> {
  return (await harness.request('GET', `/api/v1/content/topics?company_id=${companyId}&status=pending_approval`)).body.topics;
}

/** A rejection with regenerate on a topic no run will act on: a generate_topics job rewrites it as the next version. */
async function expectRewrittenByItsOwnJob(runId: string, topic: { id: string; version: number }): Promise<void> {
  const { request, keys } = harness;
  const rejected = await request('POST', `/api/v1/content/topics/${topic.id}/reject`, { key: keys.supervisor, body: { reason: 'Too generic: name one brewing method', regenerate: true } });
  expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
  expect(rejected.body).toMatchObject({ status: 'rejected', version: topic.version });
  const jobId = rejected.body.regeneration_job_id as string;
  expect(jobId).toEqual(expect.any(String));
  expect(jobId).not.toBe(runId);
  expect((await waitForTask(harness.engine, jobId, ['completed', 'failed', 'cancelled'], 60_000)).status).toBe('completed');
  expect((await request('GET', `/api/v1/ai/jobs/${jobId}/`)).body).toMatchObject({ job_type: 'generate_topics', topic_id: topic.id, input: { topic_id: topic.id } });
  expect((await request('GET', `/api/v1/content/topics/${topic.id}`)).body).toMatchObject({ status: 'pending_approval', version: topic.version + 1 });
}

it('fails a run whose persona selection did not come within approval_timeout_hours, saying how to go on', async () => {
  const { request } = harness;
  const { companyId, runId } = await startRun('Undecided Roasters', { approval_timeout_hours: 1 });
  await waitForDecisionWait(harness.engine, runId, 'personas');
  await openedHoursAgo(runId, 'gate:personas:opened', 2);

  const run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 30_000);
  expect(run.status).toBe('failed');
  expect(run.error).toMatchObject({ code: 'approval_timed_out', retryable: false, details: { run_task_id: runId, company_id: companyId, gate: 'personas', approval_timeout_hours: 1 } });
  const message = (run.error as { message: string }).message;
  for (const part of ['persona selection', '1 hours', 'personas/select', 'persona_ids', 'auto_select_personas']) expect(message).toContain(part);
  expect((await request('GET', `/api/v1/ai/jobs/${runId}/`)).body).toMatchObject({ status: 'failed', error_code: 'approval_timed_out' });
  // It did not open another round after the deadline.
  const waits = await harness.engine.listWaitpoints({ tenant: 'alpha', taskId: runId });
  expect(waits.filter((waitpoint) => waitpoint.key.startsWith('decisions:personas:')).map((waitpoint) => waitpoint.key)).toEqual(['decisions:personas:0']);

  // A selection afterwards still selects, and wakes nothing.
  const personas = (await request('GET', `/api/v1/content/companies/${companyId}/personas`)).body.personas as Array<{ id: string }>;
  expect((await request('POST', '/api/v1/content/personas/select/', { body: { company_id: companyId, persona_ids: personas.slice(0, 3).map((persona) => persona.id) } })).status).toBe(200);
  expect((await harness.engine.getTask(runId)).status).toBe('failed');
}, 90_000);

it('rewrites a rejected topic of a cancelled run with a job of its own', async () => {
  const { request, keys } = harness;
  const { companyId, runId } = await startRun('Cancelled Roasters', { auto_select_personas: true });
  await waitForDecisionWait(harness.engine, runId, 'topic');
  const [first, second] = await pendingTopics(companyId);
  expect((await request('POST', `/api/v1/ai/jobs/${runId}/cancel/`)).status).toBe(200);
  expect((await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'])).status).toBe('cancelled');

  await expectRewrittenByItsOwnJob(runId, first!);
  // Approving one is just an approval: no job, and the run stays cancelled.
  expect((await request('POST', `/api/v1/content/topics/${second!.id}/approve`, { key: keys.supervisor })).body).toMatchObject({ status: 'approved' });
  expect((await harness.engine.getTask(runId)).status).toBe('cancelled');
}, 90_000);

it('goes on with the approved topics once the topic phase passes its deadline; a decision after it is no run\'s', async () => {
  const { request, keys } = harness;
  const { companyId, runId } = await startRun('Slow Roasters', { auto_select_personas: true, approval_timeout_hours: 1 });
  await waitForDecisionWait(harness.engine, runId, 'topic');
  const [approved, undecided] = await pendingTopics(companyId);
  expect((await request('POST', `/api/v1/content/topics/${approved!.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  // The run heard it and waits for the other one.
  await waitForEvent(harness.engine, runId, (event) => event.type === 'task_waiting' && event.payload.key === 'decisions:topic:1');
  await openedHoursAgo(runId, 'gates:topic', 2);

  // One post, for the approved topic; the other topic still waits for a supervisor, but no run waits for it.
  await waitForDecisionWait(harness.engine, runId, 'blog_post');
  const posts = (await request('GET', `/api/v1/content/posts?company_id=${companyId}`)).body.posts as Array<{ id: string; topic_id: string }>;
  expect(posts.map((post) => post.topic_id)).toEqual([approved!.id]);
  expect((await request('GET', `/api/v1/content/topics/${undecided!.id}`)).body.status).toBe('pending_approval');
  await expectRewrittenByItsOwnJob(runId, undecided!);

  expect((await request('POST', `/api/v1/content/posts/${posts[0]!.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  const run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 60_000);
  expect(run.status, JSON.stringify(run.error)).toBe('completed');
  expect(run.result).toMatchObject({ topics: 2, topics_approved: 1, blog_posts: 1, blog_posts_approved: 1 });
}, 120_000);
