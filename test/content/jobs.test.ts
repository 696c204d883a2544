/**
 * The seed's jobs one by one through `/api/v1/ai/`, on a mock writing model at the spec interface
 * (everything else answered by the offline model): job shapes and statuses, the SSE stream, stats,
 * platform rules enforced (a broken post regenerated with the broken rules in the prompt; one that
 * never complies fails with platform_rules_violated), a rejected topic no run waits for rewritten
 * by a generate_topics job that sees the reason, a cancelled job keeping what it saved, an image
 * through a mock image model, and bad input answered 4xx with nothing written.
 */
import type { LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { MockImageModelV4, MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForTask } from '../../src/kit/testing.ts';
import { OfflineLanguageModel } from '../../src/llm/index.ts';
import { socialInstructions, topicsInstructions } from '../../src/pipelines/content/prompts.ts';
import { yearOfComingMonth } from '../../src/pipelines/content/schemas.ts';
import { jsonResult } from '../llm/helpers.ts';
import { openSse } from '../support/http.ts';
import { callText } from '../support/model-calls.ts';

/** A model's JSON answer, with the token counts these tests' usage figures come from. */
const jsonAnswer = (value: unknown) => jsonResult(value, { input: 50, output: 40 });
import { contentRowCounts, runJob, startContentHarness, waitForEvent, type ContentHarness } from './helpers.ts';

const offline = new OfflineLanguageModel('default');
const socialPrompts: string[] = [];
const topicPrompts: string[] = [];
/** Topics for this persona hang until the call is aborted (the cancellation test). */
let slowPersona: string | undefined;

const writer = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'writer',
  doGenerate: async (options: LanguageModelV4CallOptions) => {
    const { system, user } = callText(options);
    if (system.startsWith(socialInstructions)) {
      socialPrompts.push(user);
      // LinkedIn's first answer repeats hashtags: 5 items pass the schema, 2 remain, the rule wants 3-5.
      if (user.includes('Platform: linkedin')) {
        return user.includes('broke the rules')
          ? jsonAnswer({ text: 'What we learned roasting for cold brew.', hashtags: ['coffee', 'coldbrew', 'roasting', 'Roasting', 'coffee'], cta_text: 'Read the post' })
          : jsonAnswer({ text: 'What we learned roasting for cold brew.', hashtags: ['coffee', 'Coffee', 'COFFEE', 'roasting', 'Roasting'], cta_text: 'Read the post' });
      }
      // Instagram never complies: seven hashtags that are one.
      if (user.includes('Platform: instagram')) return jsonAnswer({ text: 'A cup.', hashtags: ['cup', 'Cup', 'CUP', '#cup', 'cUp', 'cuP', 'CUp'], cta_text: 'Link in bio' });
      return jsonAnswer({ text: 'Cold brew at home, step by step.', hashtags: ['coldbrew', 'homebrew'], cta_text: 'Read more' });
    }
    if (system.startsWith(topicsInstructions)) topicPrompts.push(user);
    if (slowPersona && system.startsWith(topicsInstructions) && user.includes(`Persona: ${slowPersona} `)) {
      await new Promise((_resolve, reject) => options.abortSignal?.addEventListener('abort', () => reject(options.abortSignal?.reason), { once: true }));
    }
    return offline.doGenerate(options);
  },
});

const painter = new MockImageModelV4({
  provider: 'mock-images',
  modelId: 'painter',
  // A 1x1 PNG: what matters is that the bytes stored are the bytes the model returned.
  doGenerate: async () => ({ images: ['iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='], warnings: [], response: { timestamp: new Date(), modelId: 'painter', headers: {} } }),
});

let harness: ContentHarness;
let companyId: string;

beforeAll(async () => {
  harness = await startContentHarness({ writer, imageModel: painter });
});

afterAll(async () => {
  await harness?.close();
});

it('runs the seed\'s jobs one by one with their shapes, stream and stats', async () => {
  const { request, keys } = harness;
  companyId = (await request('POST', '/api/v1/content/companies', { body: { name: 'Acme Roasters', plan: 'pro' } })).body.id;

  const dna = await runJob(harness, companyId, 'scrape-dna', {});
  expect(dna).toMatchObject({ job_type: 'generate_dna', queue: 'ai_priority', status: 'completed', progress: 100, company_id: companyId, error_message: '' });
  expect(dna.result_data.llm_usage.calls).toBe(1);
  expect(dna.started_at).not.toBeNull();
  expect(dna.completed_at).not.toBeNull();

  // The SSE stream of a finished job sends its final state and ends.
  const stream = await fetch(`${harness.server.url}/api/v1/ai/jobs/${dna.id}/stream/?api_key=${keys.supervisor}`);
  expect(stream.headers.get('content-type')).toContain('text/event-stream');
  const frames = (await stream.text()).split('\n\n').filter((frame) => frame.includes('data: '));
  expect(frames).toHaveLength(1);
  expect(JSON.parse(frames[0]!.split('data: ')[1]!)).toMatchObject({ id: dna.id, status: 'completed', progress: 100 });
  // Labelled with the job's newest event: EventSource reconnects with it and gets 204, and stops.
  const newestId = /^id: (\d+)$/m.exec(frames[0]!)?.[1];
  expect(Number(newestId)).toBeGreaterThan(0);
  const reconnect = await fetch(`${harness.server.url}/api/v1/ai/jobs/${dna.id}/stream/?api_key=${keys.supervisor}`, { headers: { 'last-event-id': newestId! } });
  expect(reconnect.status).toBe(204);

  const personas = await runJob(harness, companyId, 'generate-personas', {});
  expect(personas.result_data.personas).toBe(6);
  const listed = (await request('GET', `/api/v1/content/companies/${companyId}/personas`)).body.personas as Array<{ id: string; name: string; archetype: string; mbti: string; values: string[] }>;
  expect(listed).toHaveLength(6);
  for (const persona of listed) {
    expect(persona.values.length).toBeGreaterThanOrEqual(3);
    expect(persona.mbti).toMatch(/^[EI][NS][TF][JP]$/);
  }
  // The pro plan allows six; a seventh id is refused; three are selected.
  const ids = listed.map((persona) => persona.id);
  expect((await request('POST', '/api/v1/content/personas/select', { body: { company_id: companyId, persona_ids: [...ids.slice(0, 2)] } })).status).toBe(400);
  expect((await request('POST', '/api/v1/content/personas/select', { body: { company_id: companyId, persona_ids: ids.slice(0, 3) } })).status).toBe(200);

  const topics = await runJob(harness, companyId, 'generate-topics', { year: 2027, month: 2, posts_count: 4 });
  expect(topics.result_data.topics).toBe(4);
  const rows = (await request('GET', `/api/v1/content/topics?company_id=${companyId}&year=2027&month=2`)).body.topics as Array<{ id: string; week_number: number; status: string }>;
  // February 2027 has 28 days: four weeks, one topic each.
  expect(rows.map((topic) => topic.week_number).sort()).toEqual([1, 2, 3, 4]);
  expect(rows.every((topic) => topic.status === 'pending_approval')).toBe(true);

  // A post needs an approved topic: 409 with the status, and nothing queued.
  const refused = await request('POST', `/api/v1/ai/companies/${companyId}/generate-blogpost/`, { body: { topic_id: rows[0]!.id } });
  expect(refused.status).toBe(409);
  expect(refused.body.error.details.current_status).toBe('pending_approval');
  expect((await request('POST', `/api/v1/content/topics/${rows[0]!.id}/approve`, { key: keys.supervisor })).status).toBe(200);
  const post = await runJob(harness, companyId, 'generate-blogpost', { topic_id: rows[0]!.id, min_words: 400, max_words: 800 });
  expect(post.result_data.word_count).toBeGreaterThanOrEqual(400);
  expect(post.result_data.word_count).toBeLessThanOrEqual(800);
  const postId = post.result_data.blog_post_id as string;
  const stored = (await request('GET', `/api/v1/content/posts/${postId}`)).body;
  expect(stored.content.startsWith(`# ${stored.title}`)).toBe(true);
  expect(stored.reading_time_minutes).toBeGreaterThanOrEqual(1);

  // A marketer's edit is recorded; the supervisor edits while approving.
  expect((await request('PATCH', `/api/v1/content/posts/${postId}`, { body: { excerpt: 'A shorter excerpt.' } })).status).toBe(200);
  expect((await request('POST', `/api/v1/content/posts/${postId}/approve`, { key: keys.supervisor, body: { edits: { meta_title: 'Cold brew at home' } } })).body).toMatchObject({ status: 'approved', meta_title: 'Cold brew at home' });
  const edits = (await request('GET', `/api/v1/content/posts/${postId}/edits`)).body.edits as Array<{ edited_by: string; changes: Record<string, unknown> }>;
  expect(edits.map((edit) => Object.keys(edit.changes))).toEqual([['excerpt'], ['meta_title']]);

  const stats = (await request('GET', `/api/v1/ai/companies/${companyId}/jobs/stats/`, { key: keys.supervisor })).body;
  expect(stats).toEqual({ pending: 0, processing: 0, completed: 4, failed: 0, cancelled: 0 });
  expect((await request('GET', `/api/v1/ai/companies/${companyId}/jobs/?status=completed`)).body.jobs).toHaveLength(4);

  // Platform rules: LinkedIn's first answer broke them and was regenerated; one child per platform.
  const social = await runJob(harness, companyId, 'generate-social', { blog_post_id: postId, platforms: ['linkedin', 'twitter'] });
  expect(social.result_data.child_task_ids).toHaveLength(2);
  const linkedinPrompts = socialPrompts.filter((prompt) => prompt.includes('Platform: linkedin'));
  expect(linkedinPrompts).toHaveLength(2);
  expect(linkedinPrompts[1]).toContain('linkedin posts carry 3-5 hashtags; this one has 2');
  const posts = (await request('GET', `/api/v1/content/social-posts?blog_post_id=${postId}`)).body.social_posts as Array<{ platform: string; hashtags: string[]; character_count: number }>;
  expect(posts.map((entry) => [entry.platform, entry.hashtags]).sort()).toEqual([['linkedin', ['#coffee', '#coldbrew', '#roasting']], ['twitter', ['#coldbrew', '#homebrew']]]);
  expect(posts.every((entry) => entry.character_count <= 3000)).toBe(true);

  // A post that never complies is not saved: the job fails, saying which rules.
  const instagram = await runJob(harness, companyId, 'generate-social', { blog_post_id: postId, platforms: ['instagram'] }, 'failed');
  expect(instagram).toMatchObject({ status: 'failed', error_code: 'platform_rules_violated' });
  expect((await request('GET', `/api/v1/content/social-posts?blog_post_id=${postId}`)).body.social_posts).toHaveLength(2);

  // A featured image through the image model: stored as the model's bytes, linked to the post.
  const image = await runJob(harness, companyId, 'generate-image', { target: 'blog_post', target_id: postId });
  const bytes = await fetch(`${harness.server.url}/api/v1/content/images/${image.result_data.image_id}`, { headers: { 'x-api-key': keys.supervisor } });
  expect(bytes.headers.get('content-type')).toBe('image/png');
  expect(Buffer.from(await bytes.arrayBuffer()).toString('base64')).toBe('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==');
  expect((await request('GET', `/api/v1/content/posts/${postId}`)).body.featured_image_id).toBe(image.result_data.image_id);
}, 180_000);

it('rewrites a rejected topic no run waits for: a generate_topics job whose prompt quotes the reason', async () => {
  const { request, keys } = harness;
  const pending = (await request('GET', `/api/v1/content/topics?company_id=${companyId}&year=2027&month=2&status=pending_approval`)).body.topics as Array<{ id: string; title: string; version: number; week_number: number; task_id: string }>;
  const topic = pending[0]!;
  const reason = 'Too vague: name one brewing method';
  const rejected = await request('POST', `/api/v1/content/topics/${topic.id}/reject`, { key: keys.supervisor, body: { reason, regenerate: true } });
  expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
  expect(rejected.body).toMatchObject({ id: topic.id, status: 'rejected', rejection_reason: reason, version: topic.version });
  const jobId = rejected.body.regeneration_job_id as string;
  expect(jobId).toEqual(expect.any(String));
  // No run waits for it: the decision is in the log of the job that wrote the topic.
  const decided = (await harness.engine.readEvents({ taskId: topic.task_id })).filter((event) => event.type === 'approval_decided' && event.payload.id === topic.id);
  expect(decided.map((event) => event.payload)).toEqual([{ company_id: companyId, kind: 'topic', id: topic.id, decision: 'rejected', by: expect.any(String), reason }]);

  expect((await waitForTask(harness.engine, jobId, ['completed', 'failed', 'cancelled'], 60_000)).status).toBe('completed');
  const job = (await request('GET', `/api/v1/ai/jobs/${jobId}/`, { key: keys.supervisor })).body;
  expect(job).toMatchObject({ job_type: 'generate_topics', status: 'completed', topic_id: topic.id, progress: 100, input: { topic_id: topic.id, rejection_reason: reason } });
  expect(job.result_data).toMatchObject({ topic_id: topic.id, version: topic.version + 1, topics: 1 });
  expect(job.result_data.llm_usage.calls).toBe(1);
  expect(topicPrompts.filter((prompt) => prompt.includes(`Reason given: ${reason}`) && prompt.includes(topic.title))).toHaveLength(1);

  // Back for approval as the next version, in the same week; the supervisor can decide again.
  const rewritten = (await request('GET', `/api/v1/content/topics/${topic.id}`)).body;
  expect(rewritten).toMatchObject({ status: 'pending_approval', version: topic.version + 1, week_number: topic.week_number });
  expect((await request('GET', `/api/v1/content/pending-approvals?company_id=${companyId}`)).body.pending).toContainEqual(expect.objectContaining({ kind: 'topic', id: topic.id, version: topic.version + 1 }));
  expect((await request('POST', `/api/v1/content/topics/${topic.id}/approve`, { key: keys.supervisor })).body.status).toBe('approved');
  // A rejection without regeneration submits nothing.
  const other = pending[1]!;
  expect((await request('POST', `/api/v1/content/topics/${other.id}/reject`, { key: keys.supervisor, body: { reason: 'Not this month' } })).body).toMatchObject({ status: 'rejected', regeneration_job_id: null });
  // A marketer may ask for the same rewrite through the seed's generate-topics job.
  const again = await runJob(harness, companyId, 'generate-topics', { topic_id: other.id, rejection_reason: 'Not this month: make it about summer' });
  expect(again.result_data.version).toBe(other.version + 1);
  expect((await request('GET', `/api/v1/content/topics/${other.id}`)).body.status).toBe('pending_approval');
}, 60_000);

it('cancels a running job and keeps what it saved', async () => {
  const personas = (await harness.request('GET', `/api/v1/content/companies/${companyId}/personas`)).body.personas as Array<{ id: string; name: string; status: string }>;
  const active = personas.filter((persona) => persona.status === 'active');
  slowPersona = active[2]!.name;
  const before = (await harness.request('GET', `/api/v1/content/topics?company_id=${companyId}&year=2027&month=5`)).body.topics as unknown[];
  expect(before).toHaveLength(0);
  const started = await harness.request('POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { body: { year: 2027, month: 5, posts_count: 6 } });
  // Two personas' topics are saved as their steps commit; the third hangs until cancelled.
  await waitForEvent(harness.engine, started.body.job_id, (event) => event.type === 'topics_generated' && (event.payload as { persona_id: string }).persona_id === active[1]!.id);
  await waitForEvent(harness.engine, started.body.job_id, (event) => event.type === 'topics_generated' && (event.payload as { persona_id: string }).persona_id === active[0]!.id);
  expect((await harness.request('POST', `/api/v1/ai/jobs/${started.body.job_id}/cancel/`, { key: harness.keys.supervisor })).status).toBe(403);
  // The running job's stream: its state once, labelled with its newest event (no replay of every
  // stored event), then what the cancel changes, and the end.
  const stream = await openSse(`${harness.server.url}/api/v1/ai/jobs/${started.body.job_id}/stream/`, { 'x-api-key': harness.keys.marketer });
  const first = (await stream.next())!;
  expect(first.data).toMatchObject({ id: started.body.job_id, status: 'processing' });
  const stored = await harness.engine.readEvents({ taskId: started.body.job_id });
  expect(first.id).toBe(stored.at(-1)!.id);
  const cancelled = await harness.request('POST', `/api/v1/ai/jobs/${started.body.job_id}/cancel/`);
  expect(cancelled.status).toBe(200);
  const task = await waitForTask(harness.engine, started.body.job_id, ['cancelled', 'completed', 'failed']);
  expect(task.status).toBe('cancelled');
  const later: Array<{ id: number; data: { status: string } }> = [];
  for (let frame = await stream.next(); frame; frame = await stream.next()) later.push(frame as { id: number; data: { status: string } });
  expect(later.at(-1)!.data.status).toBe('cancelled');
  expect(later.every((frame, index) => frame.id > (index === 0 ? first.id : later[index - 1]!.id))).toBe(true);
  slowPersona = undefined;
  const kept = (await harness.request('GET', `/api/v1/content/topics?company_id=${companyId}&year=2027&month=5`)).body.topics as Array<{ persona_id: string }>;
  expect(kept).toHaveLength(4);
  expect(new Set(kept.map((topic) => topic.persona_id))).toEqual(new Set([active[0]!.id, active[1]!.id]));
  expect((await harness.request('GET', `/api/v1/ai/jobs/${started.body.job_id}/`)).body.status).toBe('cancelled');
}, 60_000);

it('plans topics from the seed\'s call: one persona and a month, the year its coming one', async () => {
  const { request } = harness;
  const personas = (await request('GET', `/api/v1/content/companies/${companyId}/personas`)).body.personas as Array<{ id: string; status: string }>;
  const persona = personas.find((entry) => entry.status === 'active')!;
  const month = 11;
  const year = yearOfComingMonth(month);
  const job = await runJob(harness, companyId, 'generate-topics', { persona_id: persona.id, month, posts_count: 3 });
  // Resolved when the job was asked for: the stored input every attempt replays.
  expect(job.input).toMatchObject({ year, month, persona_ids: [persona.id] });
  expect(job.input).not.toHaveProperty('persona_id');
  expect(job.result_data).toMatchObject({ year, month, topics: 3 });
  const topics = (await request('GET', `/api/v1/content/topics?company_id=${companyId}&year=${year}&month=${month}`)).body.topics as Array<{ persona_id: string }>;
  expect(topics.map((topic) => topic.persona_id)).toEqual([persona.id, persona.id, persona.id]);
  // One persona or several, not both.
  const both = await request('POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { body: { persona_id: persona.id, persona_ids: [persona.id], month } });
  expect(both.status).toBe(400);
  expect(JSON.stringify(both.body.error)).toContain('persona_id');
  // A persona that is not this company's, or no one's: refused before anything is queued.
  const otherCompany = (await request('POST', '/api/v1/content/companies', { body: { name: 'Other Roasters' } })).body.id as string;
  const foreign = await request('POST', `/api/v1/ai/companies/${otherCompany}/generate-topics/`, { body: { persona_id: persona.id, month } });
  expect(foreign.status).toBe(409);
  expect(foreign.body.error.details).toMatchObject({ entity: 'persona', id: persona.id });
  const unknown = await request('POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { body: { persona_id: '7d8f2b1e-0000-4000-8000-000000000000', month } });
  expect(unknown.status).toBe(404);
  expect((await request('GET', `/api/v1/ai/companies/${otherCompany}/jobs/`)).body.jobs).toEqual([]);
});

it('answers bad input with 4xx and writes nothing', async () => {
  const { request, keys } = harness;
  const topic = ((await request('GET', `/api/v1/content/topics?company_id=${companyId}&status=approved`)).body.topics as Array<{ id: string }>)[0]!;
  const pendingTopic = ((await request('GET', `/api/v1/content/topics?company_id=${companyId}&status=pending_approval`)).body.topics as Array<{ id: string }>)[0]!;
  const otherCompany = (await request('POST', '/api/v1/content/companies', { key: keys.otherMarketer, body: { name: 'Beta Beans' } })).body.id as string;
  const freeCompany = (await request('POST', '/api/v1/content/companies', { body: { name: 'Free Beans', plan: 'free' } })).body.id as string;
  const counts = await contentRowCounts(harness.db);

  // Images are the pro and ultimate plans' (the seed's [PRO+]), asked for alone or with a post.
  for (const [path, body] of [['generate-image', { target: 'blog_post', target_id: topic.id }], ['generate-blogpost', { topic_id: topic.id, featured_image: true }]] as const) {
    const refused = await request('POST', `/api/v1/ai/companies/${freeCompany}/${path}/`, { body });
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'plan_required', details: { company_id: freeCompany, plan: 'free', plans: ['pro', 'ultimate'] } });
    expect(refused.body.error.message).toContain('"plan": "pro"');
  }
  // The paid plans' queue taken by name through the generic submit: refused for a free company,
  // before anything is queued; the free plan's type is accepted there.
  const tasksBefore = (await harness.db.pool.query("SELECT count(*)::int AS count FROM tasks WHERE tenant = 'alpha'")).rows[0].count as number;
  const jumped = await request('POST', '/api/v1/tasks/submit', { body: { task_type: 'generate_dna@ai_priority', task_data: { company_id: freeCompany }, priority: 100 } });
  expect(jumped.status, JSON.stringify(jumped.body)).toBe(403);
  expect(jumped.body.error).toMatchObject({ code: 'plan_required', details: { company_id: freeCompany, plan: 'free', task_type: 'generate_dna@ai_priority', job_type: 'generate_dna' } });
  expect(jumped.body.error.message).toContain('submit "generate_dna"');
  expect((await harness.db.pool.query("SELECT count(*)::int AS count FROM tasks WHERE tenant = 'alpha'")).rows[0].count).toBe(tasksBefore);
  // Personas are written from the DNA, which this company does not have yet.
  const noDna = await request('POST', `/api/v1/ai/companies/${freeCompany}/generate-personas/`, { body: {} });
  expect(noDna.status).toBe(409);
  expect(noDna.body.error).toMatchObject({ code: 'dna_required', details: { company_id: freeCompany } });
  expect(noDna.body.error.message).toContain(`/api/v1/ai/companies/${freeCompany}/scrape-dna/`);

  const personaIds = ((await request('GET', `/api/v1/content/companies/${companyId}/personas`)).body.personas as Array<{ id: string }>).map((persona) => persona.id);
  const unknownPersona = '7d8f2b1e-0000-4000-8000-000000000000';
  const cases: Array<[string, string, unknown, string | undefined, number]> = [
    // Runs that could only fail on the personas they name, or on having none: refused now.
    ['POST', `/api/v1/ai/companies/${companyId}/content-pipeline/`, { year: 2027, month: 9, persona_ids: personaIds.slice(0, 1) }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${companyId}/content-pipeline/`, { year: 2027, month: 9, persona_ids: [...personaIds.slice(0, 2), unknownPersona] }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${companyId}/content-pipeline/`, { year: 2027, month: 9, persona_ids: [personaIds[0], personaIds[0], personaIds[1]] }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { year: 2027, month: 9, persona_ids: [personaIds[0], personaIds[0]] }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${freeCompany}/generate-topics/`, { year: 2027, month: 9 }, undefined, 409],
    ['POST', '/api/v1/ai/companies/7d8f2b1e-0000-4000-8000-000000000000/scrape-dna/', {}, undefined, 404],
    ['POST', '/api/v1/ai/companies/not-a-uuid/generate-personas/', {}, undefined, 404],
    ['POST', `/api/v1/ai/companies/${otherCompany}/scrape-dna/`, {}, undefined, 404],
    ['POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { year: 2027, month: 13 }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { year: 2027, month: 0, posts_count: 3 }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { year: 2027, month: 3, company_id: otherCompany }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${otherCompany}/generate-blogpost/`, { topic_id: topic.id }, keys.otherMarketer, 404],
    ['POST', `/api/v1/ai/companies/${companyId}/generate-blogpost/`, { topic_id: topic.id, min_words: 900, max_words: 500 }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${companyId}/scrape-dna/`, {}, keys.supervisor, 403],
    ['POST', `/api/v1/content/topics/${topic.id}/approve`, {}, keys.supervisor, 409],
    ['POST', `/api/v1/content/topics/${pendingTopic.id}/approve`, {}, keys.marketer, 403],
    ['POST', `/api/v1/content/topics/${pendingTopic.id}/approve`, {}, keys.otherSupervisor, 404],
    ['POST', `/api/v1/content/topics/${pendingTopic.id}/reject`, { reason: '' }, keys.supervisor, 400],
    ['POST', `/api/v1/content/topics/${pendingTopic.id}/reject`, {}, keys.supervisor, 400],
    // An id that is no uuid names no row: not found, as for every other content route.
    ['POST', '/api/v1/content/topics/not-a-uuid/approve', {}, keys.supervisor, 404],
    ['POST', '/api/v1/content/posts/not-a-uuid/reject', { reason: 'Off brand' }, keys.supervisor, 404],
    // Rewriting one topic needs a rejected topic of this company and a reason.
    ['POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { topic_id: pendingTopic.id, rejection_reason: 'Too vague' }, undefined, 409],
    ['POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { topic_id: pendingTopic.id, rejection_reason: '' }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${companyId}/generate-topics/`, { topic_id: pendingTopic.id, rejection_reason: 'Too vague', year: 2027 }, undefined, 400],
    ['POST', `/api/v1/ai/companies/${otherCompany}/generate-topics/`, { topic_id: pendingTopic.id, rejection_reason: 'Too vague' }, keys.otherMarketer, 404],
    ['PATCH', `/api/v1/content/topics/${pendingTopic.id}`, { week_number: 6 }, undefined, 400],
    ['PATCH', `/api/v1/content/topics/${pendingTopic.id}`, { title: 'Supervisors do not edit' }, keys.supervisor, 403],
    ['GET', `/api/v1/content/topics?company_id=${companyId}&month=13`, undefined, undefined, 400],
    ['POST', '/api/v1/content/companies', { name: '' }, undefined, 400],
    ['POST', '/api/v1/content/companies', { name: 'Gamma', plan: 'platinum' }, undefined, 400],
    ['POST', '/api/v1/content/personas/select', { company_id: otherCompany, persona_ids: [topic.id] }, undefined, 404],
  ];
  for (const [method, path, body, key, status] of cases) {
    const response = await request(method, path, { ...(body === undefined ? {} : { body }), ...(key ? { key } : {}) });
    expect(response.status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(response.body)}`).toBe(status);
    expect(response.body.error.code).toBeTypeOf('string');
  }
  expect(await contentRowCounts(harness.db)).toEqual(counts);
  // The approved topic kept its approval; the pending one is still pending.
  expect((await request('GET', `/api/v1/content/topics/${pendingTopic.id}`)).body.status).toBe('pending_approval');
});
