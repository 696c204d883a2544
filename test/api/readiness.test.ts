/**
 * /readyz with the API alone (`serve --no-worker`): not ready until some worker, in any
 * process, has a fresh heartbeat; ready again while that worker idles; not ready once it stops.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { eventually } from '../support/engine.ts';
import { silentLogger, startApiHarness, type ApiHarness } from '../support/http.ts';

let api: ApiHarness;
let workerEngine: Engine | undefined;

beforeAll(async () => {
  api = await startApiHarness({ worker: false });
});

afterAll(async () => {
  await workerEngine?.stop({ graceMs: 200 });
  await api?.close();
});

it('needs a worker heartbeat from some process, and notices when the worker stops', async () => {
  const alone = await api.request('GET', '/readyz', { key: null });
  expect(alone.status).toBe(503);
  expect(alone.body.error.code).toBe('not_ready');
  expect(JSON.stringify(alone.body.error.details)).toContain('no worker has a current heartbeat');

  // A worker elsewhere: its own engine and pool on the same database, idle.
  workerEngine = await Engine.start({ url: api.db.url, pool: api.db.pool, logger: silentLogger, taskTypes: [sleepTask], maintenance: false });
  const worker = await workerEngine.startWorker({ concurrency: 1 });
  const ready = await eventually(async () => {
    const response = await api.request('GET', '/readyz', { key: null });
    return response.status === 200 ? response : undefined;
  }, 10_000, 200);
  expect(ready.body.checks.worker).toMatchObject({ ok: true, source: 'heartbeat', workers: 1 });

  await worker.stop({ graceMs: 100 });
  await eventually(async () => (await api.request('GET', '/readyz', { key: null })).status === 503, 10_000, 200);
});
