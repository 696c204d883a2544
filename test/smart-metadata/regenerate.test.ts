/**
 * Regeneration on content change, for tenants that enable it: a burst of edits costs one
 * debounced generation that describes the latest content; edits that change nothing the metadata
 * is built from neither trigger one nor hold one back, tenants that did not enable it get
 * nothing, and a project deleted before its regeneration ran ends it skipped, not failed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metadataEvents } from '../../src/pipelines/smart-metadata/index.ts';
import { expectDeclaredPayloads } from '../support/declared-events.ts';
import { waitForStatus } from '../support/engine.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';
import { startMetadataApi, type MetadataApi } from './helpers.ts';

let api: MetadataApi;

beforeAll(async () => {
  api = await startMetadataApi({ config: { metadataRegenerateDebounceMs: 400 } });
});

afterAll(async () => {
  await api?.close();
});

const chemistry = 'Organic chemistry: reaction mechanisms, nucleophilic substitution and elimination reactions. I will practise drawing reaction mechanisms with curved arrows and learn spectroscopy.';

async function metadataTasks(key: string, projectId: string): Promise<Array<{ id: string; status: string; input: any }>> {
  const tenant = key === api.keyA ? 'alpha' : 'beta';
  return (await api.engine.listTasks({ tenant, taskType: 'generate_project_meta', projectId, limit: 50 })).tasks as any;
}

it('a burst of edits regenerates once, after the edits stop, from the latest content', async () => {
  const settings = await api.request('PUT', '/api/smart-metadata/settings', { body: { regenerate_on_change: true } });
  expect(settings.body).toMatchObject({ regenerate_on_change: true, show_ai_meta: true, generation_enabled: true });
  const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
  const first = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
  await waitForStatus(api.engine, first.body.task_id, ['completed']);
  expect((await api.request('GET', `/api/projects/${project.id}`)).body.ai_generated_tags).toContain('python');

  // Not content: no regeneration.
  await api.request('PATCH', `/api/projects/${project.id}`, { body: { is_draft: false } });
  expect(await metadataTasks(api.keyA, project.id)).toHaveLength(1);

  await api.request('PATCH', `/api/projects/${project.id}`, { body: { name: 'Chemistry', files: [] } });
  await api.request('PATCH', `/api/projects/${project.id}`, { body: { goal_description: 'Organic chemistry basics.' } });
  await api.request('PATCH', `/api/projects/${project.id}`, { body: { goal_description: chemistry } });
  const tasks = await metadataTasks(api.keyA, project.id);
  const regenerations = tasks.filter((task) => task.input.trigger === 'content_change');
  expect(regenerations).toHaveLength(1);
  const done = await waitForStatus(api.engine, regenerations[0]!.id, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  const read = (await api.request('GET', `/api/projects/${project.id}`)).body;
  expect(read.ai_generated_tags).toContain('reaction-mechanisms');
  expect(read.ai_generated_tags).not.toContain('python');
  // It waited parked, without a worker slot.
  const events = await api.engine.readEvents({ taskId: regenerations[0]!.id, limit: 100 });
  expect(events.some((event) => event.type === 'task_waiting')).toBe(true);
  expect(expectDeclaredPayloads(events, metadataEvents).size).toBeGreaterThan(0);
  // Generated after the last edit had rested for the debounce period.
  expect(Date.parse(read.ai_generated_at) - Date.parse(read.updated_at)).toBeGreaterThanOrEqual(400);
});

it('edits of is_draft alone neither hold a regeneration back nor count as a change', async () => {
  const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
  expect((await api.request('PATCH', `/api/projects/${project.id}`, { body: { goal_description: chemistry } })).status).toBe(200);
  const [regeneration] = (await metadataTasks(api.keyA, project.id)).filter((task) => task.input.trigger === 'content_change');
  expect(regeneration).toBeDefined();
  // Toggled every 100 ms, past the 400 ms debounce: the content rested, so the generation goes on.
  let isDraft = true;
  let status = 'queued';
  const deadline = Date.now() + 10_000;
  while (!['completed', 'failed'].includes(status) && Date.now() < deadline) {
    isDraft = !isDraft;
    expect((await api.request('PATCH', `/api/projects/${project.id}`, { body: { is_draft: isDraft } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    status = (await api.engine.getTask(regeneration!.id)).status;
  }
  expect(status).toBe('completed');
  const done = await api.engine.getTask(regeneration!.id);
  expect(done.result).toMatchObject({ status: 'generated' });
  // One round: no is_draft edit counted as an edit made while the model answered.
  const steps = await api.db.pool.query<{ key: string }>("SELECT key FROM task_steps WHERE task_id = $1 AND key LIKE 'generate%'", [regeneration!.id]);
  expect(steps.rows.map((row) => row.key)).toEqual(['generate']);
});

it('a tenant that did not enable it gets no regeneration', async () => {
  const project = (await api.request('POST', '/api/projects', { key: api.keyB, body: neuralNetworksBody })).body;
  await api.request('PATCH', `/api/projects/${project.id}`, { key: api.keyB, body: { goal_description: chemistry } });
  expect(await metadataTasks(api.keyB, project.id)).toHaveLength(0);
  expect((await api.request('GET', '/api/smart-metadata/settings', { key: api.keyB })).body).toMatchObject({ regenerate_on_change: false, show_ai_meta: true });
});

it('a project deleted while its regeneration waits out the debounce ends it skipped, with no failure counted', async () => {
  await api.request('PUT', '/api/smart-metadata/settings', { body: { regenerate_on_change: true } });
  const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
  expect((await api.request('PATCH', `/api/projects/${project.id}`, { body: { goal_description: chemistry } })).status).toBe(200);
  const [regeneration] = (await metadataTasks(api.keyA, project.id)).filter((task) => task.input.trigger === 'content_change');
  expect((await api.request('DELETE', `/api/projects/${project.id}`)).status).toBe(204);
  const done = await waitForStatus(api.engine, regeneration!.id, ['completed', 'failed']);
  expect(done).toMatchObject({ status: 'completed', result: { status: 'skipped', reason: 'project_not_found' } });
  expect((await api.db.pool.query('SELECT 1 FROM project_meta_generations WHERE task_id = $1', [regeneration!.id])).rowCount).toBe(0);
  const events = await api.engine.readEvents({ taskId: regeneration!.id, limit: 100 });
  expect(events.map((event) => event.type)).not.toContain('metadata_generation_failed');
});

it('an edit that moves a value from one field to the next is a content change', async () => {
  await api.request('PUT', '/api/smart-metadata/settings', { body: { regenerate_on_change: true } });
  const project = (await api.request('POST', '/api/projects', { body: { name: 'Linear algebra', project_type: 'school', course_name: 'Linear Algebra' } })).body;
  expect((await api.request('PATCH', `/api/projects/${project.id}`, { body: { course_name: null, course_code: 'Linear Algebra' } })).status).toBe(200);
  const regenerations = (await metadataTasks(api.keyA, project.id)).filter((task) => task.input.trigger === 'content_change');
  expect(regenerations).toHaveLength(1);
  await waitForStatus(api.engine, regenerations[0]!.id, ['completed', 'failed']);
});
