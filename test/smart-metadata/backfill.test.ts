/**
 * The nightly back-fill: a real worker process SIGKILLed in the middle of a run over 25 projects;
 * another worker resumes it, and every eligible project gets its metadata exactly once (no project
 * skipped by the shrinking set, none done twice), while drafts, young projects and projects that
 * already have metadata are left alone. Also: the rate limit's window, the schedules, and the
 * operator-only all_tenants.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.ts';
import { withTransaction } from '../../src/db/pool.ts';
import { insertProject } from '../../src/pipelines/smart-metadata/projects-store.ts';
import { MinuteWindow } from '../../src/pipelines/smart-metadata/minute-window.ts';
import { smartMetadataTaskTypes } from '../../src/pipelines/smart-metadata/index.ts';
import { writeAiMetadata } from '../../src/pipelines/smart-metadata/meta-store.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, testLogger, waitForStatus } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';
import { metadataProvider } from './fixtures/metadata-provider.ts';
import { backdate, metadataConfig, metadataGateway } from './helpers.ts';

let database: TestDatabase;
let engine: Engine;

async function createProjects(tenant: string, count: number, overrides: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    ids.push(await withTransaction(database.pool, (transaction) => insertProject(transaction, tenant, { ...neuralNetworksBody, name: `${tenant} project ${index}`, ...overrides } as typeof neuralNetworksBody)));
  }
  return ids;
}

beforeAll(async () => {
  database = await createTestDatabase();
  const mock = metadataProvider({ delayMs: 120 });
  const config = metadataConfig({ metadataModel: 'mock:metadata', metadataRequestsPerMinute: 100_000 });
  const llm = metadataGateway(database, config, { mock: mock.provider });
  // Maintenance on and no worker yet: this engine's supervisor notices the killed worker's lapsed heartbeat.
  engine = await startTestEngine(database, smartMetadataTaskTypes({ config, pool: database.pool, logger: testLogger, llm }, { schedules: false, retryBaseDelayMs: 100 }), { maintenance: true });
});

afterAll(async () => {
  await killChildren();
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

describe('nightly back-fill', () => {
  it('completes each of 25 projects exactly once across a SIGKILL in the middle', async () => {
    const eligible = [...await createProjects('default', 20), ...await createProjects('beta', 5)];
    await backdate(database, eligible, 3);
    const drafts = await createProjects('default', 2, { is_draft: true });
    await backdate(database, drafts, 3);
    const young = await createProjects('default', 2);
    const done = await createProjects('default', 1);
    await backdate(database, done, 3);
    const existing = { ai_generated_tags: ['kept', 'as', 'is'], content_summary: 'Generated before the run.', difficulty_level: 'beginner' as const, model_used: 'mock:earlier', prompt_version: '1.0', generated_at: new Date().toISOString() };
    await withTransaction(database.pool, (transaction) => writeAiMetadata(transaction, 'default', done[0]!, existing));

    const child = spawnNode('test/smart-metadata/fixtures/metadata-worker.ts', [database.url, '120']);
    await child.waitForLine('ready');
    const { task } = await engine.submit({ taskType: 'generate_missing_metadata', input: { all_tenants: true, batch_size: 10 }, tenant: 'default' });

    // Kill it in the second batch, with some projects committed and others not.
    await eventually(async () => {
      const steps = await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM task_steps WHERE task_id = $1 AND key LIKE 'project:%'", [task.id]);
      return steps.rows[0]!.count >= 13;
    }, 60_000, 5);
    child.process.kill('SIGKILL');
    await child.exited;
    const atCrash = (await database.pool.query<{ key: string }>('SELECT key FROM task_steps WHERE task_id = $1', [task.id])).rows.map((row) => row.key);
    expect(atCrash.filter((key) => key.startsWith('project:')).length).toBeLessThan(25);

    await engine.startWorker({ concurrency: 2, pollIntervalMs: 200 });
    const finished = await waitForStatus(engine, task.id, ['completed', 'failed'], 90_000);
    expect(finished.error).toBeNull();
    expect(finished.status).toBe('completed');
    expect(finished.attempts).toBe(2);
    expect(finished.result).toMatchObject({ status: 'completed', processed: 25, generated: 25, skipped: 0, failed: 0, batches: 3 });

    // Exactly one AI row and one recorded generation per eligible project.
    const rows = await database.pool.query<{ project_id: string; model_used: string }>("SELECT project_id, value->>'model_used' AS model_used FROM project_meta WHERE key = 'ai_generated_metadata'");
    const byProject = new Map(rows.rows.map((row) => [row.project_id, row.model_used]));
    for (const id of eligible) expect(byProject.get(id)).toBe('mock:metadata');
    for (const id of [...drafts, ...young]) expect(byProject.has(id)).toBe(false);
    expect(byProject.get(done[0]!)).toBe('mock:earlier');
    const generations = await database.pool.query<{ project_id: string; count: number }>(
      "SELECT project_id, count(*)::int AS count FROM project_meta_generations WHERE task_id = $1 AND status = 'success' GROUP BY project_id", [task.id]);
    expect(generations.rows).toHaveLength(25);
    expect(generations.rows.every((row) => row.count === 1)).toBe(true);
    // And one `metadata_generated` per project, filed under the project, as an API generation's is.
    const generated = (await database.pool.query<{ project_id: string; trigger: string }>(
      "SELECT project_id, payload->>'trigger' AS trigger FROM task_events WHERE task_id = $1 AND type = 'metadata_generated'", [task.id])).rows;
    expect(generated.map((event) => event.project_id).sort()).toEqual([...eligible].sort());
    expect(new Set(generated.map((event) => event.trigger))).toEqual(new Set(['backfill']));

    // Model calls: one per project, except the one the kill interrupted (its answer may have come
    // back before its checkpoint could commit).
    const calls = await database.pool.query<{ step: string; calls: number }>(
      'SELECT step, count(*)::int AS calls FROM llm_calls WHERE task_id = $1 AND error IS NULL GROUP BY step', [task.id]);
    expect(calls.rows).toHaveLength(25);
    const repeated = calls.rows.filter((row) => row.calls > 1);
    expect(repeated.length).toBeLessThanOrEqual(2);
    for (const row of repeated) expect(atCrash).not.toContain(row.step);
  }, 150_000);

  it('only the operator tenant may span every tenant: another is refused at submit, and nothing is queued', async () => {
    const count = async (): Promise<number> => (await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM tasks WHERE tenant = 'beta'")).rows[0]!.count;
    const before = await count();
    for (const taskType of ['generate_missing_metadata', 'cleanup_old_metadata']) {
      await expect(engine.submit({ taskType, input: { all_tenants: true }, tenant: 'beta' })).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/operator tenant "default"/) });
    }
    expect(await count()).toBe(before);
  });
});

describe('metadata stored by someone else while the model answers', () => {
  it('is not counted as generated: generated equals the rows the run wrote', async () => {
    const raced = await createTestDatabase();
    try {
      const mock = metadataProvider({ gate: 'answer' });
      const config = metadataConfig({ metadataModel: 'mock:metadata', metadataRequestsPerMinute: 100_000 });
      const llm = metadataGateway(raced, config, { mock: mock.provider });
      const racedEngine = await startTestEngine(raced, smartMetadataTaskTypes({ config, pool: raced.pool, logger: testLogger, llm }, { schedules: false }));
      try {
        await racedEngine.startWorker({ concurrency: 1, pollIntervalMs: 100 });
        const ids: string[] = [];
        for (let index = 0; index < 2; index += 1) ids.push(await withTransaction(raced.pool, (transaction) => insertProject(transaction, 'default', { ...neuralNetworksBody, name: `raced ${index}` })));
        // Oldest first: ids[0] is the project whose model call the test holds.
        await backdate(raced, [ids[0]!], 3);
        await backdate(raced, [ids[1]!], 2);
        const { task } = await racedEngine.submit({ taskType: 'generate_missing_metadata', input: {}, tenant: 'default' });

        // The first project's model call is under way: another run (here, the test) stores its metadata.
        const answer = await mock.gates.reached('answer');
        mock.behaviour = { ...mock.behaviour, gate: null };
        const elsewhere = { ai_generated_tags: ['stored', 'by', 'another-run'], content_summary: 'Stored by an overlapping run.', difficulty_level: 'beginner' as const, model_used: 'mock:other-run', prompt_version: '2.0', generated_at: new Date().toISOString() };
        expect(await withTransaction(raced.pool, (transaction) => writeAiMetadata(transaction, 'default', ids[0]!, elsewhere))).toBe(true);
        answer();

        const finished = await waitForStatus(racedEngine, task.id, ['completed', 'failed'], 30_000);
        expect(finished.status).toBe('completed');
        expect(finished.result).toMatchObject({ processed: 2, generated: 1, skipped: 1, failed: 0 });
        const written = await raced.pool.query<{ project_id: string }>("SELECT project_id FROM project_meta_generations WHERE task_id = $1 AND status = 'success'", [task.id]);
        expect(written.rows.map((row) => row.project_id)).toEqual([ids[1]]);
        expect((finished.result as { generated: number }).generated).toBe(written.rows.length);
        // The other run's metadata stands, and the project's checkpoint says what happened to it.
        const stored = await raced.pool.query<{ project_id: string; model_used: string }>("SELECT project_id, value->>'model_used' AS model_used FROM project_meta WHERE key = 'ai_generated_metadata' ORDER BY project_id");
        expect(new Map(stored.rows.map((row) => [row.project_id, row.model_used]))).toEqual(new Map([[ids[0], 'mock:other-run'], [ids[1], 'mock:metadata']]));
        const step = await raced.pool.query<{ result: { status: string } }>('SELECT result FROM task_steps WHERE task_id = $1 AND key = $2', [task.id, `project:${ids[0]}`]);
        expect(step.rows[0]!.result.status).toBe('skipped');
        expect(mock.calls).toBe(2);
      } finally {
        await racedEngine.stop({ graceMs: 0 });
      }
    } finally {
      await raced.drop();
    }
  }, 60_000);
});

describe('an offline model among the fallbacks', () => {
  it('a provider failure is a failed project, not the offline template model\'s answer stored as its metadata', async () => {
    const failing = await createTestDatabase();
    try {
      const mock = metadataProvider({ failWithStatus: 503 });
      const config = metadataConfig({ metadataModel: 'mock:metadata', metadataRequestsPerMinute: 100_000, llmFallbackModels: 'offline:default' });
      const llm = metadataGateway(failing, config, { mock: mock.provider });
      const failingEngine = await startTestEngine(failing, smartMetadataTaskTypes({ config, pool: failing.pool, logger: testLogger, llm }, { schedules: false }));
      try {
        await failingEngine.startWorker({ concurrency: 1, pollIntervalMs: 100 });
        const id = await withTransaction(failing.pool, (transaction) => insertProject(transaction, 'default', neuralNetworksBody));
        await backdate(failing, [id], 3);
        const { task } = await failingEngine.submit({ taskType: 'generate_missing_metadata', input: {}, tenant: 'default' });
        const finished = await waitForStatus(failingEngine, task.id, ['completed', 'failed'], 30_000);
        expect(finished.status).toBe('completed');
        expect(finished.result).toMatchObject({ processed: 1, generated: 0, failed: 1, failures: [expect.objectContaining({ project_id: id, error_type: 'provider_error' })] });
        expect(mock.calls).toBe(1);
        const stored = await failing.pool.query("SELECT count(*)::int AS count FROM project_meta WHERE key = 'ai_generated_metadata'");
        expect(stored.rows[0]!.count).toBe(0);
        const recorded = await failing.pool.query('SELECT project_id, status, error_type, model_used FROM project_meta_generations WHERE task_id = $1', [task.id]);
        expect(recorded.rows).toEqual([{ project_id: id, status: 'failure', error_type: 'provider_error', model_used: 'mock:metadata' }]);
        const failed = await failingEngine.readEvents({ projectId: id, limit: 100 });
        expect(failed.filter((event) => event.type.startsWith('metadata_')).map((event) => [event.type, event.payload])).toEqual([
          ['metadata_generation_failed', { project_id: id, error_type: 'provider_error', error: expect.stringContaining('offline:default'), code: 'llm_call_failed' }],
        ]);
      } finally {
        await failingEngine.stop({ graceMs: 0 });
      }
    } finally {
      await failing.drop();
    }
  }, 60_000);
});

describe('a metadata model whose provider is not configured', () => {
  it('fails each project as a configuration failure, recorded, and the run completes', async () => {
    const misconfigured = await createTestDatabase();
    try {
      const mock = metadataProvider();
      const config = metadataConfig({ metadataModel: 'openai:gpt-4o', metadataRequestsPerMinute: 100_000 });
      const llm = metadataGateway(misconfigured, config, { mock: mock.provider });
      const misconfiguredEngine = await startTestEngine(misconfigured, smartMetadataTaskTypes({ config, pool: misconfigured.pool, logger: testLogger, llm }, { schedules: false }));
      try {
        await misconfiguredEngine.startWorker({ concurrency: 1, pollIntervalMs: 100 });
        const id = await withTransaction(misconfigured.pool, (transaction) => insertProject(transaction, 'default', neuralNetworksBody));
        await backdate(misconfigured, [id], 3);
        const { task } = await misconfiguredEngine.submit({ taskType: 'generate_missing_metadata', input: {}, tenant: 'default' });
        const finished = await waitForStatus(misconfiguredEngine, task.id, ['completed', 'failed'], 30_000);
        expect(finished.error).toBeNull();
        expect(finished.result).toMatchObject({ processed: 1, generated: 0, failed: 1, failures: [expect.objectContaining({ project_id: id, error_type: 'configuration' })] });
        const recorded = await misconfigured.pool.query('SELECT project_id, status, error_type, model_used FROM project_meta_generations WHERE task_id = $1', [task.id]);
        expect(recorded.rows).toEqual([{ project_id: id, status: 'failure', error_type: 'configuration', model_used: 'openai:gpt-4o' }]);
        expect(mock.calls).toBe(0);
      } finally {
        await misconfiguredEngine.stop({ graceMs: 0 });
      }
    } finally {
      await misconfigured.drop();
    }
  }, 60_000);
});

describe('rate limit', () => {
  it('starts at most N model requests per window, snoozing (no slot held, no attempt spent) for long waits', async () => {
    const limited = await createTestDatabase();
    try {
      const mock = metadataProvider();
      const config = metadataConfig({ metadataModel: 'mock:metadata', metadataRequestsPerMinute: 2 });
      const llm = metadataGateway(limited, config, { mock: mock.provider });
      // A window of 6 s stands in for the minute; waits over 5 s snooze.
      const limitedEngine = await startTestEngine(limited, smartMetadataTaskTypes({ config, pool: limited.pool, logger: testLogger, llm }, { schedules: false, rateWindowMs: 6000 }));
      try {
        await limitedEngine.startWorker({ concurrency: 2, pollIntervalMs: 100 });
        const ids: string[] = [];
        for (let index = 0; index < 4; index += 1) ids.push(await withTransaction(limited.pool, (transaction) => insertProject(transaction, 'default', { ...neuralNetworksBody, name: `limited ${index}` })));
        await limited.pool.query(`UPDATE projects SET created_at = now() - interval '2 hours'`);
        const { task } = await limitedEngine.submit({ taskType: 'generate_missing_metadata', input: {}, tenant: 'default' });
        const finished = await waitForStatus(limitedEngine, task.id, ['completed', 'failed'], 60_000);
        expect(finished.status).toBe('completed');
        expect(finished.attempts).toBe(1);
        expect(finished.result).toMatchObject({ generated: 4 });
        const starts = (await limited.pool.query<{ at: number }>("SELECT (extract(epoch FROM created_at) * 1000)::float8 AS at FROM llm_calls WHERE task_id = $1 ORDER BY created_at", [task.id])).rows.map((row) => row.at);
        expect(starts).toHaveLength(4);
        // The third and fourth requests waited for the window: never more than two in 6 s.
        expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(5900);
        expect(starts[3]! - starts[1]!).toBeGreaterThanOrEqual(5900);
        const events = await limitedEngine.readEvents({ taskId: task.id, limit: 500 });
        expect(events.some((event) => event.type === 'task_queued' && (event.payload as { reason?: string }).reason === 'snoozed')).toBe(true);
      } finally {
        await limitedEngine.stop({ graceMs: 0 });
      }
    } finally {
      await limited.drop();
    }
  }, 60_000);
});

describe('rate limit window', () => {
  it('lets N requests start in any window and says how long the next one waits', () => {
    const window = new MinuteWindow(3, 300);
    const now = 10_000;
    for (const start of [now - 350, now - 200, now - 100]) window.record(start);
    // The start 350 ms ago has left the window: two remain, a third fits.
    expect(window.waitMs(now)).toBe(0);
    window.record(now);
    // Three in the window: the next waits until the oldest of them (200 ms ago) leaves it.
    expect(window.waitMs(now)).toBe(100);
    expect(window.waitMs(now + 100)).toBe(0);
  });
});

describe('schedules', () => {
  it('registers the nightly back-fill and the weekly cleanup in the configured time zone', async () => {
    const scheduled = await createTestDatabase();
    try {
      const config = metadataConfig({ metadataNightlyCron: '0 2 * * *', metadataCleanupCron: '0 3 * * 0', metadataTimezone: 'Europe/Amsterdam' });
      const llm = metadataGateway(scheduled, config);
      const scheduledEngine = await startTestEngine(scheduled, smartMetadataTaskTypes({ config, pool: scheduled.pool, logger: testLogger, llm }), { schedules: true });
      try {
        const rows = await scheduled.pool.query<{ key: string; cron: string; timezone: string; data: any }>('SELECT key, cron, timezone, data FROM pgboss.schedule ORDER BY key');
        expect(rows.rows.map((row) => ({ key: row.key, cron: row.cron, timezone: row.timezone, task: row.data.schedule.taskType, input: row.data.schedule.input }))).toEqual([
          { key: 'cleanup_old_metadata.weekly', cron: '0 3 * * 0', timezone: 'Europe/Amsterdam', task: 'cleanup_old_metadata', input: { draft_age_days: 7, all_tenants: true } },
          { key: 'generate_missing_metadata.nightly', cron: '0 2 * * *', timezone: 'Europe/Amsterdam', task: 'generate_missing_metadata', input: { batch_size: 10, min_age_minutes: 60, all_tenants: true } },
        ]);
      } finally {
        await scheduledEngine.stop({ graceMs: 0 });
      }
    } finally {
      await scheduled.drop();
    }
  });
});
