/**
 * The seed's API over real HTTP on the real app: project CRUD, the generate endpoint's status
 * codes and messages (202, 200 with existing metadata, force, 404), a second generate while one
 * runs, projects read back with `meta` and the flattened fields, users' own keys, tenant isolation,
 * and bad input that gets a 4xx and writes nothing. No provider key: the offline analyser answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.ts';
import { waitForStatus } from '../support/engine.ts';
import { tagPattern } from '../../src/pipelines/smart-metadata/schemas.ts';
import { neuralNetworksBody, quantumMechanicsRussianBody } from './fixtures/projects.ts';
import { startMetadataApi, type MetadataApi } from './helpers.ts';

let api: MetadataApi;

beforeAll(async () => {
  api = await startMetadataApi();
});

afterAll(async () => {
  await api?.close();
});

async function counts(): Promise<Record<string, number>> {
  const result = await api.db.pool.query<Record<string, number>>(`SELECT
    (SELECT count(*)::int FROM projects) AS projects, (SELECT count(*)::int FROM project_files) AS files,
    (SELECT count(*)::int FROM project_important_dates) AS dates, (SELECT count(*)::int FROM project_meta) AS meta`);
  return result.rows[0]!;
}

async function createProject(body: unknown = neuralNetworksBody, key?: string): Promise<Record<string, any>> {
  const response = await api.request('POST', '/api/projects', { body, ...(key ? { key } : {}) });
  expect(response.status).toBe(201);
  return response.body;
}

describe('generate_metadata', () => {
  it('202 starts a task; the project then reads back with meta and the flattened fields from the offline analyser', async () => {
    const project = await createProject();
    expect(project.meta).toEqual({});
    expect(project.ai_generated_tags).toBeNull();

    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ message: 'Metadata generation started', task_id: expect.any(String), project_id: project.id, force_regenerate: false });
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed']);
    expect(task.error).toBeNull();
    expect(task.status).toBe('completed');

    const read = await api.request('GET', `/api/projects/${project.id}`);
    expect(read.status).toBe(200);
    const ai = read.body.meta.ai_generated_metadata;
    expect(ai.model_used).toBe('offline:extractive');
    expect(ai.prompt_version).toBe('extractive-1');
    expect(ai.ai_generated_tags).toEqual(expect.arrayContaining(['python', 'neural-networks']));
    expect(ai.ai_generated_tags.length).toBeGreaterThanOrEqual(3);
    expect(ai.ai_generated_tags.length).toBeLessThanOrEqual(10);
    for (const tag of ai.ai_generated_tags) expect(tag).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(['beginner', 'intermediate', 'advanced']).toContain(ai.difficulty_level);
    expect(read.body).toMatchObject({
      ai_generated_tags: ai.ai_generated_tags, content_summary: ai.content_summary, difficulty_level: ai.difficulty_level,
      ai_model_used: 'offline:extractive', ai_prompt_version: 'extractive-1',
    });
    // The seed's path: its frontend reads `project.meta?.ai_generated_tags`.
    expect(read.body.meta).toMatchObject({ ai_generated_tags: ai.ai_generated_tags, content_summary: ai.content_summary, difficulty_level: ai.difficulty_level, model_used: 'offline:extractive', prompt_version: 'extractive-1' });
    expect(Date.parse(ai.generated_at)).toBeGreaterThan(Date.now() - 60_000);

    // Metadata exists: 200 with the seed's message, no task.
    const again = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ message: 'Metadata already exists. Use ?force=true to regenerate.', project_id: project.id, existing_metadata: true });

    // force=true regenerates (and the path works without the trailing slash too).
    const forced = await api.request('POST', `/api/projects/${project.id}/generate_metadata?force=true`);
    expect(forced.status).toBe(202);
    expect(forced.body.force_regenerate).toBe(true);
    expect((await waitForStatus(api.engine, forced.body.task_id, ['completed', 'failed'])).status).toBe('completed');
    const regenerated = await api.request('GET', `/api/projects/${project.id}`);
    expect(Date.parse(regenerated.body.ai_generated_at)).toBeGreaterThanOrEqual(Date.parse(ai.generated_at));
    const rows = await api.db.pool.query("SELECT count(*)::int AS count FROM project_meta WHERE project_id = $1 AND key = 'ai_generated_metadata'", [project.id]);
    expect(rows.rows[0].count).toBe(1);
  });

  it('404 for an unknown project, a malformed id and another tenant\'s project', async () => {
    const project = await createProject();
    for (const path of ['/api/projects/7d4ac4a5-2f3c-4a51-9f70-8c1d6b4f0e11/generate_metadata/', '/api/projects/not-a-uuid/generate_metadata/']) {
      const response = await api.request('POST', path);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('not_found');
    }
    const foreign = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`, { key: api.keyB });
    expect(foreign.status).toBe(404);
    // The generic task API too: no task that would fail and count as a failed generation.
    // Nor a follow-up, which only ended skipped later.
    for (const taskType of ['generate_project_meta', 'follow_up_project_meta']) {
      for (const [key, projectId] of [[api.keyA, '7d4ac4a5-2f3c-4a51-9f70-8c1d6b4f0e11'], [api.keyB, project.id]] as const) {
        const submitted = await api.request('POST', '/api/v1/tasks/submit', { key, body: { task_type: taskType, task_data: { project_id: projectId } } });
        expect(submitted.status, taskType).toBe(404);
        expect(submitted.body.error.code).toBe('not_found');
      }
    }
    expect((await api.engine.listTasks({ tenant: 'beta', limit: 10 })).tasks).toHaveLength(0);
  });

  it('the offline analyser stores a Russian project\'s tags in Russian, and a project with only a name gets its kind as its one tag', async () => {
    const generate = async (body: unknown): Promise<Record<string, any>> => {
      const project = await createProject(body);
      const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
      const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed']);
      expect(task.status, JSON.stringify(task.error)).toBe('completed');
      return (await api.request('GET', `/api/projects/${project.id}`)).body;
    };
    const russian = await generate(quantumMechanicsRussianBody);
    expect(russian.ai_model_used).toBe('offline:extractive');
    expect(russian.ai_generated_tags).toEqual(expect.arrayContaining(['квантовая-механика', 'принцип-неопределённости-гейзенберга']));
    for (const tag of russian.ai_generated_tags) expect(tag).toMatch(tagPattern);

    const bare = await generate({ name: 'X', project_type: 'self_study' });
    expect(bare.ai_generated_tags).toEqual(['self-study']);
    expect(bare.content_summary).toBe('X: a self-study project.');
  });

  it('the offline analyser stores a project whose own text reads as failure text or model talk: its answer is the project\'s words', async () => {
    const project = await createProject({
      name: 'Robot story', project_type: 'self_study',
      goal_description: 'Sorry, I am unable to open the pod bay doors, said the robot. The request failed with status 503, it added. I am having trouble remembering my training data.',
    });
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed']);
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    const read = (await api.request('GET', `/api/projects/${project.id}`)).body;
    expect(read.ai_model_used).toBe('offline:extractive');
    expect(read.content_summary).toMatch(/I am unable to open the pod bay doors/);
  });

  it('a bad force value is a 400', async () => {
    const project = await createProject();
    const response = await api.request('POST', `/api/projects/${project.id}/generate_metadata/?force=maybe`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
  });
});

describe('users\' own meta keys', () => {
  it('are stored, read back with the project, and the pipeline\'s key cannot be written through them', async () => {
    const project = await createProject();
    const put = await api.request('PUT', `/api/projects/${project.id}/meta/color`, { body: { value: { hex: '#ff0' } } });
    expect(put.status).toBe(200);
    const read = await api.request('GET', `/api/projects/${project.id}`);
    expect(read.body.meta).toEqual({ color: { hex: '#ff0' } });
    const reserved = await api.request('PUT', `/api/projects/${project.id}/meta/ai_generated_metadata`, { body: { value: { ai_generated_tags: ['x'] } } });
    expect(reserved.status).toBe(400);
    // Nor the AI metadata's fields, which a project's meta carries at its top level (the seed's shape).
    const seedField = await api.request('PUT', `/api/projects/${project.id}/meta/ai_generated_tags`, { body: { value: ['x'] } });
    expect(seedField.status).toBe(400);
    expect(JSON.stringify(seedField.body.error)).toContain('choose another key');
    expect((await api.request('DELETE', `/api/projects/${project.id}/meta/color`)).status).toBe(204);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.meta).toEqual({});
  });
});

describe('tenant isolation', () => {
  it('another tenant cannot list, read, change, delete or tag a project', async () => {
    const project = await createProject();
    const listed = await api.request('GET', '/api/projects?limit=200', { key: api.keyB });
    expect(listed.status).toBe(200);
    expect(listed.body.projects.map((entry: { id: string }) => entry.id)).not.toContain(project.id);
    expect((await api.request('GET', `/api/projects/${project.id}`, { key: api.keyB })).status).toBe(404);
    expect((await api.request('PATCH', `/api/projects/${project.id}`, { key: api.keyB, body: { name: 'stolen' } })).status).toBe(404);
    expect((await api.request('PUT', `/api/projects/${project.id}/meta/color`, { key: api.keyB, body: { value: 1 } })).status).toBe(404);
    expect((await api.request('DELETE', `/api/projects/${project.id}`, { key: api.keyB })).status).toBe(404);
    const mine = await api.request('GET', `/api/projects/${project.id}`);
    expect(mine.body.name).toBe(neuralNetworksBody.name);
    expect(mine.body.meta).toEqual({});
  });
});

describe('key roles', () => {
  it('a supervisor reads projects and settings but creates, changes, deletes and generates nothing', async () => {
    const supervisor = (await createApiKey(api.db.pool, { tenant: 'alpha', role: 'supervisor' })).key;
    const project = await createProject();
    await api.request('PUT', `/api/projects/${project.id}/meta/color`, { body: { value: 'blue' } });
    const before = await counts();
    const tasksBefore = (await api.db.pool.query("SELECT count(*)::int AS count FROM tasks WHERE tenant = 'alpha'")).rows[0].count as number;
    for (const [method, path, body] of [
      ['POST', '/api/projects', neuralNetworksBody],
      ['PATCH', `/api/projects/${project.id}`, { name: 'renamed' }],
      ['DELETE', `/api/projects/${project.id}`, undefined],
      ['POST', `/api/projects/${project.id}/generate_metadata/`, undefined],
      ['PUT', `/api/projects/${project.id}/meta/color`, { value: 'red' }],
      ['DELETE', `/api/projects/${project.id}/meta/color`, undefined],
      ['PUT', '/api/smart-metadata/settings', { show_ai_meta: false }],
    ] as const) {
      const refused = await api.request(method, path, { key: supervisor, ...(body === undefined ? {} : { body }) });
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'forbidden', details: { role: 'supervisor', required_roles: ['marketer'] } });
    }
    expect(await counts()).toEqual(before);
    expect((await api.db.pool.query("SELECT count(*)::int AS count FROM tasks WHERE tenant = 'alpha'")).rows[0].count).toBe(tasksBefore);
    const read = await api.request('GET', `/api/projects/${project.id}`, { key: supervisor });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name: neuralNetworksBody.name, meta: { color: 'blue' } });
    expect((await api.request('GET', '/api/smart-metadata/settings', { key: supervisor })).status).toBe(200);
  });
});

describe('project CRUD', () => {
  it('creates, lists page by page, updates and deletes (its meta goes with it)', async () => {
    const created = await Promise.all([1, 2, 3].map((index) => createProject({ name: `School ${index}`, project_type: 'school', course_name: 'Physics', course_code: 'PHY 101', teacher: 'Dr. Curie', important_dates: [{ title: 'Exam', date: '2026-06-01' }] }, api.keyB)));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { projects: Array<{ id: string }>; next_cursor: string | null } } = await api.request('GET', `/api/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: api.keyB });
      seen.push(...page.body.projects.map((entry) => entry.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(created.map((entry) => entry.id).sort());

    const patched = await api.request('PATCH', `/api/projects/${created[0]!.id}`, { key: api.keyB, body: { is_draft: true, important_dates: [] } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ is_draft: true, important_dates: [], course_code: 'PHY 101' });
    await api.request('PUT', `/api/projects/${created[0]!.id}/meta/notes`, { key: api.keyB, body: { value: 'x' } });
    expect((await api.request('DELETE', `/api/projects/${created[0]!.id}`, { key: api.keyB })).status).toBe(204);
    expect((await api.request('GET', `/api/projects/${created[0]!.id}`, { key: api.keyB })).status).toBe(404);
    const orphans = await api.db.pool.query('SELECT count(*)::int AS count FROM project_meta WHERE project_id = $1', [created[0]!.id]);
    expect(orphans.rows[0].count).toBe(0);
  });

  it('a PATCH that changes the type and sends the old type\'s fields as null is applied (each column set once), both ways', async () => {
    const selfStudy = await createProject();
    const toSchool = await api.request('PATCH', `/api/projects/${selfStudy.id}`, { body: { project_type: 'school', course_name: 'ML 101', goal_description: null, study_frequency: null } });
    expect(toSchool.status).toBe(200);
    expect(toSchool.body).toMatchObject({ project_type: 'school', course_name: 'ML 101', goal_description: null, study_frequency: null });
    expect((await api.request('GET', `/api/projects/${selfStudy.id}`)).body).toMatchObject({ project_type: 'school', course_name: 'ML 101', goal_description: null, study_frequency: null });

    const school = await createProject({ name: 'Physics', project_type: 'school', course_name: 'Physics', course_code: 'PHY 101', teacher: 'Dr. Curie' });
    const toSelfStudy = await api.request('PATCH', `/api/projects/${school.id}`, { body: { project_type: 'self_study', goal_description: 'Learn physics on my own', course_name: null, course_code: null, teacher: null } });
    expect(toSelfStudy.status).toBe(200);
    expect(toSelfStudy.body).toMatchObject({ project_type: 'self_study', goal_description: 'Learn physics on my own', course_name: null, course_code: null, teacher: null });
    expect((await api.request('GET', `/api/projects/${school.id}`)).body).toMatchObject({ project_type: 'self_study', goal_description: 'Learn physics on my own', course_name: null, course_code: null, teacher: null });

    // Naming the type it already has, with the other type's fields as null: still one assignment each, nothing lost.
    const same = await api.request('PATCH', `/api/projects/${school.id}`, { body: { project_type: 'self_study', study_frequency: 'weekly', teacher: null } });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ project_type: 'self_study', goal_description: 'Learn physics on my own', study_frequency: 'weekly', teacher: null });
  });
});

describe('bad input gets a 4xx and writes nothing', () => {
  it.each([
    ['an unknown project type', { name: 'x', project_type: 'university' }, 400],
    ['a number for the name', { name: 42, project_type: 'self_study' }, 400],
    ['a string for is_draft', { name: 'x', project_type: 'self_study', is_draft: 'yes' }, 400],
    ['files that are not a list', { name: 'x', project_type: 'self_study', files: 'notes.txt' }, 400],
    ['a bad date', { name: 'x', project_type: 'self_study', important_dates: [{ title: 'Exam', date: '31/12/2026' }] }, 400],
    ['a date in year 0000, which PostgreSQL has not', { name: 'x', project_type: 'self_study', important_dates: [{ title: 'Exam', date: '0000-01-01' }] }, 400],
    ['a field of the other project type', { name: 'x', project_type: 'self_study', teacher: 'Dr. Who' }, 400],
    ['an unknown field', { name: 'x', project_type: 'self_study', owner: 'me' }, 400],
    ['an empty body', undefined, 400],
  ])('%s', async (_label, body, status) => {
    const before = await counts();
    const response = await api.request('POST', '/api/projects', body === undefined ? {} : { body });
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe('validation_failed');
    expect(await counts()).toEqual(before);
  });

  it('a cursor past any time PostgreSQL keeps, or with an id that is no uuid, is a 400 naming the cursor', async () => {
    for (const cursor of [`9999999999999999999:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, `1:${'-'.repeat(36)}`]) {
      const response = await api.request('GET', `/api/projects?cursor=${encodeURIComponent(cursor)}`);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'validation_failed', details: { issues: [{ path: 'cursor' }] } });
    }
  });

  it('a 10 MB file text is refused before anything is written', async () => {
    const before = await counts();
    const response = await api.request('POST', '/api/projects', { body: { name: 'Huge', project_type: 'self_study', files: [{ name: 'big.txt', extracted_text: 'a'.repeat(10 * 1024 * 1024) }] } });
    expect(response.status).toBe(413);
    expect(await counts()).toEqual(before);
  });

  it('a file text over the schema\'s limit is a 400 when the body limit lets it through', async () => {
    const roomy = await startMetadataApi({ config: { apiBodyLimitBytes: 20 * 1024 * 1024 } });
    try {
      const response = await roomy.request('POST', '/api/projects', { body: { name: 'Huge', project_type: 'self_study', files: [{ name: 'big.txt', extracted_text: 'a'.repeat(10 * 1024 * 1024) }] } });
      expect(response.status).toBe(400);
      expect(response.body.error.issues ?? response.body.error.details.issues).toEqual([expect.objectContaining({ path: 'files.0.extracted_text' })]);
      const rows = await roomy.db.pool.query('SELECT count(*)::int AS count FROM projects');
      expect(rows.rows[0].count).toBe(0);
    } finally {
      await roomy.close();
    }
  });

  it('a PATCH with only the other project type\'s field is checked against the stored type and changes nothing', async () => {
    const project = await createProject({ name: 'Physics', project_type: 'school', course_name: 'Physics', teacher: 'Dr. Curie' });
    const before = await api.request('GET', `/api/projects/${project.id}`);
    const response = await api.request('PATCH', `/api/projects/${project.id}`, { body: { goal_description: 'Learn physics on my own' } });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(response.body.error.message).toMatch(/goal_description belongs to self_study projects, not this school project/);
    expect(response.body.error.issues ?? response.body.error.details.issues).toEqual([expect.objectContaining({ path: 'goal_description' })]);
    // Not even updated_at moved: nothing was written, so nothing counts as a content change.
    expect((await api.request('GET', `/api/projects/${project.id}`)).body).toEqual(before.body);
    // The project's own fields still patch, and changing the type takes the other type's fields.
    expect((await api.request('PATCH', `/api/projects/${project.id}`, { body: { teacher: 'Dr. Meitner' } })).body.teacher).toBe('Dr. Meitner');
    const retyped = await api.request('PATCH', `/api/projects/${project.id}`, { body: { project_type: 'self_study', goal_description: 'Learn physics on my own' } });
    expect(retyped.status).toBe(200);
    expect(retyped.body).toMatchObject({ project_type: 'self_study', goal_description: 'Learn physics on my own', teacher: null, course_name: null });
  });

  it('a PATCH with wrong types changes nothing', async () => {
    const project = await createProject();
    const before = await counts();
    const response = await api.request('PATCH', `/api/projects/${project.id}`, { body: { name: 'renamed', is_draft: 'no' } });
    expect(response.status).toBe(400);
    expect(await counts()).toEqual(before);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.name).toBe(neuralNetworksBody.name);
  });
});

describe('the seed\'s NEXT_PUBLIC_SHOW_AI_META flag', () => {
  let hidden: MetadataApi;

  beforeAll(async () => {
    hidden = await startMetadataApi({ config: { showAiMeta: false } });
  });

  afterAll(async () => {
    await hidden?.close();
  });

  it('is the default of tenants without a setting, and a tenant\'s own setting overrides it', async () => {
    expect((await hidden.request('GET', '/api/smart-metadata/settings')).body).toMatchObject({ show_ai_meta: false, regenerate_on_change: false });
    // A tenant's first update of the other field keeps the flag's default.
    expect((await hidden.request('PUT', '/api/smart-metadata/settings', { body: { regenerate_on_change: true } })).body).toMatchObject({ show_ai_meta: false, regenerate_on_change: true });
    expect((await hidden.request('PUT', '/api/smart-metadata/settings', { body: { show_ai_meta: true } })).body).toMatchObject({ show_ai_meta: true });
    expect((await hidden.request('GET', '/api/smart-metadata/settings', { key: hidden.keyB })).body).toMatchObject({ show_ai_meta: false });
  });
});

describe('the seed\'s task names', () => {
  it('submits generate_missing_metadata_nightly, the seed\'s name, as generate_missing_metadata', async () => {
    const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: 'generate_missing_metadata_nightly', task_data: { min_age_minutes: 0 } } });
    expect(submitted.status).toBe(202);
    const task = await waitForStatus(api.engine, submitted.body.task_id, ['completed', 'failed']);
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    expect(task.task_type).toBe('generate_missing_metadata');
    const types = await api.request('GET', '/api/v1/task-types');
    expect(types.body.task_types.find((entry: { type: string }) => entry.type === 'generate_missing_metadata')).toMatchObject({ aliases: ['generate_missing_metadata_nightly'] });
    expect(types.body.task_types.map((entry: { type: string }) => entry.type)).not.toContain('generate_missing_metadata_nightly');
    // A user who submitted under the seed's name lists under it too.
    const listed = await api.request('GET', '/api/v1/tasks?task_type=generate_missing_metadata_nightly');
    expect(listed.status).toBe(200);
    expect(listed.body.tasks.map((entry: { task_id: string }) => entry.task_id)).toContain(submitted.body.task_id);
  });
});
