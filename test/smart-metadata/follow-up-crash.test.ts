/**
 * The follow-up of an edit survives a crash: a real worker process runs a generation, is held
 * between the generation's last step and the end of its task, the edit lands there (its own
 * regeneration refused, a follow-up queued), and the process is SIGKILLed. Another worker resumes
 * the generation, which ends, and the follow-up then has the edit regenerated.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.ts';
import type { Engine } from '../../src/engine/index.ts';
import { createProjectService, smartMetadataTaskTypes } from '../../src/pipelines/smart-metadata/index.ts';
import { insertProject } from '../../src/pipelines/smart-metadata/projects-store.ts';
import { updateTenantSettings } from '../../src/pipelines/smart-metadata/settings-store.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, testLogger, waitForStatus } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';
import { blockedBy, holdLock, metadataConfig, metadataGateway } from './helpers.ts';

let database: TestDatabase;
let engine: Engine;
const config = metadataConfig({ metadataRegenerateDebounceMs: 200 });

beforeAll(async () => {
  database = await createTestDatabase();
  // The offline analyser answers here; the killed process's mock model answered the generation.
  const llm = metadataGateway(database, config);
  // Maintenance on and no worker yet: this engine's supervisor notices the killed worker's lapsed heartbeat.
  engine = await startTestEngine(database, smartMetadataTaskTypes({ config, pool: database.pool, logger: testLogger, llm }, { schedules: false, retryBaseDelayMs: 100 }), { maintenance: true });
});

afterAll(async () => {
  await killChildren();
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

const chemistry = 'Organic chemistry: reaction mechanisms, nucleophilic substitution and elimination reactions. I will practise drawing reaction mechanisms with curved arrows and learn spectroscopy.';

it('regenerates an edit whose follow-up was queued just before the process running the generation was killed', async () => {
  const service = createProjectService({ config, pool: database.pool, logger: testLogger, engine });
  await updateTenantSettings(database.pool, 'alpha', { regenerate_on_change: true }, { show_ai_meta: true, regenerate_on_change: false });
  const projectId = await withTransaction(database.pool, (transaction) => insertProject(transaction, 'alpha', neuralNetworksBody));

  const child = spawnNode('test/smart-metadata/fixtures/metadata-worker.ts', [database.url, '0', '200']);
  await child.waitForLine('ready');
  // A back-fill's claim on the project, uncommitted: the generation starts, then waits in its
  // step before it reads anything, so its task row can be share-locked while it runs.
  const claim = await holdLock(database, `INSERT INTO project_meta_generation_claims (project_id, tenant, task_id, expires_at) VALUES ($1, 'alpha', gen_random_uuid(), now() + interval '1 hour')`, [projectId]);
  const { task } = await engine.submit({ taskType: 'generate_project_meta', input: { project_id: projectId, force: true, trigger: 'api' }, tenant: 'alpha' });
  let row: Awaited<ReturnType<typeof holdLock>> | undefined;
  try {
    await blockedBy(database, claim.pid);
    // Its checkpoints go through this share lock; the progress update after its last step waits.
    row = await holdLock(database, 'SELECT 1 FROM tasks WHERE id = $1 FOR SHARE', [task.id]);
    await claim.release();
    await blockedBy(database, row.pid);
    const stored = await database.pool.query("SELECT value->>'model_used' AS model_used FROM project_meta WHERE project_id = $1 AND key = 'ai_generated_metadata'", [projectId]);
    expect(stored.rows).toEqual([{ model_used: 'mock:metadata' }]);

    // The edit lands there: refused as already running, it queues a follow-up. Then the crash.
    await service.updateProject('alpha', projectId, { name: 'Chemistry', goal_description: chemistry, files: [] });
    const followUps = (await engine.listTasks({ tenant: 'alpha', taskType: 'follow_up_project_meta', projectId })).tasks;
    expect(followUps.map((followUp) => followUp.input)).toEqual([{ project_id: projectId, after_task_id: task.id }]);
    child.process.kill('SIGKILL');
    await child.exited;
  } finally {
    await claim.release();
    await row?.release();
  }

  await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
  const resumed = await waitForStatus(engine, task.id, ['completed', 'failed'], 60_000);
  expect(resumed).toMatchObject({ status: 'completed', attempts: 2 });
  const [followUp] = (await engine.listTasks({ tenant: 'alpha', taskType: 'follow_up_project_meta', projectId })).tasks;
  const submitted = (await waitForStatus(engine, followUp!.id, ['completed', 'failed'], 30_000)).result as { status: string; task_id: string };
  expect(submitted.status).toBe('submitted');
  const regeneration = await waitForStatus(engine, submitted.task_id, ['completed', 'failed'], 30_000);
  expect(regeneration.result).toMatchObject({ status: 'generated', metadata: { model_used: 'offline:extractive' } });
  const read = await service.readProject('alpha', projectId);
  expect(read.ai_generated_tags).toContain('reaction-mechanisms');
  expect(read.ai_generated_tags).not.toContain('python');
}, 120_000);
