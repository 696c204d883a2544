/**
 * A job's SSE stream (`/api/v1/ai/jobs/{id}/stream`) is held like the API's own streams: revoking
 * the key that opened it ends it at once, though the job it follows has not ended (a content job
 * may wait hours). No worker runs here, so the job stays queued for as long as the test needs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/api/keys.ts';
import { openSse } from '../support/http.ts';
import { startContentHarness, startJob, type ContentHarness } from './helpers.ts';

let harness: ContentHarness;

beforeAll(async () => {
  harness = await startContentHarness({ worker: false });
});

afterAll(async () => {
  await harness?.close();
});

it('ends a job\'s stream within a second of its key being revoked', async () => {
  const companyId = (await harness.request('POST', '/api/v1/content/companies', { body: { name: 'Revoked Roasters', plan: 'free' } })).body.id as string;
  const jobId = await startJob(harness, companyId, 'scrape-dna', {});
  const created = await createApiKey(harness.db.pool, { tenant: 'alpha', role: 'supervisor' });
  const stream = await openSse(`${harness.server.url}/api/v1/ai/jobs/${jobId}/stream`, { 'x-api-key': created.key });
  expect(stream.status).toBe(200);
  expect((await stream.next())?.data).toMatchObject({ id: jobId, status: 'pending' });
  const ended = (async () => {
    while ((await stream.next(30_000)) !== undefined) { /* drain until the server ends the stream */ }
    return Date.now();
  })();
  const revokedAt = Date.now();
  expect(await revokeApiKey(harness.db.pool, created.id)).toHaveLength(1);
  expect((await ended) - revokedAt).toBeLessThan(1000);
  expect((await harness.engine.getTask(jobId)).status).toBe('queued');
});
