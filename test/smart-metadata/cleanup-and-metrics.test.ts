/**
 * The weekly cleanup (removes only AI rows of old drafts, never users' keys, and reports what it
 * removed) and the seed's metrics read from the database: generations run by a separate worker
 * process show up on the API process's /metrics, and the queue and in-progress gauges count the
 * tasks in the database (never negative).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.ts';
import { setUserMeta, writeAiMetadata } from '../../src/pipelines/smart-metadata/meta-store.ts';
import { insertProject } from '../../src/pipelines/smart-metadata/projects-store.ts';
import type { AiMetadataValue } from '../../src/pipelines/smart-metadata/schemas.ts';
import { waitForStatus } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';
import { startMetadataApi, type MetadataApi } from './helpers.ts';

const aiValue: AiMetadataValue = { ai_generated_tags: ['a-tag', 'b-tag', 'c-tag'], content_summary: 'Some summary text.', difficulty_level: 'beginner', model_used: 'mock:x', prompt_version: '2.0', generated_at: new Date().toISOString() };

describe('cleanup_old_metadata', () => {
  let api: MetadataApi;

  beforeAll(async () => {
    api = await startMetadataApi();
  });

  afterAll(async () => {
    await api?.close();
  });

  /** A project `ageDays` old whose AI metadata is `metadataAgeDays` old (as old as the project unless given). */
  async function project(tenant: string, options: { draft: boolean; ageDays: number; metadataAgeDays?: number }): Promise<string> {
    const id = await withTransaction(api.db.pool, (transaction) => insertProject(transaction, tenant, { ...neuralNetworksBody, is_draft: options.draft }));
    await api.db.pool.query(`UPDATE projects SET created_at = now() - $2 * interval '1 day' WHERE id = $1`, [id, options.ageDays]);
    await withTransaction(api.db.pool, (transaction) => writeAiMetadata(transaction, tenant, id, aiValue));
    await api.db.pool.query(`UPDATE project_meta SET updated_at = now() - $2 * interval '1 day' WHERE project_id = $1`, [id, options.metadataAgeDays ?? options.ageDays]);
    await setUserMeta(api.db.pool, tenant, id, 'my_notes', { text: 'mine' });
    return id;
  }

  it('removes the AI rows of drafts older than 7 days whose metadata is as old, keeps users\' keys, and reports each removal', async () => {
    const oldDraft = await project('alpha', { draft: true, ageDays: 10 });
    const youngDraft = await project('alpha', { draft: true, ageDays: 2 });
    const oldPublished = await project('alpha', { draft: false, ageDays: 30 });
    const otherTenantDraft = await project('beta', { draft: true, ageDays: 10 });
    // An old draft whose metadata was generated an hour ago: not old metadata.
    const freshlyGenerated = await project('alpha', { draft: true, ageDays: 10, metadataAgeDays: 0.04 });

    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'cleanup_old_metadata', task_data: {} } });
    expect(submitted.status).toBe(202);
    const task = await waitForStatus(api.engine, submitted.body.task_id, ['completed', 'failed']);
    expect(task.error).toBeNull();
    expect(task.result).toEqual({ status: 'completed', draft_age_days: 7, removed_count: 1, removed: [{ project_id: oldDraft, tenant: 'alpha', reason: 'draft_project_older_than_limit' }] });

    const keys = async (id: string) => (await api.db.pool.query<{ key: string }>('SELECT key FROM project_meta WHERE project_id = $1 ORDER BY key', [id])).rows.map((row) => row.key);
    expect(await keys(oldDraft)).toEqual(['my_notes']);
    expect(await keys(youngDraft)).toEqual(['ai_generated_metadata', 'my_notes']);
    expect(await keys(oldPublished)).toEqual(['ai_generated_metadata', 'my_notes']);
    expect(await keys(freshlyGenerated)).toEqual(['ai_generated_metadata', 'my_notes']);
    // Tenant alpha's cleanup does not reach tenant beta.
    expect(await keys(otherTenantDraft)).toEqual(['ai_generated_metadata', 'my_notes']);
    const events = await api.engine.readEvents({ taskId: task.id, limit: 100 });
    expect(events.find((event) => event.type === 'metadata_cleaned_up')?.payload).toEqual({ removed_count: 1, project_ids: [oldDraft] });

    // A second run finds nothing more.
    const again = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'cleanup_old_metadata', task_data: {} } });
    expect((await waitForStatus(api.engine, again.body.task_id, ['completed', 'failed'])).result).toMatchObject({ removed_count: 0, removed: [] });
  });
});

describe('metrics from a separate worker process', () => {
  let api: MetadataApi;

  beforeAll(async () => {
    // The API process runs no worker: every task runs in the child process.
    api = await startMetadataApi({ worker: false });
  });

  afterAll(async () => {
    await killChildren();
    await api?.close();
  });

  async function scrape(): Promise<Map<string, number>> {
    const response = await api.request('GET', '/metrics', { key: null });
    expect(response.status).toBe(200);
    const values = new Map<string, number>();
    for (const line of response.text.split('\n')) {
      if (!line.startsWith('project_meta_')) continue;
      const separator = line.lastIndexOf(' ');
      values.set(line.slice(0, separator), Number(line.slice(separator + 1)));
    }
    return values;
  }

  it('counts what the worker did and the tasks waiting, with the seed\'s names and buckets', async () => {
    const ids: string[] = [];
    for (const name of ['One', 'Two', 'Three']) ids.push((await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name } })).body.id);
    const tasks: string[] = [];
    for (const id of ids) tasks.push((await api.request('POST', `/api/projects/${id}/generate_metadata/`)).body.task_id);

    const waiting = await scrape();
    expect(waiting.get('project_meta_generation_queue_size')).toBe(3);
    expect(waiting.get('project_meta_generation_in_progress')).toBe(0);

    const child = spawnNode('test/smart-metadata/fixtures/metadata-worker.ts', [api.db.url, 'offline']);
    await child.waitForLine('ready');
    for (const taskId of tasks) expect((await waitForStatus(api.engine, taskId, ['completed', 'failed'], 30_000)).status).toBe('completed');

    const after = await scrape();
    expect(after.get('project_meta_generated_total{status="success",model_used="offline:extractive",project_type="self_study"}')).toBe(3);
    expect(after.get('project_meta_generation_queue_size')).toBe(0);
    expect(after.get('project_meta_generation_in_progress')).toBe(0);
    expect(after.get('project_meta_generation_duration_seconds_count')).toBe(3);
    for (const bound of ['0.1', '0.5', '1', '2', '5', '10', '30', '60', '+Inf']) expect(after.has(`project_meta_generation_duration_seconds_bucket{le="${bound}"}`)).toBe(true);
    // Each project text is 500-1000 characters long.
    expect(after.get('project_meta_content_length_chars_bucket{le="500"}')).toBe(0);
    expect(after.get('project_meta_content_length_chars_bucket{le="1000"}')).toBe(3);
    for (const bound of ['100', '500', '1000', '2000', '5000', '10000']) expect(after.has(`project_meta_content_length_chars_bucket{le="${bound}"}`)).toBe(true);
    for (let bound = 1; bound <= 10; bound += 1) expect(after.has(`project_meta_tags_count_bucket{le="${bound}"}`)).toBe(true);
    expect(after.get('project_meta_tags_count_bucket{le="2"}')).toBe(0);
    expect(after.get('project_meta_tags_count_count')).toBe(3);
    for (const bound of ['10', '50', '100', '200', '500', '1000']) expect(after.has(`project_meta_summary_length_chars_bucket{le="${bound}"}`)).toBe(true);
    expect(after.get('project_meta_summary_length_chars_count')).toBe(3);

    // A generation waiting out an edit's debounce holds no slot, and is still work to do: before,
    // the queue showed 0 while it waited.
    const edited = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Just edited' } })).body.id as string;
    const debounced = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'generate_project_meta', task_data: { project_id: edited, trigger: 'content_change' } } });
    expect(debounced.status).toBe(202);
    await waitForStatus(api.engine, debounced.body.task_id, ['waiting'], 30_000);
    const debouncing = await scrape();
    expect(debouncing.get('project_meta_generation_queue_size')).toBe(1);
    expect(debouncing.get('project_meta_generation_in_progress')).toBe(0);
    await api.engine.cancel(debounced.body.task_id);

    // The worker dies: the gauges come from the database, so nothing is left "in progress".
    child.process.kill('SIGKILL');
    await child.exited;
    const dead = await scrape();
    expect(dead.get('project_meta_generation_in_progress')).toBe(0);
    expect(dead.get('project_meta_generated_total{status="success",model_used="offline:extractive",project_type="self_study"}')).toBe(3);
  }, 60_000);
});
