/**
 * Every content row records the model that wrote it, so text from the offline stand-in stays
 * labelled after a provider is configured; `GET /api/v1/ai/status` says when the writing model is
 * the offline one even though another provider (research alone) is configured; and a
 * content_pipeline run with `reuse_existing` writes offline DNA and personas again once a
 * provider serves them, instead of building a month on stand-ins.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForTask } from '../../src/kit/testing.ts';
import { OfflineLanguageModel } from '../../src/llm/index.ts';
import { startContentHarness, type ContentHarness } from './helpers.ts';

let harness: ContentHarness;

beforeAll(async () => {
  // The offline model's text behind a provider of its own (`mock:writer`): a provider's model as
  // far as the pipeline can tell, which is what these tests are about.
  harness = await startContentHarness({ writer: new OfflineLanguageModel('default') });
});

afterAll(async () => {
  await harness?.close();
});

const runInput = { posts_count: 1, auto_select_personas: true, auto_approve: true, min_words: 200, max_words: 500, platforms: ['twitter'] };

async function runMonth(companyId: string, month: number): Promise<{ stages: unknown[]; personas: string[] }> {
  const started = await harness.request('POST', `/api/v1/ai/companies/${companyId}/content-pipeline/`, { body: { ...runInput, year: 2027, month }, key: harness.keys.admin });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const run = await waitForTask(harness.engine, started.body.job_id, ['completed', 'failed', 'cancelled'], 120_000);
  expect(run.status, JSON.stringify(run.error)).toBe('completed');
  const events = await harness.engine.readEvents({ taskId: run.id });
  return { stages: events.filter((event) => event.type === 'pipeline_stage').map((event) => event.payload.stage), personas: (run.result as { personas: string[] }).personas };
}

async function models(companyId: string): Promise<Record<string, string[]>> {
  const query = async (sql: string): Promise<string[]> => (await harness.db.pool.query<{ model: string | null }>(sql, [companyId])).rows.map((row) => row.model ?? 'null');
  return {
    dna: await query('SELECT model FROM content_company_dna WHERE company_id = $1'),
    personas: await query('SELECT DISTINCT model FROM content_personas WHERE company_id = $1'),
    topics: await query('SELECT DISTINCT model FROM content_topics WHERE company_id = $1'),
    blog_posts: await query('SELECT DISTINCT model FROM content_blog_posts WHERE company_id = $1'),
    social_posts: await query('SELECT DISTINCT model FROM content_social_posts WHERE company_id = $1'),
  };
}

it('records the model of every row, and writes offline DNA and personas again once a provider serves them', async () => {
  const { request } = harness;
  const companyId = (await request('POST', '/api/v1/content/companies', { body: { name: 'Stand-in Roasters', plan: 'free' } })).body.id as string;
  const first = await runMonth(companyId, 3);
  expect(first.stages).toEqual(expect.arrayContaining(['dna', 'personas']));
  const written = { dna: ['mock:writer'], personas: ['mock:writer'], topics: ['mock:writer'], blog_posts: ['mock:writer'], social_posts: ['mock:writer'] };
  expect(await models(companyId)).toEqual(written);
  // The API shows it on each row.
  const post = (await request('GET', `/api/v1/content/posts?company_id=${companyId}`)).body.posts[0];
  expect(post.model).toBe('mock:writer');
  expect((await request('GET', `/api/v1/content/companies/${companyId}/personas`)).body.personas[0].model).toBe('mock:writer');

  // Reused as they are: a provider wrote them.
  const second = await runMonth(companyId, 4);
  expect(second.stages).not.toContain('dna');
  expect(second.stages).not.toContain('personas');
  expect(second.personas).toEqual(first.personas);

  // A company researched and given personas before a key was set: the offline model wrote them.
  await harness.db.pool.query("UPDATE content_company_dna SET model = 'offline:default' WHERE company_id = $1", [companyId]);
  await harness.db.pool.query("UPDATE content_personas SET model = 'offline:default' WHERE company_id = $1", [companyId]);
  const third = await runMonth(companyId, 5);
  expect(third.stages).toEqual(expect.arrayContaining(['dna', 'personas']));
  expect((await models(companyId)).dna).toEqual(['mock:writer']);
  // The month is written for the new personas, not the stand-ins.
  const selected = (await harness.db.pool.query<{ model: string }>('SELECT DISTINCT model FROM content_personas WHERE id = ANY($1::uuid[])', [third.personas])).rows;
  expect(selected).toEqual([{ model: 'mock:writer' }]);
  expect(third.personas.some((id) => first.personas.includes(id))).toBe(false);

  // Stand-ins a marketer has edited are theirs: kept, whoever wrote them first.
  await harness.db.pool.query("UPDATE content_company_dna SET model = 'offline:default' WHERE company_id = $1", [companyId]);
  await harness.db.pool.query("UPDATE content_personas SET model = 'offline:default' WHERE company_id = $1", [companyId]);
  const editedDna = await request('PATCH', `/api/v1/content/companies/${companyId}/dna`, { body: { mission: 'Roast what the farmers are proud of.' }, key: harness.keys.marketer });
  expect(editedDna.status, JSON.stringify(editedDna.body)).toBe(200);
  const editedPersona = await request('PATCH', `/api/v1/content/personas/${third.personas[0]}`, { body: { name: 'Marta the Roaster' }, key: harness.keys.marketer });
  expect(editedPersona.status, JSON.stringify(editedPersona.body)).toBe(200);
  const fourth = await runMonth(companyId, 6);
  expect(fourth.stages).not.toContain('dna');
  expect(fourth.stages).not.toContain('personas');
  expect((await request('GET', `/api/v1/content/companies/${companyId}/dna`)).body.data.mission).toBe('Roast what the farmers are proud of.');
  expect((await request('GET', `/api/v1/content/personas/${third.personas[0]}`)).body.name).toBe('Marta the Roaster');
}, 300_000);

it('says the writing is offline when a provider is configured for research alone', async () => {
  const researchOnly = await startContentHarness({ worker: false, config: { perplexityApiKey: 'pplx-test-key-never-called' } });
  try {
    const status = (await researchOnly.request('GET', '/api/v1/ai/status')).body;
    expect(status).toMatchObject({ offline: false, writing_offline: true, writing_model: 'offline:default', research_offline: false, research_model: 'perplexity:sonar-pro' });
  } finally {
    await researchOnly.close();
  }
});
