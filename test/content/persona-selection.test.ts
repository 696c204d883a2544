/**
 * A content_pipeline run with `auto_select_personas` selects the personas it wrote when it wrote
 * some (`reuse_existing: false`), not the company's first by position, which are the old ones.
 * On the offline model.
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
