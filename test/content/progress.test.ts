/**
 * Content jobs pace their progress writes: a job's first report waits until it has run a while,
 * reports collapse into the latest, its last report (100 %) is written at once, and a run that
 * parks has its last report written before it does.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForTask } from '../../src/kit/testing.ts';
import { startContentHarness, waitForDecisionWait, type ContentHarness } from './helpers.ts';

let harness: ContentHarness;

beforeAll(async () => {
  harness = await startContentHarness();
});

afterAll(async () => {
  await harness?.close();
});

it('writes the report a run made before it parked, and a quick job\'s last report only', async () => {
  const { request } = harness;
  const company = (await request('POST', '/api/v1/content/companies', { body: { name: 'Paced Roasters', plan: 'free' } })).body;
  const started = await request('POST', `/api/v1/ai/companies/${company.id}/content-pipeline/`, { body: { year: 2027, month: 6, posts_count: 2 } });
  const runId = started.body.job_id as string;

  // The offline model answers at once: the run reaches the persona selection well within its
  // first 100 ms, and parks there with its last report written: what it waits for.
  await waitForDecisionWait(harness.engine, runId, 'personas');
  const parked = await harness.engine.getTask(runId);
  expect(parked).toMatchObject({ status: 'waiting', progress: 20, progress_message: 'waiting for a marketer to select 3 personas' });

  // A job writes its last report at once, and the ones before it paced: the first 100 ms in,
  // then at most one every 250 ms. The offline model answers at once, so on a quiet machine the
  // last report is the only one; on a loaded one the pacing shows in the reports' commit times
  // (50 ms of slack for the commits themselves).
  const dna = await request('POST', `/api/v1/ai/companies/${company.id}/scrape-dna/`, { body: {} });
  const job = await waitForTask(harness.engine, dna.body.job_id, ['completed', 'failed'], 60_000);
  expect(job.status).toBe('completed');
  const progress = (await harness.engine.readEvents({ taskId: job.id })).filter((event) => event.type === 'task_progress');
  expect(progress.at(-1)!.payload).toMatchObject({ progress: 100, message: expect.stringMatching(/^DNA of Paced Roasters: \d+ points found$/) });
  const paced = progress.slice(0, -1).map((event) => Date.parse(event.created_at));
  if (paced.length > 0) expect(paced[0]! - Date.parse(job.started_at!)).toBeGreaterThanOrEqual(50);
  for (let index = 1; index < paced.length; index += 1) expect(paced[index]! - paced[index - 1]!).toBeGreaterThanOrEqual(200);
  expect(job.progress_message).toMatch(/^DNA of Paced Roasters/);
});
