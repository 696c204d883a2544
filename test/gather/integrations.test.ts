/**
 * Payload CMS and the Brain service over real HTTP, against local servers started here: the
 * departments query and its authorization, indexing, context, duplicate search and coverage, and
 * what happens when either fails.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBrainServiceClient } from '../../src/integrations/brain/index.ts';
import { createPayloadClient, departmentsQuery } from '../../src/integrations/payload.ts';
import { cancelChannel } from '../../src/engine/cancel.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, waitForStatus } from '../support/engine.ts';
import { startBrainServer, type BrainServer } from '../support/brain-server.ts';
import { startPayloadServer, type PayloadServer } from '../support/payload-server.ts';
import { gatherEvents } from '../../src/pipelines/automated-gather/events.ts';
import { expectDeclaredPayloads } from '../support/declared-events.ts';
import { eventsOf, gatherConfig, ofType, startGatherEngine, type GatherHarness } from './helpers.ts';

let database: TestDatabase;
let harness: GatherHarness;
let payload: PayloadServer;
let brain: BrainServer;

const payloadDepartments = [
  { id: 12, slug: 'character', name: 'Character Department', description: 'Characters and their arcs.', codeDepNumber: 2, gatherCheck: true, isActive: true, defaultModel: 'anthropic/claude-sonnet-4.5', coordinationSettings: { minQualityThreshold: 60, maxRetries: 3, requiresPreviousDept: true } },
  { id: 'abc', slug: 'story', name: 'Story Department', description: null, codeDepNumber: 1, gatherCheck: true, isActive: true, defaultModel: null, coordinationSettings: null },
  { id: 13, slug: 'visual', name: 'Visual Department', description: 'Look and feel.', codeDepNumber: 3, gatherCheck: false, isActive: true },
  { id: 14, slug: 'audio', name: 'Audio Department', description: 'Sound.', codeDepNumber: 6, gatherCheck: true, isActive: false },
];

beforeAll(async () => {
  database = await createTestDatabase();
  payload = await startPayloadServer(payloadDepartments);
  brain = await startBrainServer();
  const config = gatherConfig({ payloadApiUrl: payload.baseUrl, payloadApiKey: 'payload-secret', brainServiceBaseUrl: brain.baseUrl, brainServiceApiKey: 'brain-secret' });
  harness = await startGatherEngine(database, { config });
});

afterAll(async () => {
  await harness?.engine.stop({ graceMs: 500 });
  await payload?.close();
  await brain?.close();
  await database?.drop();
});

async function run(projectId: string) {
  const submitted = await harness.engine.submit({ taskType: 'automated_gather_creation', input: { project_id: projectId, enable_auto_evaluation: false } });
  const task = await waitForStatus(harness.engine, submitted.task.id, ['completed', 'failed'], 40_000);
  return { task, events: await eventsOf(harness.engine, submitted.task.id), result: task.result as Record<string, any> };
}

it('takes departments from Payload (exact query, API-key auth) and indexes, searches and reads context in the Brain', async () => {
  payload.requests.length = 0;
  brain.requests.length = 0;
  const { task, events, result } = await run('payload-project');
  expect(task.error).toBeNull();
  expect(payload.requests[0]!.url).toBe(`/api/departments?${departmentsQuery}`);
  expect(payload.requests[0]!.url).toBe('/api/departments?where[gatherCheck][equals]=true&where[isActive][equals]=true&sort=codeDepNumber&limit=1000');
  expect(payload.requests[0]!.headers.authorization).toBe('users API-Key payload-secret');
  // Only gatherCheck && isActive departments, in codeDepNumber order, with Payload's thresholds.
  expect(result.summary.map((entry: { department: string }) => entry.department)).toEqual(['story', 'character']);
  const started = ofType(events, 'department_started');
  expect(started.map((payload) => [payload.department, payload.department_number, payload.threshold])).toEqual([['story', 1, 80], ['character', 2, 60]]);
  expect(ofType(events, 'automation_started')[0]).toMatchObject({ departments_count: 2, source: 'payload' });

  // Every saved item was indexed in the Brain, in batches of at most 50, with its taskloom id.
  const batches = brain.requests.filter((request) => request.path === '/api/v1/nodes/batch');
  expect(batches.length).toBe(result.iterations);
  expect(brain.nodes.length).toBe(result.items_created);
  expect(brain.nodes.every((node) => node.type === 'gather' && node.projectId === 'payload-project' && typeof node.properties.gatherItemId === 'string')).toBe(true);
  expect(batches[0]!.headers.authorization).toBe('Bearer brain-secret');
  // Cascading context: the second department asked for the first one's context.
  const contexts = brain.requests.filter((request) => request.path === '/api/v1/context/department');
  expect(contexts).toHaveLength(2);
  const query = new URLSearchParams(contexts[1]!.query);
  expect([query.get('projectId'), query.get('department'), query.get('previousDepartments')]).toEqual(['payload-project', 'character', 'story']);
  const searches = brain.requests.filter((request) => request.path === '/api/v1/search/duplicates');
  expect(searches.length).toBeGreaterThan(0);
  // The Brain is asked on its own scale (BRAIN_SERVICE_DUPLICATE_THRESHOLD, the seed's 0.90), not
  // with the local embedding's threshold.
  expect(new Set(searches.map((request) => (request.body as { threshold: number }).threshold))).toEqual(new Set([0.9]));
  expect(brain.requests.filter((request) => request.path === '/api/v1/analyze/coverage')).toHaveLength(result.iterations);
  expect(ofType(events, 'automation_warning')).toHaveLength(0);
});

it('retries a Payload outage, fails with a clear error when it outlasts every attempt, and never invents departments', async () => {
  // Down for one attempt (the client's three tries): the run tries again after its backoff and
  // gathers, as the seeds' autoretry did.
  payload.fail({ kind: 'status', status: 500 }, { kind: 'status', status: 502 }, { kind: 'status', status: 503 });
  const outage = await run('payload-blip');
  expect(outage.task.status).toBe('completed');
  expect(outage.task.attempts).toBe(2);
  expect(ofType(outage.events, 'automation_error')).toEqual([expect.objectContaining({ code: 'dependency_failed', will_retry: true })]);

  // Down for every attempt: failed, saying so.
  const attempts = outage.task.max_attempts;
  payload.fail(...Array.from({ length: attempts * 3 }, () => ({ kind: 'status' as const, status: 503 })));
  const unavailable = await run('payload-down');
  expect(unavailable.task.status).toBe('failed');
  expect(unavailable.task.attempts).toBe(attempts);
  expect(unavailable.task.error).toMatchObject({ code: 'dependency_failed' });
  expect((unavailable.task.error as { message: string }).message).toMatch(/Payload CMS.*503.*never invented/s);
  expect(ofType(unavailable.events, 'automation_error').at(-1)).toEqual(expect.objectContaining({ code: 'dependency_failed', will_retry: false }));
  expect(ofType(unavailable.events, 'department_started')).toHaveLength(0);

  payload.fail({ kind: 'status', status: 401 });
  const refused = await run('payload-refused');
  expect(refused.task.status).toBe('failed');
  expect((refused.task.error as { message: string }).message).toContain('401');

  payload.fail({ kind: 'not-json' });
  const garbled = await run('payload-garbled');
  expect(garbled.task.status).toBe('failed');
  expect((garbled.task.error as { message: string }).message).toContain('not JSON');

  // Nothing gathered by the runs that failed (the one retried through its outage gathered).
  const items = await database.pool.query("SELECT 1 FROM gather_items WHERE project_id LIKE 'payload-%' AND project_id NOT IN ('payload-project', 'payload-blip')");
  expect(items.rowCount).toBe(0);
});

it('refuses Payload departments it cannot key a gather by: a repeated slug, a slug outside the rule, no number or one out of range', async () => {
  const valid = payload.departments;
  try {
    const cases: Array<{ project: string; departments: Array<Record<string, unknown>>; message: RegExp }> = [
      { project: 'payload-twice', departments: [...valid, { ...valid[1]!, id: 15, name: 'Story Two', codeDepNumber: 4 }], message: /two departments to gather have the slug "story"/ },
      { project: 'payload-slug', departments: [{ ...valid[1]!, slug: 'Story Dept' }], message: /department slug "Story Dept" is not one taskloom can key a gather by/ },
      { project: 'payload-number', departments: [{ ...valid[1]!, codeDepNumber: null }], message: /department 0 of GET .* is invalid \(codeDepNumber/ },
      // Past the numbers an evaluation takes: refused before anything is gathered, not after the
      // first department was paid for, when its evaluation was submitted.
      { project: 'payload-number-range', departments: [{ ...valid[1]!, codeDepNumber: 100_001 }], message: /department 0 of GET .* is invalid \(codeDepNumber/ },
      // A boolean is no threshold: coerced, `true` was 1, which every department reached at once.
      { project: 'payload-threshold', departments: [{ ...valid[1]!, coordinationSettings: { minQualityThreshold: true } }], message: /department 0 of GET .* is invalid \(coordinationSettings\.minQualityThreshold/ },
    ];
    for (const { project, departments, message } of cases) {
      payload.departments = departments;
      const refused = await run(project);
      expect(refused.task.status).toBe('failed');
      expect(refused.task.error).toMatchObject({ code: 'dependency_failed', retryable: false });
      expect((refused.task.error as { message: string }).message).toMatch(message);
      expect(ofType(refused.events, 'department_started')).toHaveLength(0);
    }
    // Two Payload departments sharing a number: an evaluation by number names neither, and says so.
    payload.departments = [valid[0]!, { ...valid[1]!, codeDepNumber: 2 }];
    const ambiguous = await harness.engine.submit({ taskType: 'evaluate_department', input: { project_id: 'payload-ambiguous', department_number: 2, auto_triggered: false } });
    const evaluation = await waitForStatus(harness.engine, ambiguous.task.id, ['completed', 'failed'], 20_000);
    expect(evaluation.status).toBe('failed');
    expect((evaluation.error as { message: string }).message).toContain('character and story share number 2');
    // A slug and a number naming two departments: which was meant is not guessed.
    payload.departments = valid;
    const mismatched = await harness.engine.submit({ taskType: 'evaluate_department', input: { project_id: 'payload-mismatched', department: 'story', department_number: 2, auto_triggered: false } });
    const refusedEvaluation = await waitForStatus(harness.engine, mismatched.task.id, ['completed', 'failed'], 20_000);
    expect(refusedEvaluation.status).toBe('failed');
    expect((refusedEvaluation.error as { message: string }).message).toContain('Department story has number 1, not 2');
    // A number Payload sends as text is read as that number; a cleared threshold ("") is absent
    // (the default, 80, applies), not 0.
    payload.departments = [{ ...valid[1]!, codeDepNumber: '1', coordinationSettings: { minQualityThreshold: '', maxRetries: '2' } }];
    const [read] = await createPayloadClient({ baseUrl: payload.baseUrl, apiKey: 'payload-secret' }).fetchGatherDepartments();
    expect(read).toMatchObject({ codeDepNumber: 1, coordinationSettings: { minQualityThreshold: null, maxRetries: 2 } });
  } finally {
    payload.departments = valid;
  }
});

it('indexes in the Brain the items a run saved before a cancel that came while it indexed them', async () => {
  let release!: () => void;
  brain.indexHeld = new Promise<void>((resolve) => {
    release = resolve;
  });
  try {
    const submitted = await harness.engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'brain-cancelled', enable_auto_evaluation: false } });
    await eventually(async () => brain.indexWaiting > 0);
    // Released once the cancel has reached the worker (its handler is registered before this
    // one's), and the request's connection has had a turn to close if the run gave up on it.
    const cancelHeard = new Promise<void>((resolve) => {
      const stop = harness.engine.listener.on(cancelChannel, (taskId) => {
        if (taskId !== submitted.task.id) return;
        stop();
        resolve();
      });
    });
    await harness.engine.cancel(submitted.task.id);
    await cancelHeard;
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const task = await waitForStatus(harness.engine, submitted.task.id, ['cancelled', 'completed', 'failed'], 40_000);
    expect(task.status).toBe('cancelled');
    const saved = (await database.pool.query<{ id: string }>("SELECT id FROM gather_items WHERE project_id = 'brain-cancelled'")).rows.map((row) => row.id).sort();
    expect(saved.length).toBeGreaterThan(0);
    const indexed = brain.nodes.filter((node) => node.projectId === 'brain-cancelled').map((node) => String(node.properties.gatherItemId)).sort();
    expect(indexed).toEqual(saved);
    expect(ofType(await eventsOf(harness.engine, submitted.task.id), 'automation_warning')).toEqual([]);
  } finally {
    brain.indexHeld = undefined;
    release();
  }
});

it('continues on local context with a warning when the Brain is down', async () => {
  brain.down = true;
  try {
    const { task, events, result } = await run('brain-down');
    expect(task.status).toBe('completed');
    expect(result.items_created).toBeGreaterThan(0);
    const warnings = ofType(events, 'automation_warning');
    expect(warnings.length).toBeGreaterThan(0);
    expect(new Set(warnings.map((warning) => warning.code))).toEqual(new Set(['brain_unavailable']));
    expect(new Set(warnings.map((warning) => warning.operation))).toEqual(new Set(['context', 'search_duplicates', 'index', 'coverage']));
    expect(expectDeclaredPayloads(events, gatherEvents)).toContain('automation_warning');
    const stored = await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM gather_items WHERE project_id = 'brain-down'");
    expect(stored.rows[0]!.count).toBe(result.items_created);
  } finally {
    brain.down = false;
  }
});

it('the Payload client times out a hanging server instead of waiting forever', async () => {
  payload.fail({ kind: 'hang' });
  const client = createPayloadClient({ baseUrl: payload.baseUrl, timeoutMs: 300, retries: 0 });
  await expect(client.fetchGatherDepartments()).rejects.toMatchObject({ code: 'dependency_failed' });
});

it('an answer whose body breaks off after its 200 is a failed call: Payload retries it, the Brain reports it', async () => {
  payload.requests.length = 0;
  payload.fail({ kind: 'broken-body' });
  const client = createPayloadClient({ baseUrl: payload.baseUrl });
  const departments = await client.fetchGatherDepartments();
  expect(departments.map((department) => department.slug)).toEqual(['story', 'character']);
  expect(payload.requests).toHaveLength(2);
  payload.fail({ kind: 'broken-body' });
  const once = createPayloadClient({ baseUrl: payload.baseUrl, retries: 0 });
  await expect(once.fetchGatherDepartments()).rejects.toMatchObject({ code: 'dependency_failed', retryable: true, message: expect.stringContaining('body broke off') });

  brain.brokenBodies = true;
  try {
    const client = createBrainServiceClient({ baseUrl: brain.baseUrl });
    await expect(client.searchDuplicates({ tenant: 'default', projectId: 'broken', department: 'story', content: 'x', threshold: 0.9 })).rejects.toMatchObject({ code: 'dependency_failed', retryable: true });
  } finally {
    brain.brokenBodies = false;
  }
});

it('keeps tenants apart at the Brain service: a tenant other than default sends its project id prefixed', async () => {
  brain.requests.length = 0;
  const client = createBrainServiceClient({ baseUrl: brain.baseUrl });
  const scope = { tenant: 'studio-b', projectId: 'shared-film' };
  await client.indexItems(scope, [{ id: 'item-b', content: 'A lighthouse keeper finds a map.', summary: 'map', context: 'story', department: 'story', properties: {} }], undefined as never);
  await client.departmentContext({ ...scope, department: 'character', previousDepartments: ['story'] });
  await client.searchDuplicates({ ...scope, department: 'story', content: 'A lighthouse keeper finds a map.', threshold: 0.9 });
  await client.analyzeCoverage({ ...scope, department: 'story', departmentName: 'Story', description: 'Plot.' });
  const sent = brain.requests.map((request) => (request.path === '/api/v1/context/department'
    ? new URLSearchParams(request.query).get('projectId')
    : request.path === '/api/v1/nodes/batch' ? (request.body as { nodes: Array<{ projectId: string }> }).nodes[0]!.projectId : (request.body as { projectId: string }).projectId));
  expect(sent).toEqual(['tenant:studio-b:shared-film', 'tenant:studio-b:shared-film', 'tenant:studio-b:shared-film', 'tenant:studio-b:shared-film']);
  // The default tenant's gather above used the seed's own project ids.
  expect(brain.nodes.filter((node) => node.projectId === 'shared-film')).toEqual([]);
  expect(brain.nodes.filter((node) => node.projectId === 'tenant:studio-b:shared-film')).toHaveLength(1);
});

it('takes a Brain duplicate match that carries only its id, and reads a similarity sent as text', async () => {
  // A service that answers matches as ids with scores as text (a Python service's Decimal, say).
  const answered = { duplicates: [{ id: 'n1', similarity: '0.97' }, { id: 'n2', similarity: '0.5' }, { similarity: 0.99 }] };
  const client = createBrainServiceClient({ baseUrl: 'http://brain.test', fetch: async () => new Response(JSON.stringify(answered), { status: 200, headers: { 'content-type': 'application/json' } }) });
  const found = await client.searchDuplicates({ tenant: 'default', projectId: 'film', department: 'story', content: 'A lighthouse keeper finds a map.', threshold: 0.9 });
  expect(found.map((node) => [node.id, node.score])).toEqual([['n1', 0.97]]);
});

it('refuses a Brain failure answered with a 2xx: an error body, an empty body, no list, a failure\'s text as context, a coverage off the scale', async () => {
  const answering = (status: number, body: string) => createBrainServiceClient({ baseUrl: 'http://brain.test', fetch: async () => new Response(status === 204 ? null : body, { status, headers: { 'content-type': 'application/json' } }) });
  const context = { tenant: 'default', projectId: 'film', department: 'sound', previousDepartments: ['story'] };
  const search = { tenant: 'default', projectId: 'film', department: 'story', content: 'A lighthouse keeper finds a map.', threshold: 0.9 };
  const coverage = { tenant: 'default', projectId: 'film', department: 'story', departmentName: 'Story', description: 'Plot.' };
  // Each was read as content, "no duplicates" or "no context", and reached the prompt or the items.
  for (const [status, body, reason] of [
    [200, JSON.stringify({ summary: 'Error 503: Service Unavailable. The server is temporarily unable to service your request.' }), 'failure\'s text'],
    [200, JSON.stringify({ nodes: ['<html><body>502 Bad Gateway</body></html>'] }), 'an HTML page'],
    [200, JSON.stringify({ nodes: [{ content: 'Error: upstream connect error or disconnect/reset before headers' }] }), 'failure\'s text'],
    [200, JSON.stringify({ error: 'index unavailable', status: 'error' }), 'with an error'],
    [200, '', 'empty body'],
    [200, JSON.stringify({ ok: true }), 'neither nodes nor a summary'],
  ] as const) {
    await expect(answering(status, body).departmentContext(context), body).rejects.toMatchObject({ code: 'dependency_failed', message: expect.stringContaining(reason) });
  }
  for (const body of [JSON.stringify({ error: 'index unavailable', status: 'error' }), '', JSON.stringify({ took: 3 })]) {
    await expect(answering(200, body).searchDuplicates(search), body).rejects.toMatchObject({ code: 'dependency_failed' });
  }
  for (const body of [JSON.stringify({ coverage: 9999, gaps: [] }), JSON.stringify({ coverage: 40, gaps: [], summary: 'Traceback (most recent call last):\n  File "app.py", line 3' })]) {
    await expect(answering(200, body).analyzeCoverage(coverage), body).rejects.toMatchObject({ code: 'dependency_failed' });
  }
  // Context about failures, HTML or code is context: only a text that is a failure is refused.
  const technical = [
    'Support runbook: when the payments API returns status 503, retry with backoff.',
    'Incident review: the login request failed because the session store was unavailable.',
    'The title card is built as an HTML page with <body> and <h1> elements.',
  ];
  expect((await answering(200, JSON.stringify({ nodes: technical.map((content) => ({ content })) })).departmentContext(context)).map((node) => node.content)).toEqual(technical);
  // What a working Brain answers still reads: context, no matches, and an index's empty 204.
  expect(await answering(200, JSON.stringify({ nodes: [{ content: 'The lighthouse stands on a cliff.' }] })).departmentContext(context)).toEqual([{ id: 'node-0', content: 'The lighthouse stands on a cliff.' }]);
  expect(await answering(200, JSON.stringify({ duplicates: [] })).searchDuplicates(search)).toEqual([]);
  expect(await answering(204, '').indexItems({ tenant: 'default', projectId: 'film' }, [{ id: 'i', content: 'c', summary: 's', context: 'x', department: 'story', properties: {} }], undefined as never)).toEqual({ indexed: 1 });
});
