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
  // first 100 ms, and parks there with its last report written.
  await waitForDecisionWait(harness.engine, runId, 'personas');
  const parked = await harness.engine.getTask(runId);
  expect(parked).toMatchObject({ status: 'waiting', progress: 15, progress_message: 'writing 6 personas' });

  // A job that ends within its first 100 ms writes its last report (and on a slow machine at
  // most one before it).
  const dna = await request('POST', `/api/v1/ai/companies/${company.id}/scrape-dna/`, { body: {} });
  const job = await waitForTask(harness.engine, dna.body.job_id, ['completed', 'failed'], 60_000);
  expect(job.status).toBe('completed');
  const progress = (await harness.engine.readEvents({ taskId: job.id })).filter((event) => event.type === 'task_progress');
  expect(progress.length).toBeLessThanOrEqual(2);
  expect(progress.at(-1)!.payload).toMatchObject({ progress: 100, message: expect.stringMatching(/^DNA of Paced Roasters: \d+ points found$/) });
  expect(job.progress_message).toMatch(/^DNA of Paced Roasters/);
});
