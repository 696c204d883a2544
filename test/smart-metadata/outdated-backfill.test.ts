/**
 * The nightly back-fill makes good the regenerations that never happened: for a tenant with
 * `regenerate_on_change`, a project whose metadata describes older content than it has (its
 * regeneration failed for good, or the tenant turned the setting on after the edit) is generated
 * again, and counted as `refreshed`. Metadata of a tenant without the setting, and metadata of
 * the current content, are left as they are. Through the API and a real worker, against the mock
 * provider.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.ts';
import { aiMetadataLack, writeAiMetadata } from '../../src/pipelines/smart-metadata/meta-store.ts';
import { projectContentChangedAt } from '../../src/pipelines/smart-metadata/projects-store.ts';
import { aiMetadataKey } from '../../src/pipelines/smart-metadata/schemas.ts';
import { waitForStatus } from '../support/engine.ts';
import { metadataProvider, mockAnswer, type MetadataProviderControl } from './fixtures/metadata-provider.ts';
import { projectWithMetadata, startMetadataApi, type MetadataApi } from './helpers.ts';

let api: MetadataApi;
let mock: MetadataProviderControl;

beforeAll(async () => {
  mock = metadataProvider();
  api = await startMetadataApi({ config: { metadataModel: 'mock:metadata', metadataRegenerateDebounceMs: 0 }, providers: { mock: mock.provider } });
});

afterAll(async () => {
  await api?.close();
});

const chemistryEdit = { name: 'Chemistry', goal_description: 'Organic chemistry: reaction mechanisms, nucleophilic substitution and elimination reactions.', files: [] };
const chemistryAnswer = { ai_generated_tags: ['chemistry', 'organic-chemistry', 'reaction-mechanisms'], content_summary: 'Organic chemistry from reaction mechanisms to substitution and elimination.', difficulty_level: 'advanced' };

async function setRegenerateOnChange(on: boolean): Promise<void> {
  expect((await api.request('PUT', '/api/smart-metadata/settings', { body: { regenerate_on_change: on } })).status).toBe(200);
}

/** A project with metadata of its current content, written from the usual answer. */
async function projectWithCurrentMetadata(): Promise<string> {
  mock.behaviour.answer = mockAnswer;
  return projectWithMetadata(api);
}

/** Runs tenant alpha's back-fill over every project (no minimum age) and returns its result. */
async function backfill(): Promise<Record<string, unknown>> {
  const { task } = await api.engine.submit({ taskType: 'generate_missing_metadata', input: { min_age_minutes: 0 }, tenant: 'alpha' });
  const finished = await waitForStatus(api.engine, task.id, ['completed', 'failed']);
  expect(finished.error).toBeNull();
  return finished.result as Record<string, unknown>;
}

async function metadataOf(projectId: string): Promise<{ tags: string[]; current: boolean; lack: string | null }> {
  const row = await api.db.pool.query<{ tags: string[]; current: boolean }>(
    `SELECT m.value -> 'ai_generated_tags' AS tags, m.content_changed_at = p.content_changed_at AS current
     FROM project_meta m JOIN projects p ON p.id = m.project_id WHERE m.project_id = $1 AND m.key = $2`,
    [projectId, aiMetadataKey],
  );
  return { ...row.rows[0]!, lack: await aiMetadataLack(api.db.pool, 'alpha', projectId) };
}

it('regenerates metadata whose regeneration failed for good, and leaves current metadata alone', async () => {
  await setRegenerateOnChange(true);
  const failing = await projectWithCurrentMetadata();
  const untouched = await projectWithCurrentMetadata();

  // The provider refuses for good (400, not retried): the edit's regeneration fails.
  mock.behaviour.failWithStatus = 400;
  const edited = await api.request('PATCH', `/api/projects/${failing}`, { body: chemistryEdit });
  expect(edited.status).toBe(200);
  const regeneration = (await api.engine.listTasks({ tenant: 'alpha', taskType: 'generate_project_meta', projectId: failing, limit: 10 })).tasks
    .find((task) => (task.input as { trigger?: string }).trigger === 'content_change')!;
  expect((await waitForStatus(api.engine, regeneration.id, ['completed', 'failed'])).status).toBe('failed');
  expect(await metadataOf(failing)).toMatchObject({ current: false, lack: 'outdated' });

  mock.behaviour.failWithStatus = null;
  mock.behaviour.answer = chemistryAnswer;
  const calls = mock.calls;
  expect(await backfill()).toMatchObject({ processed: 1, generated: 1, refreshed: 1, failed: 0 });
  expect(mock.calls - calls).toBe(1);
  expect(await metadataOf(failing)).toMatchObject({ tags: chemistryAnswer.ai_generated_tags, current: true, lack: null });
  const kept = await metadataOf(untouched);
  expect(kept).toMatchObject({ current: true, lack: null });
  expect(kept.tags).not.toContain('chemistry');

  // Nothing is left for the next run.
  expect(await backfill()).toMatchObject({ processed: 0, generated: 0, refreshed: 0 });
});

it('leaves outdated metadata alone while the tenant does not regenerate on change, and refreshes it once it does', async () => {
  await setRegenerateOnChange(false);
  const projectId = await projectWithCurrentMetadata();
  expect((await api.request('PATCH', `/api/projects/${projectId}`, { body: chemistryEdit })).status).toBe(200);
  expect(await metadataOf(projectId)).toMatchObject({ current: false, lack: 'outdated' });

  mock.behaviour.answer = chemistryAnswer;
  expect(await backfill()).toMatchObject({ processed: 0, generated: 0 });

  await setRegenerateOnChange(true);
  expect(await backfill()).toMatchObject({ processed: 1, generated: 1, refreshed: 1 });
  expect(await metadataOf(projectId)).toMatchObject({ tags: chemistryAnswer.ai_generated_tags, current: true });
  await setRegenerateOnChange(false);
});

it('records the older content a row was generated from, and judges a row without a version by when it was written', async () => {
  // Off while the edit is made, so that no regeneration runs beside the row written below.
  await setRegenerateOnChange(false);
  const projectId = await projectWithCurrentMetadata();
  const before = (await projectContentChangedAt(api.db.pool, 'alpha', projectId))!;
  // Edited while the model answered: the row stored afterwards names the content it read.
  expect((await api.request('PATCH', `/api/projects/${projectId}`, { body: { ...chemistryEdit, name: 'Chemistry, edited meanwhile' } })).status).toBe(200);
  await withTransaction(api.db.pool, (transaction) => writeAiMetadata(transaction, 'alpha', projectId, { ...mockAnswer, ai_generated_tags: ['read', 'before', 'edit'], model_used: 'mock:metadata', prompt_version: '1.0', generated_at: new Date().toISOString() } as never, { contentVersion: before }));
  const stored = await api.db.pool.query<{ version: number; current: number }>(
    `SELECT extract(epoch FROM m.content_changed_at) * 1000 AS version, extract(epoch FROM p.content_changed_at) * 1000 AS current
     FROM project_meta m JOIN projects p ON p.id = m.project_id WHERE m.project_id = $1 AND m.key = $2`,
    [projectId, aiMetadataKey],
  );
  expect(Number(stored.rows[0]!.version)).toBeCloseTo(before, 2);
  expect(Number(stored.rows[0]!.version)).toBeLessThan(Number(stored.rows[0]!.current));
  expect((await metadataOf(projectId)).lack).toBe('outdated');

  // A row stored without a version (before migration 0006) after the last edit counts as current;
  // one stored before it, as outdated.
  await api.db.pool.query('UPDATE project_meta SET content_changed_at = NULL, updated_at = now() WHERE project_id = $1 AND key = $2', [projectId, aiMetadataKey]);
  expect((await metadataOf(projectId)).lack).toBeNull();
  await api.db.pool.query(`UPDATE project_meta SET updated_at = now() - interval '1 hour' WHERE project_id = $1 AND key = $2`, [projectId, aiMetadataKey]);
  expect((await metadataOf(projectId)).lack).toBe('outdated');
  await setRegenerateOnChange(true);
  mock.behaviour.answer = chemistryAnswer;
  expect(await backfill()).toMatchObject({ processed: 1, generated: 1, refreshed: 1 });
  expect(await metadataOf(projectId)).toMatchObject({ tags: chemistryAnswer.ai_generated_tags, current: true, lack: null });
});
