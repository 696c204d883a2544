/**
 * The provider path: a structured call to a (mock) model, `model_used` naming the model that
 * actually answered, normalised tags; a provider failure that fails the task with a clear error,
 * stores nothing and counts a failure; a second generate while one runs; ENABLE_STI=false.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../support/openai-compatible-server.ts';
import { claimAndVanish, eventually, waitForStatus } from '../support/engine.ts';
import { recoverLostLeases } from '../../src/engine/ready-queue.ts';
import { waitForFailureHandled } from '../../src/kit/testing.ts';
import { neuralNetworksBody, quantumMechanicsRussianBody } from './fixtures/projects.ts';
import { metadataProvider, mockAnswer, type MetadataProviderControl } from './fixtures/metadata-provider.ts';
import { smartMetadataTaskTypes } from '../../src/pipelines/smart-metadata/index.ts';
import { testLogger } from '../support/engine.ts';
import { metadataConfig, startMetadataApi, type MetadataApi } from './helpers.ts';

async function metricsText(api: MetadataApi): Promise<string> {
  const response = await api.request('GET', '/metrics', { key: null });
  expect(response.status).toBe(200);
  return response.text;
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('with a mock provider', () => {
  let api: MetadataApi;
  let mock: MetadataProviderControl;

  beforeAll(async () => {
    mock = metadataProvider();
    api = await startMetadataApi({ config: { metadataModel: 'mock:metadata' }, providers: { mock: mock.provider } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('stores the normalised answer with the model that answered and the prompt version', async () => {
    mock.behaviour = { ...mock.behaviour, delayMs: 0, failWithStatus: null };
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    expect((await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'])).status).toBe('completed');
    const read = (await api.request('GET', `/api/projects/${project.id}`)).body;
    expect(read.ai_generated_tags).toEqual(['machine-learning', 'python', 'neural-networks']);
    expect(read.ai_model_used).toBe('mock:metadata');
    expect(read.ai_prompt_version).toBe('2.0');
    expect(read.difficulty_level).toBe('intermediate');
    const calls = await api.db.pool.query('SELECT provider, model, step FROM llm_calls WHERE task_id = $1', [started.body.task_id]);
    expect(calls.rows).toEqual([{ provider: 'mock', model: 'metadata', step: 'generate' }]);
  });

  it('a provider failure fails the task with a clear error, stores nothing and counts a failure', async () => {
    mock.behaviour = { ...mock.behaviour, delayMs: 0, failWithStatus: 500 };
    const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Failing project' } })).body;
    await api.request('PUT', `/api/projects/${project.id}/meta/favourite`, { body: { value: true } });
    const failuresBefore = sample(await metricsText(api), 'project_meta_generation_failures_total{error_type="provider_error",model_used="mock:metadata"}') ?? 0;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    expect(task.attempts).toBe(3);
    expect(task.error).toMatchObject({ code: 'llm_call_failed' });
    expect((task.error as { message: string }).message).toMatch(/provider mock, model metadata: HTTP 500/);

    const meta = await api.db.pool.query('SELECT key FROM project_meta WHERE project_id = $1', [project.id]);
    expect(meta.rows).toEqual([{ key: 'favourite' }]);
    const read = (await api.request('GET', `/api/projects/${project.id}`)).body;
    expect(read.ai_generated_tags).toBeNull();

    // One failure for the task (its last attempt), none counted as a success.
    const text = await metricsText(api);
    expect(sample(text, 'project_meta_generation_failures_total{error_type="provider_error",model_used="mock:metadata"}')).toBe(failuresBefore + 1);
    expect(sample(text, 'project_meta_generated_total{status="failure",model_used="mock:metadata",project_type="self_study"}')).toBe(failuresBefore + 1);
    const events = await api.engine.readEvents({ taskId: started.body.task_id, limit: 100 });
    expect(events.filter((event) => event.type === 'metadata_generation_failed')).toHaveLength(1);
    expect(events.some((event) => event.type === 'metadata_generated')).toBe(false);
  });

  it('stores tags in the project\'s language, normalised, instead of stripping them to nothing', async () => {
    mock.behaviour = {
      delayMs: 0, failWithStatus: null,
      answer: { ai_generated_tags: ['Квантовая Механика', 'квантовая-механика', 'физика', 'Уравнение Шрёдингера', '#Волновая_функция'], content_summary: 'Квантовая механика с нуля: уравнение Шрёдингера и волновая функция.', difficulty_level: 'advanced' },
    };
    const project = (await api.request('POST', '/api/projects', { body: quantumMechanicsRussianBody })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    const read = (await api.request('GET', `/api/projects/${project.id}`)).body;
    expect(read.ai_generated_tags).toEqual(['квантовая-механика', 'физика', 'уравнение-шрёдингера', 'волновая-функция']);
    expect(read.ai_model_used).toBe('mock:metadata');
    const stored = await api.db.pool.query('SELECT value FROM project_meta WHERE project_id = $1 AND key = $2', [project.id, 'ai_generated_metadata']);
    expect(stored.rows[0].value.ai_generated_tags).toEqual(read.ai_generated_tags);
  });

  it('an answer with fewer than three usable tags is a failure, not a stored placeholder', async () => {
    mock.behaviour = { delayMs: 0, failWithStatus: null, answer: { ai_generated_tags: ['Python', 'python', 'PYTHON'], content_summary: 'About Python programming.', difficulty_level: 'beginner' } };
    const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Thin answer' } })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    // Not retried: the same answer would fail the same way.
    expect(task.attempts).toBe(1);
    expect((task.error as { message: string }).message).toMatch(/mock:metadata returned 1 usable tag/);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.meta).toEqual({});
    const text = await metricsText(api);
    expect(sample(text, 'project_meta_generation_failures_total{error_type="invalid_output",model_used="mock:metadata"}')).toBe(1);
  });

  it('an answer in which the model apologises or hands back a failure\'s text is a failure, never stored', async () => {
    const series = 'project_meta_generation_failures_total{error_type="invalid_output",model_used="mock:metadata"}';
    const failuresBefore = sample(await metricsText(api), series) ?? 0;
    mock.behaviour = {
      delayMs: 0, failWithStatus: null,
      answer: { ai_generated_tags: ['Error', 'Service Unavailable', 'Retry Later'], content_summary: 'Sorry, I am unable to access the project description right now. Request failed with status 503.', difficulty_level: 'beginner' },
    };
    const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Apologising model' } })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const taskId = started.body.task_id as string;
    const task = await waitForStatus(api.engine, taskId, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    // Refused as any invalid answer is: not retried, as the tag count is not.
    expect(task.attempts).toBe(1);
    expect(task.error).toMatchObject({ code: 'permanent_failure', details: { error_type: 'invalid_output', field: 'content_summary', model_talk: 'I am unable' } });
    expect((task.error as { message: string }).message).toMatch(/mock:metadata answered with text about itself or a failure instead of metadata/);

    const stored = await api.db.pool.query('SELECT key FROM project_meta WHERE project_id = $1', [project.id]);
    expect(stored.rows).toEqual([]);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.ai_generated_tags).toBeNull();
    const generations = await api.db.pool.query('SELECT status, error_type FROM project_meta_generations WHERE task_id = $1', [taskId]);
    expect(generations.rows).toEqual([{ status: 'failure', error_type: 'invalid_output' }]);
    const events = await api.engine.readEvents({ taskId, limit: 100 });
    expect(events.some((event) => event.type === 'metadata_generated')).toBe(false);
    expect(events.filter((event) => event.type === 'metadata_generation_failed').map((event) => event.payload.error_type)).toEqual(['invalid_output']);
    expect(sample(await metricsText(api), series)).toBe(failuresBefore + 1);
  });

  let refusedProjects = 0;
  it.each([
    {
      what: 'an error the project\'s own words do not excuse',
      goal: 'Learn Python error handling: try, except and raising exceptions.',
      answer: { ai_generated_tags: ['python', 'exceptions', 'error-handling'], content_summary: 'Error: the upstream model is overloaded, please try again later.' },
      field: 'content_summary',
    },
    {
      what: 'a refusal beginning as the project does',
      goal: 'I am unable to keep up in my calculus class, so this project drills limits and derivatives.',
      answer: { ai_generated_tags: ['calculus', 'limits', 'derivatives'], content_summary: 'I am unable to access the project description right now; please provide the project details.' },
      field: 'content_summary',
    },
    {
      what: 'a refusal whose first words and verb the project says, of another object',
      goal: 'I am unable to access the lab remotely, so I study circuits at home.',
      answer: { ai_generated_tags: ['circuits', 'electronics', 'home-lab'], content_summary: 'I am unable to access the project description.' },
      field: 'content_summary',
    },
    {
      what: 'a failure\'s report as the whole summary',
      goal: undefined,
      answer: { ai_generated_tags: ['machine-learning', 'python', 'neural-networks'], content_summary: 'The request failed with status code 500: internal server error.' },
      field: 'content_summary',
    },
    {
      what: 'placeholders',
      goal: undefined,
      answer: { ai_generated_tags: ['tag1', 'tag2', 'tag3'], content_summary: 'No summary available.' },
      field: 'content_summary',
    },
    {
      what: 'placeholder tags with a summary saying it is not available',
      goal: undefined,
      answer: { ai_generated_tags: ['unknown', 'n-a', 'none', 'placeholder'], content_summary: 'Summary not available for this project.' },
      field: 'content_summary',
    },
  ])('refuses $what, storing nothing', async ({ goal, answer, field }) => {
    mock.behaviour = { delayMs: 0, failWithStatus: null, answer: { ...answer, difficulty_level: 'beginner' } };
    const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: `Refused answer ${(refusedProjects += 1)}`, ...(goal ? { goal_description: goal } : {}) } })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    expect(task.error).toMatchObject({ code: 'permanent_failure', details: { error_type: 'invalid_output', field } });
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.ai_generated_tags).toBeNull();
  });

  it('reads a difficulty written in capitals, and treats a summary of spaces as too short (repaired and retried, not refused for good)', async () => {
    mock.behaviour = { delayMs: 0, failWithStatus: null, answer: { ...mockAnswer, difficulty_level: 'Advanced' } };
    const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Capitals' } })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    expect((await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000)).status).toBe('completed');
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.difficulty_level).toBe('advanced');

    mock.behaviour = { delayMs: 0, failWithStatus: null, answer: { ...mockAnswer, content_summary: '           .' } };
    const blank = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Blank summary' } })).body;
    const blankTask = await waitForStatus(api.engine, (await api.request('POST', `/api/projects/${blank.id}/generate_metadata/`)).body.task_id, ['completed', 'failed', 'retrying'], 30_000);
    // The schema's refusal, as for an empty summary: the gateway asked for a repair first.
    // Each call's row is finished by the usage writer in the background: read once both are.
    const firstTwo = async (): Promise<Array<string | null>> => (await api.db.pool.query<{ error_code: string | null }>('SELECT error_code FROM llm_calls WHERE task_id = $1 ORDER BY id LIMIT 2', [blankTask.id])).rows.map((row) => row.error_code);
    await expect.poll(firstTwo, { timeout: 10_000 }).toEqual(['llm_invalid_output', 'llm_invalid_output']);
    expect(blankTask.error).not.toMatchObject({ code: 'permanent_failure' });
    await api.engine.cancel(blankTask.id, { tenant: 'alpha' });
  });

  it('stores tags such as error-handling, and a summary repeating failure phrases the project itself says', async () => {
    const body = {
      ...neuralNetworksBody, name: 'Resilient HTTP clients', files: [],
      goal_description: 'Write a Python HTTP client with error handling: when a request failed with status 503 it retries with backoff, and when it is rate limited it waits.',
    };
    mock.behaviour = {
      delayMs: 0, failWithStatus: null,
      answer: { ai_generated_tags: ['error-handling', 'http', 'retries'], content_summary: 'A Python HTTP client with error handling that retries when a request failed with status 503 and waits when rate limited.', difficulty_level: 'intermediate' },
    };
    const project = (await api.request('POST', '/api/projects', { body })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    const read = (await api.request('GET', `/api/projects/${project.id}`)).body;
    expect(read.ai_generated_tags).toEqual(['error-handling', 'http', 'retries']);
    expect(read.content_summary).toMatch(/request failed with status 503/);
  });

  it('a second generate while one runs returns the running task', async () => {
    mock.behaviour = { delayMs: 1500, failWithStatus: null, answer: mockAnswer };
    const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Slow project' } })).body;
    const first = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    expect(first.status).toBe(202);
    const second = await api.request('POST', `/api/projects/${project.id}/generate_metadata/?force=true`);
    expect(second.status).toBe(202);
    // What the running task does, not what the second request asked for: it was not forced.
    expect(second.body).toMatchObject({ message: 'Metadata generation already in progress', task_id: first.body.task_id, project_id: project.id, already_running: true, force_regenerate: false });
    expect((await waitForStatus(api.engine, first.body.task_id, ['completed', 'failed'], 30_000)).status).toBe('completed');
    const tasks = await api.engine.listTasks({ tenant: 'alpha', taskType: 'generate_project_meta', projectId: project.id, limit: 10 });
    expect(tasks.tasks).toHaveLength(1);
  });
});

describe('an edit while an API generation waits for the model', () => {
  let api: MetadataApi;
  let mock: MetadataProviderControl;

  beforeAll(async () => {
    mock = metadataProvider();
    api = await startMetadataApi({ config: { metadataModel: 'mock:metadata', metadataRegenerateDebounceMs: 200 }, providers: { mock: mock.provider } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('is regenerated once the running task has ended, by the follow-up queued when its activity refused the edit\'s own regeneration', async () => {
    expect((await api.request('PUT', '/api/smart-metadata/settings', { body: { regenerate_on_change: true } })).status).toBe(200);
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    mock.behaviour = { ...mock.behaviour, answer: mockAnswer, gate: 'first answer' };
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    expect(started.status).toBe(202);
    const openFirst = await mock.gates.reached('first answer');

    // The edit lands while the model answers: its content_change generation is refused as already running.
    const chemistry = 'Organic chemistry: reaction mechanisms, nucleophilic substitution and elimination reactions.';
    expect((await api.request('PATCH', `/api/projects/${project.id}`, { body: { name: 'Chemistry', goal_description: chemistry, files: [] } })).status).toBe(200);
    const tasks = (await api.engine.listTasks({ tenant: 'alpha', taskType: 'generate_project_meta', projectId: project.id, limit: 10 })).tasks;
    expect(tasks.map((task) => task.id)).toEqual([started.body.task_id]);

    // The first answer describes the old content; the follow-up's regeneration then describes the new.
    const chemistryAnswer = { ai_generated_tags: ['Organic Chemistry', 'reaction mechanisms', 'spectroscopy'], content_summary: 'Reaction mechanisms in organic chemistry.', difficulty_level: 'advanced' };
    mock.behaviour = { ...mock.behaviour, gate: 'second answer' };
    openFirst();
    const done = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(done.status).toBe('completed');
    const openSecond = await mock.gates.reached('second answer');
    mock.behaviour = { ...mock.behaviour, answer: chemistryAnswer, gate: null };
    openSecond();

    const regeneration = await eventually(async () => (await api.engine.listTasks({ tenant: 'alpha', taskType: 'generate_project_meta', projectId: project.id, limit: 10 })).tasks.find((task) => task.id !== started.body.task_id));
    expect((await waitForStatus(api.engine, regeneration.id, ['completed', 'failed'], 30_000)).status).toBe('completed');
    const read = (await api.request('GET', `/api/projects/${project.id}`)).body;
    expect(read.ai_generated_tags).toEqual(['organic-chemistry', 'reaction-mechanisms', 'spectroscopy']);
    const generated = await api.engine.readEvents({ projectId: project.id, limit: 100 });
    expect(generated.filter((event) => event.type === 'metadata_generated').map((event) => event.payload.trigger)).toEqual(['api', 'content_change']);
  });
});

describe('an offline model among the fallbacks', () => {
  let api: MetadataApi;
  let mock: MetadataProviderControl;

  beforeAll(async () => {
    mock = metadataProvider({ failWithStatus: 503 });
    api = await startMetadataApi({ config: { metadataModel: 'mock:metadata', llmFallbackModels: 'offline:default' }, providers: { mock: mock.provider } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('does not store the offline template model\'s answer when the provider fails: the task fails and the failure is recorded', async () => {
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const taskId = started.body.task_id as string;
    const task = await waitForStatus(api.engine, taskId, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    // A provider failure, retried by the task like any other.
    expect(task.attempts).toBe(3);
    expect(task.error).toMatchObject({ code: 'llm_call_failed' });
    expect((task.error as { message: string }).message).toMatch(/offline:default/);
    expect(mock.calls).toBe(3);
    // The gateway did fall back to the offline model each time: that answer is what must not be stored.
    const offline = await api.db.pool.query("SELECT count(*)::int AS count FROM llm_calls WHERE task_id = $1 AND provider = 'offline'", [taskId]);
    expect(offline.rows[0].count).toBeGreaterThan(0);

    expect((await api.request('GET', `/api/projects/${project.id}`)).body.meta).toEqual({});
    const rows = await api.db.pool.query('SELECT status, error_type, model_used FROM project_meta_generations WHERE task_id = $1', [taskId]);
    expect(rows.rows).toEqual([{ status: 'failure', error_type: 'provider_error', model_used: 'mock:metadata' }]);
    const events = await api.engine.readEvents({ taskId, limit: 100 });
    expect(events.some((event) => event.type === 'metadata_generated')).toBe(false);
    expect(events.filter((event) => event.type === 'metadata_generation_failed').map((event) => event.payload))
      .toEqual([expect.objectContaining({ project_id: project.id, error_type: 'provider_error', code: 'llm_call_failed' })]);
  });
});

describe('a metadata model whose provider is not configured', () => {
  let api: MetadataApi;
  let mock: MetadataProviderControl;

  beforeAll(async () => {
    // A provider is configured (so the offline analyser does not stand in), but not the model's.
    mock = metadataProvider();
    api = await startMetadataApi({ config: { metadataModel: 'openai:gpt-4o' }, providers: { mock: mock.provider } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('fails the task as a configuration failure, recorded with its event, and its failure handler completes', async () => {
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const taskId = started.body.task_id as string;
    const task = await waitForStatus(api.engine, taskId, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    // Not retried: the configuration will not change by itself.
    expect(task.attempts).toBe(1);
    expect(task.error).toMatchObject({ code: 'llm_unknown_model' });
    expect((task.error as { message: string }).message).toMatch(/openai.*not configured.*OPENAI_API_KEY/);
    // The type's onFailure ran (it used to throw while naming the model) and found the handler's record.
    await waitForFailureHandled(api.engine, taskId, 10_000);

    const rows = await api.db.pool.query('SELECT project_id, status, error_type, model_used, project_type FROM project_meta_generations WHERE task_id = $1', [taskId]);
    expect(rows.rows).toEqual([{ project_id: project.id, status: 'failure', error_type: 'configuration', model_used: 'openai:gpt-4o', project_type: 'self_study' }]);
    const events = await api.engine.readEvents({ taskId, limit: 100 });
    expect(events.filter((event) => event.type === 'metadata_generation_failed').map((event) => event.payload))
      .toEqual([{ project_id: project.id, error_type: 'configuration', error: (task.error as { message: string }).message, code: 'llm_unknown_model' }]);
    expect(sample(await metricsText(api), 'project_meta_generation_failures_total{error_type="configuration",model_used="openai:gpt-4o"}')).toBe(1);
    expect(mock.calls).toBe(0);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.meta).toEqual({});
  });
});

describe('a provider outage longer than the retry window', () => {
  // Scaled down: a 1 s retry window (default 300 s) and 250 ms requests (default 120 s).
  const outage = { metadataModel: 'mock:metadata', llmFallbackModels: 'backup:metadata', llmRetryWindowMs: 1000, llmTimeoutMs: 250, llmMaxRetries: 10_000 };
  let api: MetadataApi;
  let failing: MetadataProviderControl;
  let backup: MetadataProviderControl;

  beforeAll(async () => {
    failing = metadataProvider({ failWithStatus: 503, delayMs: 100 });
    backup = metadataProvider();
    api = await startMetadataApi({ config: outage, providers: { mock: failing.provider, backup: backup.provider } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('an attempt outlasts the configured model\'s retry window, so the fallback answers', async () => {
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.error).toBeNull();
    expect(task.status).toBe('completed');
    expect(task.attempts).toBe(1);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.ai_model_used).toBe('backup:metadata');
    // The outage was ridden out for the whole window first.
    expect(failing.calls).toBeGreaterThan(5);
    expect(backup.calls).toBe(1);
  });

  it('by default: as long as one metadata call may go on, longer than the gateway retries the configured model', () => {
    const scaled = smartMetadataTaskTypes({ config: metadataConfig(outage), pool: api.db.pool, logger: testLogger, llm: api.llm }, { schedules: false })[0]!;
    expect(scaled.hardTimeoutMs).toBe(2 * (1000 + 250));
    // The default figures: the ai_jobs queue's 300 s equals the default retry window, which an
    // attempt must outlast (a request timing out on either side of it too) to reach a fallback.
    const config = metadataConfig({ metadataModel: 'mock:metadata' });
    const generate = smartMetadataTaskTypes({ config, pool: api.db.pool, logger: testLogger, llm: api.llm }, { schedules: false })[0]!;
    expect(generate.type).toBe('generate_project_meta');
    expect(generate.hardTimeoutMs).toBe(2 * (300_000 + 120_000));
    expect(generate.hardTimeoutMs).toBeGreaterThan(config.llmRetryWindowMs + 2 * config.llmTimeoutMs);
  });
});

describe('an attempt limit no longer than the retry window (as the ai_jobs queue\'s 300 s against the default window)', () => {
  let api: MetadataApi;
  let backup: MetadataProviderControl;

  beforeAll(async () => {
    backup = metadataProvider();
    api = await startMetadataApi({
      config: { metadataModel: 'mock:metadata', llmFallbackModels: 'backup:metadata', llmRetryWindowMs: 1000, llmTimeoutMs: 250, llmMaxRetries: 10_000 },
      // Each failure takes 100 ms: the window counts from the first failure, after the attempt started.
      providers: { mock: metadataProvider({ failWithStatus: 503, delayMs: 100 }).provider, backup: backup.provider },
      tasks: { hardTimeoutMs: 1000 },
    });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('never reaches the fallback: every attempt ends retrying the configured model', async () => {
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    expect(task.attempts).toBe(3);
    expect(task.error).toMatchObject({ code: 'hard_timeout' });
    expect(backup.calls).toBe(0);
  });
});

describe('a worker that dies on the last attempt', () => {
  let api: MetadataApi;

  beforeAll(async () => {
    api = await startMetadataApi({ config: { metadataModel: 'mock:metadata' }, providers: { mock: metadataProvider().provider }, worker: false });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('is recorded as an abandoned failure, with its event, though none of the task\'s code ran at the end', async () => {
    const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Abandoned project' } })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const taskId = started.body.task_id as string;
    // Every attempt claimed by a worker that then dies, with a lease that has lapsed by the time
    // the next sweep looks.
    for (let attempt = 1; attempt <= (await api.engine.getTask(taskId)).max_attempts; attempt += 1) {
      const claimed = await claimAndVanish(api.db.pool, { queue: 'ai_jobs', limit: 10, workerId: `worker-that-died-${attempt}`, leaseSeconds: 0.001 });
      expect(claimed.claimed.map((claim) => claim.task.id)).toEqual([taskId]);
      await eventually(async () => (await recoverLostLeases(api.db.pool)) > 0);
    }
    await api.engine.startWorker({ concurrency: 2, pollIntervalMs: 100 });
    const task = await waitForStatus(api.engine, taskId, ['failed', 'completed'], 30_000);
    expect(task.error).toMatchObject({ code: 'abandoned' });
    await waitForFailureHandled(api.engine, taskId);

    const recorded = await api.db.pool.query('SELECT project_id, status, error_type FROM project_meta_generations WHERE task_id = $1', [taskId]);
    expect(recorded.rows).toEqual([{ project_id: project.id, status: 'failure', error_type: 'abandoned' }]);
    const failed = (await api.engine.readEvents({ taskId, limit: 100 })).filter((event) => event.type === 'metadata_generation_failed');
    expect(failed.map((event) => event.payload)).toEqual([{ project_id: project.id, error_type: 'abandoned', error: (task.error as { message: string }).message, code: 'abandoned' }]);
  });
});

describe('a model that never answers', () => {
  let api: MetadataApi;

  beforeAll(async () => {
    const silent = metadataProvider({ delayMs: 600_000 });
    // A hard timeout short enough that all three attempts end in it within a second.
    api = await startMetadataApi({ config: { metadataModel: 'mock:metadata' }, providers: { mock: silent.provider }, tasks: { hardTimeoutMs: 300 } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('a hard timeout on the last attempt is counted as a timeout failure and emits metadata_generation_failed', async () => {
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    expect(task.attempts).toBe(3);
    expect(task.error).toMatchObject({ code: 'hard_timeout' });

    // The engine settles a timed-out attempt without waiting for its handler, which records the
    // failure as its model call gives up: wait for the row rather than assume it is there.
    const failures = await eventually(async () => {
      const rows = await api.db.pool.query('SELECT project_id, status, error_type, model_used, project_type FROM project_meta_generations WHERE task_id = $1', [started.body.task_id]);
      return rows.rows.length > 0 ? rows.rows : undefined;
    }, 10_000);
    // One row for the task: the earlier attempts were retried, not failed.
    expect(failures).toEqual([{ project_id: project.id, status: 'failure', error_type: 'timeout', model_used: 'mock:metadata', project_type: 'self_study' }]);
    const events = await api.engine.readEvents({ taskId: started.body.task_id, limit: 100 });
    expect(events.filter((event) => event.type === 'metadata_generation_failed').map((event) => event.payload))
      .toEqual([expect.objectContaining({ project_id: project.id, error_type: 'timeout', code: 'hard_timeout' })]);
    expect(sample(await metricsText(api), 'project_meta_generation_failures_total{error_type="timeout",model_used="mock:metadata"}')).toBe(1);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.meta).toEqual({});
  });
});

describe('over real HTTP to an OpenAI-compatible server', () => {
  let server: OpenAiCompatibleServer;
  let api: MetadataApi;

  beforeAll(async () => {
    server = await startOpenAiCompatibleServer();
    api = await startMetadataApi({ config: { openaiCompatibleBaseUrl: server.baseUrl, metadataModel: 'openai-compatible:local-model' } });
  });

  afterAll(async () => {
    await api?.close();
    await server?.close();
  });

  it('fails cleanly when the server answers 500 and stores the metadata once it answers', async () => {
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    server.script('chat', { kind: 'status', status: 500 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    const failed = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    const task = await waitForStatus(api.engine, failed.body.task_id, ['completed', 'failed'], 30_000);
    expect(task.status).toBe('failed');
    expect((task.error as { message: string }).message).toMatch(/openai-compatible.*local-model/);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.meta).toEqual({});

    server.script('chat', { kind: 'ok', content: JSON.stringify({ ai_generated_tags: ['Deep Learning', 'python', 'numpy'], content_summary: 'Neural networks in Python with NumPy and PyTorch.', difficulty_level: 'advanced' }) });
    const succeeded = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    expect((await waitForStatus(api.engine, succeeded.body.task_id, ['completed', 'failed'], 30_000)).status).toBe('completed');
    const read = (await api.request('GET', `/api/projects/${project.id}`)).body;
    expect(read.ai_generated_tags).toEqual(['deep-learning', 'python', 'numpy']);
    expect(read.ai_model_used).toBe('openai-compatible:local-model');
    const request = server.requests.filter((entry) => entry.endpoint === 'chat').at(-1)!;
    expect(JSON.stringify(request.body)).toContain('Project: Neural Networks in Python');
  });
});

describe('ENABLE_STI=false', () => {
  let api: MetadataApi;

  beforeAll(async () => {
    api = await startMetadataApi({ config: { enableSti: false } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('answers 400 with the message and starts nothing', async () => {
    const project = (await api.request('POST', '/api/projects', { body: neuralNetworksBody })).body;
    const response = await api.request('POST', `/api/projects/${project.id}/generate_metadata/`);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'metadata_generation_disabled', message: 'AI metadata generation is disabled (ENABLE_STI=false).' });
    expect((await api.engine.listTasks({ tenant: 'alpha', taskType: 'generate_project_meta', limit: 10 })).tasks).toHaveLength(0);
    // The generic task API cannot go around the switch either: refused the same way, nothing queued.
    for (const [taskType, taskData] of [['generate_project_meta', { project_id: project.id }], ['follow_up_project_meta', { project_id: project.id }], ['generate_missing_metadata', {}]] as const) {
      const submitted = await api.request('POST', '/api/v1/tasks/submit', { body: { task_type: taskType, task_data: taskData } });
      expect(submitted.status).toBe(400);
      expect(submitted.body.error).toMatchObject({ code: 'metadata_generation_disabled' });
    }
    expect((await api.engine.listTasks({ tenant: 'alpha', limit: 10 })).tasks).toHaveLength(0);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.meta).toEqual({});
  });
});

describe('with the LLM response cache on', () => {
  let api: MetadataApi;
  let mock: MetadataProviderControl;

  beforeAll(async () => {
    mock = metadataProvider();
    api = await startMetadataApi({ config: { metadataModel: 'mock:metadata', llmCache: 'on' }, providers: { mock: mock.provider } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('asks the model again on a forced rerun, never replaying a cached answer', async () => {
    const project = (await api.request('POST', '/api/projects', { body: { ...neuralNetworksBody, name: 'Cached project' } })).body;
    const run = async (force: boolean): Promise<void> => {
      const started = await api.request('POST', `/api/projects/${project.id}/generate_metadata/${force ? '?force=true' : ''}`);
      expect((await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'])).status).toBe('completed');
    };
    await run(false);
    const before = mock.calls;
    // A QA rerun for unchanged text: the model answers it, with whatever it answers now.
    mock.behaviour = { ...mock.behaviour, answer: { ...mockAnswer, ai_generated_tags: ['deep-learning', 'python', 'tensorflow'] } };
    await run(true);
    expect(mock.calls).toBe(before + 1);
    expect((await api.request('GET', `/api/projects/${project.id}`)).body.ai_generated_tags).toEqual(['deep-learning', 'python', 'tensorflow']);
  });
});
