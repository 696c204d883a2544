/**
 * An edit of a project's content while a generation of the project is active, for a tenant that
 * regenerates on change: the edit's own regeneration is refused (`already_running`), and the
 * metadata must still come to describe the edit once that generation has ended, however it ends.
 * Written as races: the generation is held at the exact point by the mock model's gates, a row
 * lock or a claim, and the test waits on those, never on a sleep.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, waitForStatus } from '../support/engine.ts';
import { metadataProvider, mockAnswer, type MetadataProviderControl } from './fixtures/metadata-provider.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';
import { blockedBy, holdLock, startMetadataApi, type MetadataApi } from './helpers.ts';

let api: MetadataApi;
let mock: MetadataProviderControl;

beforeAll(async () => {
  mock = metadataProvider();
  api = await startMetadataApi({ config: { metadataModel: 'mock:metadata', metadataRegenerateDebounceMs: 200 }, providers: { mock: mock.provider } });
  expect((await api.request('PUT', '/api/smart-metadata/settings', { body: { regenerate_on_change: true } })).status).toBe(200);
});

afterAll(async () => {
  await api?.close();
});

const chemistryEdit = { name: 'Chemistry', goal_description: 'Organic chemistry: reaction mechanisms, nucleophilic substitution and elimination reactions.', files: [] };
const chemistryAnswer = { ai_generated_tags: ['Organic Chemistry', 'reaction mechanisms', 'spectroscopy'], content_summary: 'Reaction mechanisms in organic chemistry.', difficulty_level: 'advanced' };
const chemistryTags = ['organic-chemistry', 'reaction-mechanisms', 'spectroscopy'];
const neuralNetworkTags = ['machine-learning', 'python', 'neural-networks'];

interface TaskRow { id: string; status: string; input: Record<string, unknown>; result: any }

async function tasksOf(taskType: string, projectId: string): Promise<TaskRow[]> {
  const page = await api.engine.listTasks({ tenant: 'alpha', taskType, projectId, limit: 50 });
  return (page.tasks as unknown as TaskRow[]).reverse();
}

async function createProject(): Promise<string> {
  const created = await api.request('POST', '/api/projects', { body: neuralNetworksBody });
  expect(created.status).toBe(201);
  return created.body.id;
}

async function editToChemistry(projectId: string): Promise<void> {
  expect((await api.request('PATCH', `/api/projects/${projectId}`, { body: chemistryEdit })).status).toBe(200);
}

/**
 * A back-fill's claim on the project, of a run that does not exist: a generation hands itself back
 * (a snooze) until the claim is released, before it has read anything of the project.
 */
async function claimAsBackfill(projectId: string): Promise<{ release: () => Promise<void> }> {
  await api.db.pool.query(`INSERT INTO project_meta_generation_claims (project_id, tenant, task_id, expires_at) VALUES ($1, 'alpha', gen_random_uuid(), now() + interval '1 hour')`, [projectId]);
  return { release: async () => { await api.db.pool.query('DELETE FROM project_meta_generation_claims WHERE project_id = $1', [projectId]); } };
}

async function snoozed(taskId: string): Promise<void> {
  await eventually(async () => (await api.engine.readEvents({ taskId })).some((event) => event.type === 'task_queued' && event.payload.reason === 'snoozed'));
}

/**
 * The regeneration that follows: its model call waits at gate `gate` until the chemistry answer is
 * set, then the project shows it. Returns that generation.
 */
async function expectRegeneratedToChemistry(projectId: string, gate: string): Promise<TaskRow> {
  const answer = await mock.gates.reached(gate);
  mock.behaviour = { ...mock.behaviour, answer: chemistryAnswer, gate: null };
  answer();
  const regeneration = (await tasksOf('generate_project_meta', projectId)).at(-1)!;
  expect(regeneration.input).toMatchObject({ trigger: 'content_change', force: true });
  expect((await waitForStatus(api.engine, regeneration.id, ['completed', 'failed'])).result).toMatchObject({ status: 'generated' });
  expect((await api.request('GET', `/api/projects/${projectId}`)).body.ai_generated_tags).toEqual(chemistryTags);
  return regeneration;
}

/** The follow-up of generation `taskId`: one, and it submitted `regeneration`. */
async function expectOneFollowUp(projectId: string, taskId: string, regeneration: TaskRow): Promise<void> {
  const followUps = await tasksOf('follow_up_project_meta', projectId);
  expect(followUps.map((task) => task.input)).toEqual([{ project_id: projectId, after_task_id: taskId }]);
  expect((await waitForStatus(api.engine, followUps[0]!.id, ['completed', 'failed'])).result).toMatchObject({ status: 'submitted', task_id: regeneration.id });
}

it('an edit committed after the running generation last read the content is regenerated once that generation ends', async () => {
  const projectId = await createProject();
  mock.behaviour = { ...mock.behaviour, answer: mockAnswer, gate: 'old text' };
  const started = await api.request('POST', `/api/projects/${projectId}/generate_metadata/`);
  expect(started.status).toBe(202);
  const running = started.body.task_id as string;
  const answerOldText = await mock.gates.reached('old text');

  // A share lock on the task's row: its checkpoints (which share-lock it too) go through, the
  // progress update it makes once it has looked at the content for the last time waits, and so
  // does the end of the task. The next model call (the regeneration's) waits at its own gate.
  const held = await holdLock(api.db, 'SELECT 1 FROM tasks WHERE id = $1 FOR SHARE', [running]);
  try {
    mock.behaviour = { ...mock.behaviour, gate: 'new text' };
    answerOldText();
    await blockedBy(api.db, held.pid);
    expect((await api.engine.getTask(running)).status).toBe('running');
    // The edit lands between the generation's last look and its end: refused as already running.
    await editToChemistry(projectId);
    expect((await tasksOf('generate_project_meta', projectId)).map((task) => task.id)).toEqual([running]);
  } finally {
    await held.release();
  }

  const ended = await waitForStatus(api.engine, running, ['completed', 'failed']);
  expect(ended.result).toMatchObject({ status: 'generated', metadata: { ai_generated_tags: neuralNetworkTags } });
  // Without the follow-up nothing came after it: no model call ever reached this gate.
  const regeneration = await expectRegeneratedToChemistry(projectId, 'new text');
  await expectOneFollowUp(projectId, running, regeneration);
  expect((await tasksOf('generate_project_meta', projectId)).map((task) => task.id)).toEqual([running, regeneration.id]);
});

it('an edit while the running generation waits to find metadata already there (it ends skipped) is regenerated', async () => {
  const projectId = await createProject();
  mock.behaviour = { ...mock.behaviour, answer: mockAnswer, gate: null };
  const first = await api.request('POST', `/api/projects/${projectId}/generate_metadata/`);
  await waitForStatus(api.engine, first.body.task_id, ['completed']);

  // A generation not forced, held before it reads anything; once let go it finds the metadata.
  const claim = await claimAsBackfill(projectId);
  const { task } = await api.engine.submit({ taskType: 'generate_project_meta', input: { project_id: projectId, force: false, trigger: 'cli' }, tenant: 'alpha' });
  await snoozed(task.id);

  mock.behaviour = { ...mock.behaviour, gate: 'new text after a skip' };
  await editToChemistry(projectId);
  expect((await tasksOf('generate_project_meta', projectId)).map((row) => row.id)).toEqual([first.body.task_id, task.id]);
  await claim.release();

  expect((await waitForStatus(api.engine, task.id, ['completed', 'failed'])).result).toMatchObject({ status: 'skipped', reason: 'metadata_exists' });
  const regeneration = await expectRegeneratedToChemistry(projectId, 'new text after a skip');
  await expectOneFollowUp(projectId, task.id, regeneration);
});

it('an edit while the running generation answers, which is then cancelled, is regenerated', async () => {
  const projectId = await createProject();
  mock.behaviour = { ...mock.behaviour, answer: mockAnswer, gate: 'cancelled' };
  const started = await api.request('POST', `/api/projects/${projectId}/generate_metadata/`);
  const running = started.body.task_id as string;
  await mock.gates.reached('cancelled');

  mock.behaviour = { ...mock.behaviour, gate: 'new text after a cancel' };
  await editToChemistry(projectId);
  await api.engine.cancel(running, { tenant: 'alpha' });
  expect((await waitForStatus(api.engine, running, ['cancelled', 'completed', 'failed'])).status).toBe('cancelled');

  const regeneration = await expectRegeneratedToChemistry(projectId, 'new text after a cancel');
  await expectOneFollowUp(projectId, running, regeneration);
});

it('an edit the running generation did read costs no second model call: the follow-up\'s regeneration finds the metadata current', async () => {
  const projectId = await createProject();
  mock.behaviour = { ...mock.behaviour, answer: chemistryAnswer, gate: null };
  // The first edit's regeneration, held before it reads the content (as during its debounce).
  const claim = await claimAsBackfill(projectId);
  expect((await api.request('PATCH', `/api/projects/${projectId}`, { body: { goal_description: 'Chemistry, to begin with.' } })).status).toBe(200);
  const [running] = await tasksOf('generate_project_meta', projectId);
  expect(running!.input).toMatchObject({ trigger: 'content_change' });
  await snoozed(running!.id);

  // Refused while that one is active: a follow-up is queued for it.
  await editToChemistry(projectId);
  const callsBefore = mock.calls;
  await claim.release();
  expect((await waitForStatus(api.engine, running!.id, ['completed', 'failed'])).result).toMatchObject({ status: 'generated', metadata: { ai_generated_tags: chemistryTags } });

  const [followUp] = await tasksOf('follow_up_project_meta', projectId);
  const submitted = (await waitForStatus(api.engine, followUp!.id, ['completed', 'failed'])).result as { task_id: string };
  const regeneration = await waitForStatus(api.engine, submitted.task_id, ['completed', 'failed']);
  expect(regeneration.result).toMatchObject({ status: 'skipped', reason: 'metadata_current' });
  expect(mock.calls - callsBefore).toBe(1);
  expect((await api.request('GET', `/api/projects/${projectId}`)).body.ai_generated_tags).toEqual(chemistryTags);
});
