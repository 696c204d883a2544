/**
 * A content_pipeline run with `auto_select_personas` selects the personas it wrote when it wrote
 * some (`reuse_existing: false`), not the company's first by position, which are the old ones.
 * A selection made while two runs wait for it wakes both. On the offline model.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startContentHarness, waitForDecisionWait, type ContentHarness } from './helpers.ts';

let harness: ContentHarness;

beforeAll(async () => {
  harness = await startContentHarness();
});

afterAll(async () => {
  await harness?.close();
});

interface PersonaRow {
  id: string;
  status: string;
  task_id: string | null;
}

it('selects the personas a run wrote, with reuse_existing false, not the company\'s older ones', async () => {
  const { request } = harness;
  const company = (await request('POST', '/api/v1/content/companies', { body: { name: 'Second Month Roasters', plan: 'free' } })).body;
  const month = { posts_count: 2, min_words: 200, max_words: 500, platforms: ['twitter'], auto_select_personas: true };
  const personasOf = async (): Promise<PersonaRow[]> => (await request('GET', `/api/v1/content/companies/${company.id}/personas`)).body.personas;

  const first = await request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: { year: 2027, month: 3, ...month } });
  expect(first.status, JSON.stringify(first.body)).toBe(202);
  await waitForDecisionWait(harness.engine, first.body.job_id, 'topic');
  expect((await request('POST', `/api/v1/ai/jobs/${first.body.job_id}/cancel`, {})).status).toBe(200);
  const old = await personasOf();
  expect(old.filter((persona) => persona.status === 'active').length).toBeGreaterThan(0);

  const second = await request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: { year: 2027, month: 4, ...month, reuse_existing: false } });
  expect(second.status, JSON.stringify(second.body)).toBe(202);
  await waitForDecisionWait(harness.engine, second.body.job_id, 'topic');
  const active = (await personasOf()).filter((persona) => persona.status === 'active');
  expect(active.length).toBeGreaterThan(0);
  expect(new Set(active.map((persona) => persona.task_id))).toEqual(new Set([second.body.job_id]));
  expect(active.map((persona) => persona.id).filter((id) => old.some((persona) => persona.id === id))).toEqual([]);
  expect((await request('POST', `/api/v1/ai/jobs/${second.body.job_id}/cancel`, {})).status).toBe(200);
});

it('wakes every run waiting for the company\'s persona selection, not only the first', async () => {
  const { request } = harness;
  const company = (await request('POST', '/api/v1/content/companies', { body: { name: 'Two Runs Roasters', plan: 'free' } })).body;
  const body = { year: 2027, month: 9, posts_count: 2, min_words: 200, max_words: 500, platforms: ['twitter'] };
  const runs: string[] = [];
  for (let index = 0; index < 2; index += 1) {
    const started = await request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    runs.push(started.body.job_id as string);
  }
  for (const run of runs) await waitForDecisionWait(harness.engine, run, 'personas');
  const personas = (await request('GET', `/api/v1/content/companies/${company.id}/personas`)).body.personas as PersonaRow[];
  const selected = await request('POST', '/api/v1/content/personas/select/', { body: { company_id: company.id, persona_ids: personas.slice(0, 3).map((persona) => persona.id) } });
  expect(selected.status, JSON.stringify(selected.body)).toBe(200);
  // Each goes on to its topics at once; before, the second waited out its hourly re-read.
  for (const run of runs) await waitForDecisionWait(harness.engine, run, 'topic', 20_000);
  for (const run of runs) expect((await request('POST', `/api/v1/ai/jobs/${run}/cancel`, {})).status).toBe(200);
});
