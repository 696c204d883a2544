/**
 * A row decided again while something else acts on it, on a mock writing model that answers as
 * the offline model does but can hold a topic's rewrite until the test lets it go:
 * - a topic rejected without regenerate, then edited, submitted again and approved while its run
 *   waits, reaches the run (and one submitted again gets a new gate);
 * - a rewrite (the run's, or a rejection's own job) that a person's submit and approval overtook
 *   writes nothing: the newer decision stands, and the run goes on with it;
 * - a rejection with regenerate whose process dies around the submit of its job (written in the
 *   deciding transaction): nothing happened, job included, and the supervisor rejects again; the
 *   regeneration is never lost and never runs twice;
 * - a post submitted and approved by hand while its stage's other posts are still being written
 *   (before the run opens its gate) counts as approved, and the run goes on;
 * - a topic submitted again after the topic phase ended stays out of the run, which goes on with
 *   its posts;
 * - a post rewritten at its rejection counts its rewrite's model calls in the run's usage, once.
 */
import type { LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/pool.ts';
import type { SubmitRequest, SubmitResult } from '../../src/engine/index.ts';
import { waitForTask } from '../../src/kit/testing.ts';
import { OfflineLanguageModel } from '../../src/llm/index.ts';
import { outlineInstructions } from '../../src/pipelines/content/prompts.ts';
import { eventually } from '../support/engine.ts';
import { callText } from '../support/model-calls.ts';
import { companyWithTopics, runJob, startContentHarness, waitForDecisionWait, waitForEvent, type ContentHarness } from './helpers.ts';

const offline = new OfflineLanguageModel('default');

/** While set, a topic's rewrite (its prompt quotes the rejection) waits for `release`. */
let held: { started: () => void; release: Promise<void> } | undefined;
/** While set, the next blog post outline waits for `release` (the hold is taken by that call). */
let heldOutline: typeof held;

const writer = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'writer',
  doGenerate: async (options: LanguageModelV4CallOptions) => {
    const user = options.prompt.flatMap((message) => (message.role === 'user' ? message.content.map((part) => (part.type === 'text' ? part.text : '')) : [])).join('\n');
    if (held && user.includes('The supervisor rejected this topic')) {
      const hold = held;
      hold.started();
      await hold.release;
    }
    if (heldOutline && callText(options).system.startsWith(outlineInstructions)) {
      const hold = heldOutline;
      heldOutline = undefined;
      hold.started();
      await hold.release;
    }
    return offline.doGenerate(options);
  },
});

interface Hold { started: () => void; release: Promise<void> }

/** A hold for the next call it matches: `started` resolves when that call begins; `release` lets it answer. */
function holdNext(set: (hold: Hold | undefined) => void): { started: Promise<void>; release: () => void } {
  let started!: () => void;
  let release!: () => void;
  const startedPromise = new Promise<void>((resolve) => {
    started = resolve;
  });
  set({ started, release: new Promise<void>((resolve) => {
    release = resolve;
  }) });
  return { started: startedPromise, release: () => {
    set(undefined);
    release();
  } };
}

/** Holds the next blog post's outline. */
const holdNextOutline = () => holdNext((hold) => {
  heldOutline = hold;
});

/** Holds the next topic rewrite. */
const holdNextRewrite = () => holdNext((hold) => {
  held = hold;
});

let harness: ContentHarness;

beforeAll(async () => {
  harness = await startContentHarness({ writer });
});

afterAll(async () => {
  held = undefined;
  heldOutline = undefined;
  await harness?.close();
});

interface Row {
  id: string;
  title: string;
  status: string;
  version: number;
}

async function startRun(name: string, postsCount: number): Promise<{ companyId: string; runId: string }> {
  const company = (await harness.request('POST', '/api/v1/content/companies', { body: { name, plan: 'free' } })).body;
  const started = await harness.request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: { year: 2027, month: 9, posts_count: postsCount, auto_select_personas: true, min_words: 200, max_words: 500, platforms: ['twitter'] } });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return { companyId: company.id as string, runId: started.body.job_id as string };
}

async function topic(id: string): Promise<Row> {
  return (await harness.request('GET', `/api/v1/content/topics/${id}`)).body;
}

async function pendingTopics(companyId: string): Promise<Row[]> {
  return (await harness.request('GET', `/api/v1/content/topics?company_id=${companyId}&status=pending_approval`)).body.topics;
}

async function postTopics(companyId: string): Promise<string[]> {
  return ((await harness.request('GET', `/api/v1/content/posts?company_id=${companyId}`)).body.posts as Array<{ topic_id: string }>).map((post) => post.topic_id).sort();
}

/** A company with `count` topics pending approval that no run waits for. */
async function companyWithPendingTopics(name: string, count: number): Promise<{ companyId: string; topics: Row[] }> {
  const { companyId } = await companyWithTopics(harness, { name, year: 2027, month: 10, count });
  const topics = await pendingTopics(companyId);
  expect(topics).toHaveLength(count);
  return { companyId, topics };
}

/**
 * The deciding transaction dies at the engine's next submit of a job for `topicId`: before the
 * job is written, or after it was written in that transaction (`submitted` gives the task it
 * wrote). Other submits go through; the engine's own submit is back once it has died.
 */
function dieAtNextSubmit(engine: ContentHarness['engine'], topicId: string, when: 'before' | 'after'): { submitted: Promise<SubmitResult> } {
  const submitWithin = engine.submitWithin.bind(engine);
  let resolveSubmitted!: (result: SubmitResult) => void;
  const submitted = new Promise<SubmitResult>((resolve) => {
    resolveSubmitted = resolve;
  });
  engine.submitWithin = async (transaction: Queryable, submitRequest: SubmitRequest): Promise<SubmitResult> => {
    if ((submitRequest.input as { topic_id?: string }).topic_id !== topicId) return submitWithin(transaction, submitRequest);
    engine.submitWithin = submitWithin;
    if (when === 'after') resolveSubmitted(await submitWithin(transaction, submitRequest));
    throw new Error(`simulated crash ${when} the regeneration job's submit`);
  };
  return { submitted };
}

it('hears a topic rejected without regenerate, then edited, submitted again and approved while the run waits', async () => {
  const { request, keys } = harness;
  const { companyId, runId } = await startRun('Second Chance Roasters', 3);
  await waitForDecisionWait(harness.engine, runId, 'topic');
  const [approvedAgain, submittedAgain, approved] = await pendingTopics(companyId) as [Row, Row, Row];

  for (const rejected of [approvedAgain, submittedAgain]) {
    expect((await request('POST', `/api/v1/content/topics/${rejected.id}/reject`, { key: keys.supervisor, body: { reason: 'Not for this audience' } })).body).toMatchObject({ status: 'rejected', regeneration_job_id: null });
    expect((await request('PATCH', `/api/v1/content/topics/${rejected.id}`, { body: { title: `${rejected.title} (for home baristas)` } })).status).toBe(200);
    expect((await request('POST', `/api/v1/content/topics/${rejected.id}/submit-for-approval`)).body).toMatchObject({ status: 'pending_approval' });
  }
  // Approved with no gate open for it: the run hears of it only when it reads the row again.
  expect((await request('POST', `/api/v1/content/topics/${approvedAgain.id}/approve`, { key: keys.supervisor })).body).toMatchObject({ status: 'approved' });

  // Counts approval_requested events for the topic submitted again: its second is the new gate's.
  let requested = 0;
  const reopened = waitForEvent(harness.engine, runId, (event) => event.type === 'approval_requested' && event.payload.id === submittedAgain.id && (requested += 1) === 2, 30_000);
  expect((await request('POST', `/api/v1/content/topics/${approved.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  expect((await reopened).payload).toMatchObject({ kind: 'topic', id: submittedAgain.id, version: submittedAgain.version });
  expect((await request('POST', `/api/v1/content/topics/${submittedAgain.id}/approve`, { key: keys.supervisor })).body).toMatchObject({ status: 'approved' });

  await waitForDecisionWait(harness.engine, runId, 'blog_post');
  expect(await postTopics(companyId)).toEqual([approvedAgain.id, submittedAgain.id, approved.id].sort());
  expect((await request('POST', `/api/v1/ai/jobs/${runId}/cancel/`)).status).toBe(200);
}, 120_000);

it('lets a person\'s submit and approval made while the run rewrites the topic stand, and goes on with it', async () => {
  const { request, keys } = harness;
  const { companyId, runId } = await startRun('Overtaken Roasters', 2);
  await waitForDecisionWait(harness.engine, runId, 'topic');
  const [overtaken, other] = await pendingTopics(companyId) as [Row, Row];

  const rewrite = holdNextRewrite();
  expect((await request('POST', `/api/v1/content/topics/${overtaken.id}/reject`, { key: keys.supervisor, body: { reason: 'Too generic', regenerate: true } })).body).toMatchObject({ status: 'rejected', regeneration_job_id: runId });
  await rewrite.started;
  // While the model writes, a person edits, submits and approves the topic themselves.
  const title = 'Cold brew ratios for home baristas';
  expect((await request('PATCH', `/api/v1/content/topics/${overtaken.id}`, { body: { title } })).status).toBe(200);
  expect((await request('POST', `/api/v1/content/topics/${overtaken.id}/submit-for-approval`)).status).toBe(200);
  expect((await request('POST', `/api/v1/content/topics/${overtaken.id}/approve`, { key: keys.supervisor })).body).toMatchObject({ status: 'approved' });
  rewrite.release();

  // The rewrite's step committed (its event with it) and wrote nothing over the newer decision.
  await waitForEvent(harness.engine, runId, (event) => event.type === 'topic_regenerated' && event.payload.topic_id === overtaken.id, 30_000);
  expect(await topic(overtaken.id)).toMatchObject({ status: 'approved', title, version: overtaken.version });

  expect((await request('POST', `/api/v1/content/topics/${other.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  await waitForDecisionWait(harness.engine, runId, 'blog_post');
  expect(await postTopics(companyId)).toEqual([overtaken.id, other.id].sort());
  expect(await topic(overtaken.id)).toMatchObject({ status: 'approved', title, version: overtaken.version });
  expect((await request('POST', `/api/v1/ai/jobs/${runId}/cancel/`)).status).toBe(200);
}, 120_000);

it('lets a person\'s submit and approval made while a rejection\'s own job rewrites the topic stand', async () => {
  const { request, keys } = harness;
  const { topics: [overtaken] } = await companyWithPendingTopics('Standalone Roasters', 1);

  const rewrite = holdNextRewrite();
  const rejected = await request('POST', `/api/v1/content/topics/${overtaken!.id}/reject`, { key: keys.supervisor, body: { reason: 'Too generic', regenerate: true } });
  expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
  await rewrite.started;
  expect((await request('POST', `/api/v1/content/topics/${overtaken!.id}/submit-for-approval`)).status).toBe(200);
  expect((await request('POST', `/api/v1/content/topics/${overtaken!.id}/approve`, { key: keys.supervisor })).body).toMatchObject({ status: 'approved' });
  rewrite.release();

  const job = await waitForTask(harness.engine, rejected.body.regeneration_job_id, ['completed', 'failed', 'cancelled'], 60_000);
  expect(job.status, JSON.stringify(job.error)).toBe('completed');
  expect(await topic(overtaken!.id)).toMatchObject({ status: 'approved', title: overtaken!.title, version: overtaken!.version });
  expect(job.result).toMatchObject({ rewritten: false, topics: 0 });
}, 120_000);

it('never loses a rejection\'s regeneration to a process dying around its submit, and never runs it twice', async () => {
  const { request, keys } = harness;
  const { companyId, topics: [diedBefore, diedAfter] } = await companyWithPendingTopics('Crashing Roasters', 2);
  const engine = harness.engine;
  const submitWithin = engine.submitWithin.bind(engine);
  const rejectWithRegenerate = (id: string) => request('POST', `/api/v1/content/topics/${id}/reject`, { key: keys.supervisor, body: { reason: 'Name one brewing method', regenerate: true } });

  try {
    // Died before the job was written: the rejection did not commit either, so nothing is half done.
    dieAtNextSubmit(engine, diedBefore!.id, 'before');
    expect((await rejectWithRegenerate(diedBefore!.id)).status).toBe(500);
    expect(await topic(diedBefore!.id)).toMatchObject({ status: 'pending_approval', version: diedBefore!.version });

    // Died after the job was written in the deciding transaction, before it committed: the job
    // went with the rejection.
    const orphan = dieAtNextSubmit(engine, diedAfter!.id, 'after');
    expect((await rejectWithRegenerate(diedAfter!.id)).status).toBe(500);
    await expect(engine.getTask((await orphan.submitted).task.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(await topic(diedAfter!.id)).toMatchObject({ status: 'pending_approval', version: diedAfter!.version });
  } finally {
    engine.submitWithin = submitWithin;
  }

  // The supervisor rejects again: each topic is rewritten once, by the new rejection's job.
  for (const row of [diedBefore!, diedAfter!]) {
    const rejected = await rejectWithRegenerate(row.id);
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    const job = await waitForTask(engine, rejected.body.regeneration_job_id, ['completed', 'failed', 'cancelled'], 60_000);
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    expect(job.result).toMatchObject({ rewritten: true, version: row.version + 1 });
    expect(await topic(row.id)).toMatchObject({ status: 'pending_approval', version: row.version + 1 });
  }
  const jobs = (await request('GET', `/api/v1/ai/companies/${companyId}/jobs/`)).body.jobs as Array<{ id: string; job_type: string; topic_id: string | null; result_data: { rewritten?: boolean } | null }>;
  for (const row of [diedBefore!, diedAfter!]) {
    expect(jobs.filter((job) => job.job_type === 'generate_topics' && job.topic_id === row.id && job.result_data?.rewritten === true)).toHaveLength(1);
  }
}, 180_000);

it('leaves no job of a blog post rejection that died before it committed', async () => {
  const { request, keys } = harness;
  const { companyId, topics: [approved] } = await companyWithPendingTopics('Crashing Bakers', 1);
  expect((await request('POST', `/api/v1/content/topics/${approved!.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  await runJob(harness, companyId, 'generate-blogpost', { topic_id: approved!.id, min_words: 200, max_words: 500 });
  const [post] = (await request('GET', `/api/v1/content/posts?company_id=${companyId}`)).body.posts as Array<Row & { content: string }>;
  expect(post).toMatchObject({ status: 'pending_approval' });
  const engine = harness.engine;
  const submitWithin = engine.submitWithin.bind(engine);

  const orphan = dieAtNextSubmit(engine, approved!.id, 'after');
  try {
    expect((await request('POST', `/api/v1/content/posts/${post!.id}/reject`, { key: keys.supervisor, body: { reason: 'Open with a recipe', regenerate: true } })).status).toBe(500);
  } finally {
    engine.submitWithin = submitWithin;
  }
  await expect(engine.getTask((await orphan.submitted).task.id)).rejects.toMatchObject({ code: 'not_found' });
  expect((await request('GET', `/api/v1/content/posts/${post!.id}`)).body).toMatchObject({ status: 'pending_approval', version: post!.version, content: post!.content });

  const rejected = await request('POST', `/api/v1/content/posts/${post!.id}/reject`, { key: keys.supervisor, body: { reason: 'Open with a recipe', regenerate: true } });
  expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
  const job = await waitForTask(engine, rejected.body.regeneration_job_id, ['completed', 'failed', 'cancelled'], 60_000);
  expect(job.status, JSON.stringify(job.error)).toBe('completed');
  expect((await request('GET', `/api/v1/content/posts/${post!.id}`)).body).toMatchObject({ status: 'pending_approval', version: post!.version + 1 });
}, 180_000);

it('counts a post submitted and approved by hand before the run opened its gate as approved, and goes on', async () => {
  const { request, keys } = harness;
  const { companyId, runId } = await startRun('Early Bird Roasters', 2);
  await waitForDecisionWait(harness.engine, runId, 'topic');
  // One post is written and waits as a draft while the other's outline is held: its stage's gate
  // opens only when both are written.
  const outline = holdNextOutline();
  for (const row of await pendingTopics(companyId)) expect((await request('POST', `/api/v1/content/topics/${row.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  await outline.started;
  const draft = await eventually(async () => ((await request('GET', `/api/v1/content/posts?company_id=${companyId}&status=draft`)).body.posts as Array<{ id: string }>)[0]);
  expect((await request('POST', `/api/v1/content/posts/${draft.id}/submit-for-approval`)).body).toMatchObject({ status: 'pending_approval' });
  expect((await request('POST', `/api/v1/content/posts/${draft.id}/approve`, { key: keys.supervisor })).body).toMatchObject({ status: 'approved' });
  outline.release();

  await waitForDecisionWait(harness.engine, runId, 'blog_post');
  const pending = (await request('GET', `/api/v1/content/posts?company_id=${companyId}&status=pending_approval`)).body.posts as Array<{ id: string }>;
  expect(pending.map((post) => post.id)).not.toContain(draft.id);
  for (const post of pending) expect((await request('POST', `/api/v1/content/posts/${post.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  // Both posts approved: the run writes their social posts and ends, not waiting for a decision
  // that was made before its gate opened.
  const run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 30_000);
  expect(run.status).toBe('completed');
  expect(run.result).toMatchObject({ blog_posts: 2, blog_posts_approved: 2 });
}, 120_000);

it('keeps a topic submitted again after the topic phase ended out of the run, which goes on with its posts', async () => {
  const { request, keys } = harness;
  const { companyId, runId } = await startRun('Moved On Roasters', 2);
  await waitForDecisionWait(harness.engine, runId, 'topic');
  const [rejected, approved] = await pendingTopics(companyId) as [Row, Row];
  expect((await request('POST', `/api/v1/content/topics/${rejected.id}/reject`, { key: keys.supervisor, body: { reason: 'Off-brand' } })).status).toBe(200);
  const outline = holdNextOutline();
  expect((await request('POST', `/api/v1/content/topics/${approved.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  // The topic phase has ended: the run is writing the approved topic's post.
  await outline.started;
  expect((await request('PATCH', `/api/v1/content/topics/${rejected.id}`, { body: { title: `${rejected.title} (reworked)` } })).status).toBe(200);
  expect((await request('POST', `/api/v1/content/topics/${rejected.id}/submit-for-approval`)).body).toMatchObject({ status: 'pending_approval' });
  outline.release();

  await waitForDecisionWait(harness.engine, runId, 'blog_post', 20_000);
  const open = await harness.db.pool.query("SELECT gate_key FROM content_gates WHERE run_task_id = $1 AND kind = 'topic' AND decided_at IS NULL", [runId]);
  expect(open.rows).toEqual([]);
  expect(await postTopics(companyId)).toEqual([approved.id]);
  expect((await request('POST', `/api/v1/ai/jobs/${runId}/cancel/`)).status).toBe(200);
}, 120_000);

it('counts a rewritten post\'s model calls in the run\'s usage, once', async () => {
  const { request, keys } = harness;
  const { companyId, runId } = await startRun('Rewrite Roasters', 1);
  await waitForDecisionWait(harness.engine, runId, 'topic');
  const [row] = await pendingTopics(companyId) as [Row];
  expect((await request('POST', `/api/v1/content/topics/${row.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  await waitForDecisionWait(harness.engine, runId, 'blog_post');
  const [post] = (await request('GET', `/api/v1/content/posts?company_id=${companyId}&status=pending_approval`)).body.posts as Row[];
  expect((await request('POST', `/api/v1/content/posts/${post!.id}/reject`, { key: keys.supervisor, body: { reason: 'Too generic', regenerate: true } })).status).toBe(200);
  await eventually(async () => {
    const now = (await request('GET', `/api/v1/content/posts/${post!.id}`)).body as Row;
    return now.status === 'pending_approval' && now.version === post!.version + 1;
  });
  expect((await request('POST', `/api/v1/content/posts/${post!.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  const run = await waitForTask(harness.engine, runId, ['completed', 'failed', 'cancelled'], 60_000);
  expect(run.status).toBe('completed');
  // The first post's job and its rewrite's, each counted once.
  const writers = (await harness.engine.listChildren(runId)).filter((child) => child.task_type === 'generate_blogpost');
  expect(writers).toHaveLength(2);
  const calls = writers.reduce((sum, child) => sum + ((child.result as { llm_usage?: { calls: number } }).llm_usage?.calls ?? 0), 0);
  expect(calls).toBeGreaterThan(0);
  expect((run.result as { llm_usage_by_stage: Record<string, { calls: number }> }).llm_usage_by_stage.blogposts!.calls).toBe(calls);
  expect(run.result).toMatchObject({ blog_post_rewrites_failed: [] });
}, 120_000);

it('takes more rejections with regenerate at once than the pool has connections, each with its job', async () => {
  const { request, keys } = harness;
  const count = harness.db.pool.options.max + 4;
  const { topics } = await companyWithPendingTopics('Busy Roasters', count);
  // Every deciding transaction that got a connection reaches its job's submit before any goes
  // on (or, once no more arrive, those that did): the moment a submit that needed a second
  // connection found none left.
  const engine = harness.engine;
  const submitWithin = engine.submitWithin.bind(engine);
  const submit = engine.submit.bind(engine);
  let arrived = 0;
  let open!: () => void;
  const together = new Promise<void>((resolve) => {
    open = resolve;
  });
  let quiet: NodeJS.Timeout | undefined;
  const arrive = async (request: SubmitRequest): Promise<void> => {
    if (!request.taskType.startsWith('generate_topics') || (request.input as { rejected_at?: string }).rejected_at === undefined) return;
    arrived += 1;
    clearTimeout(quiet);
    if (arrived >= count) open();
    else quiet = setTimeout(open, 2_000);
    await together;
  };
  engine.submitWithin = async (transaction: Queryable, submitRequest: SubmitRequest): Promise<SubmitResult> => {
    await arrive(submitRequest);
    return submitWithin(transaction, submitRequest);
  };
  engine.submit = async (submitRequest: SubmitRequest): Promise<SubmitResult> => {
    await arrive(submitRequest);
    return submit(submitRequest);
  };
  let rejected: Array<{ status: number; body: any }>;
  try {
    rejected = await Promise.all(topics.map((row) => request('POST', `/api/v1/content/topics/${row.id}/reject`, { key: keys.supervisor, body: { reason: 'Name one brewing method', regenerate: true } })));
  } finally {
    clearTimeout(quiet);
    engine.submitWithin = submitWithin;
    engine.submit = submit;
  }
  expect(rejected.map((answer) => answer.status)).toEqual(topics.map(() => 200));
  for (const answer of rejected) {
    const job = await waitForTask(harness.engine, answer.body.regeneration_job_id as string, ['completed', 'failed', 'cancelled'], 60_000);
    expect(job.result).toMatchObject({ rewritten: true });
  }
}, 180_000);
