/**
 * An edit of a project's content and its regeneration commit together: the edit's transaction
 * submits the regeneration in itself (`submitWithin`), so a process dying between the two, or a
 * submit that fails, cannot keep the edit without it, nor the regeneration without the edit. The
 * routes' submit is held or failed here at that exact point. Edits at once, more than the pool
 * has connections, all go through: the submit takes no second connection. A generation asked
 * for while one that then ended held the project starts, not answered as "already running".
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConcurrencyConflictError, DependencyError } from '../../src/errors.ts';
import { aiMetadataKey } from '../../src/pipelines/smart-metadata/schemas.ts';
import { waitForStatus } from '../support/engine.ts';
import { metadataProvider, mockAnswer, type MetadataProviderControl } from './fixtures/metadata-provider.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';
import { projectWithMetadata, startMetadataApi, type MetadataApi } from './helpers.ts';

let api: MetadataApi;
let mock: MetadataProviderControl;
/** What the routes' next submit of a regeneration does; `undefined`: it goes through. */
let onRegenerationSubmit: ((submit: () => Promise<unknown>) => Promise<unknown>) | undefined;

beforeAll(async () => {
  mock = metadataProvider();
  api = await startMetadataApi({
    // No debounce: the regeneration reads the project as soon as it starts.
    config: { metadataModel: 'mock:metadata', metadataRegenerateDebounceMs: 0 },
    providers: { mock: mock.provider },
    submit: (request, submit) => {
      const intercept = request.taskType === 'generate_project_meta' ? onRegenerationSubmit : undefined;
      if (!intercept) return submit(request);
      onRegenerationSubmit = undefined;
      return intercept(() => submit(request)) as ReturnType<typeof submit>;
    },
  });
  expect((await api.request('PUT', '/api/smart-metadata/settings', { body: { regenerate_on_change: true } })).status).toBe(200);
});

afterAll(async () => {
  await api?.close();
});

const chemistryEdit = { name: 'Chemistry', goal_description: 'Organic chemistry: reaction mechanisms, nucleophilic substitution and elimination reactions.', files: [] };

interface TaskRow { id: string; status: string; input: Record<string, unknown>; result: any }

async function regenerationsOf(projectId: string): Promise<TaskRow[]> {
  const page = await api.engine.listTasks({ tenant: 'alpha', taskType: 'generate_project_meta', projectId, limit: 50 });
  return (page.tasks as unknown as TaskRow[]).filter((task) => task.input.trigger === 'content_change');
}

async function versions(projectId: string): Promise<{ project: Date; metadata: Date | null; name: string }> {
  const row = await api.db.pool.query<{ project: Date; metadata: Date | null; name: string }>(
    `SELECT p.content_changed_at AS project, m.content_changed_at AS metadata, p.name FROM projects p
     LEFT JOIN project_meta m ON m.project_id = p.id AND m.key = $2 WHERE p.id = $1`,
    [projectId, aiMetadataKey],
  );
  return row.rows[0]!;
}

it('an edit whose regeneration cannot be submitted is not kept', async () => {
  const projectId = await projectWithMetadata(api);
  const before = await versions(projectId);
  onRegenerationSubmit = async () => { throw new DependencyError('database', 'the submit failed (a test stands in for an outage)', { httpStatus: 503 }); };
  const edit = await api.request('PATCH', `/api/projects/${projectId}`, { body: chemistryEdit });
  expect(edit.status).toBe(503);
  expect(edit.body.error.code).toBe('dependency_failed');
  // Nothing of the edit: it would otherwise stand with no regeneration to describe it.
  expect(await versions(projectId)).toEqual(before);
  expect((await api.request('GET', `/api/projects/${projectId}`)).body.name).toBe(neuralNetworksBody.name);
  expect(await regenerationsOf(projectId)).toEqual([]);
}, 30_000);

it('a regeneration is not there before its edit commits, and describes the edit', async () => {
  const projectId = await projectWithMetadata(api);
  const calls = mock.calls;
  onRegenerationSubmit = async (submit) => {
    const submitted = (await submit()) as { task: { id: string } };
    // Written in the edit's transaction: nothing outside it sees the task, so no worker runs it yet.
    expect((await api.db.pool.query('SELECT 1 FROM tasks WHERE id = $1', [submitted.task.id])).rowCount).toBe(0);
    return submitted;
  };
  mock.behaviour = { ...mock.behaviour, answer: { ...mockAnswer, content_summary: 'Reaction mechanisms in organic chemistry.' } };
  try {
    expect((await api.request('PATCH', `/api/projects/${projectId}`, { body: chemistryEdit })).status).toBe(200);
    const [regeneration] = await regenerationsOf(projectId);
    expect((await waitForStatus(api.engine, regeneration!.id, ['completed', 'failed'])).result).toMatchObject({ status: 'generated' });
  } finally {
    mock.behaviour = { ...mock.behaviour, answer: mockAnswer };
  }
  expect(mock.calls - calls).toBe(1);
  // Generated from the edited content: the row records the version it read, the edit's.
  const after = await versions(projectId);
  expect(after.name).toBe('Chemistry');
  expect(after.metadata).toEqual(after.project);
  expect((await api.request('GET', `/api/projects/${projectId}`)).body.content_summary).toBe('Reaction mechanisms in organic chemistry.');
}, 30_000);

it('an edit that fails after submitting its regeneration leaves no regeneration either', async () => {
  const projectId = await projectWithMetadata(api);
  const before = await versions(projectId);
  const calls = mock.calls;
  // The submit is written in the edit's transaction; the edit then fails (as its commit could).
  onRegenerationSubmit = async (submit) => {
    await submit();
    throw new DependencyError('database', 'the connection was lost after the submit (a test stands in for it)', { httpStatus: 503 });
  };
  expect((await api.request('PATCH', `/api/projects/${projectId}`, { body: chemistryEdit })).status).toBe(503);
  expect(await regenerationsOf(projectId)).toEqual([]);
  expect(mock.calls).toBe(calls);
  expect(await versions(projectId)).toEqual(before);
}, 30_000);

it('keeps every one of more edits at once than the pool has connections, each with its regeneration', async () => {
  const count = api.db.pool.options.max + 4;
  const projectIds = await Promise.all(Array.from({ length: count }, async (_, index) => (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: `Busy project ${index}` } })).body.id as string));
  const edits = await Promise.all(projectIds.map((projectId, index) => api.request('PATCH', `/api/projects/${projectId}`, { body: { ...chemistryEdit, name: `Chemistry ${index}` } })));
  expect(edits.map((edit) => edit.status)).toEqual(projectIds.map(() => 200));
  for (const [index, projectId] of projectIds.entries()) {
    expect((await versions(projectId)).name).toBe(`Chemistry ${index}`);
    expect(await regenerationsOf(projectId)).toHaveLength(1);
  }
}, 60_000);

it('starts a generation when the one that refused it ended before it could be named', async () => {
  const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Race project' } })).body;
  // The refusing generation ended between the refused insert and the engine's look for it.
  onRegenerationSubmit = async () => {
    throw new ConcurrencyConflictError('generate_project_meta', project.id, 'unknown');
  };
  const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/?force=True`);
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ message: 'Metadata generation started', project_id: project.id, force_regenerate: true });
  expect(started.body.task_id).toMatch(/^[0-9a-f-]{36}$/);
  expect((await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'])).status).toBe('completed');
});
