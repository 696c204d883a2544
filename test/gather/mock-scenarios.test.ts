/**
 * The gather loop against mock models at the LanguageModelV4 spec interface, through the real
 * gateway: threshold reached, stagnation, budget exhausted, a batch that is all duplicates,
 * malformed model output, a 429 storm, and the optional borderline judge.
 *
 * One scripted model serves every call; each test sets the script for its own project.
 */
import type { LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from '@ai-sdk/provider';
import { customProvider } from 'ai';
import { MockEmbeddingModelV4, MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { aladdinDepartments, replaceProjectDepartments } from '../../src/pipelines/automated-gather/index.ts';
import { evaluationInstructions, generationInstructions, judgeInstructions, qualityInstructions } from '../../src/pipelines/automated-gather/prompts.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, waitForStatus } from '../support/engine.ts';
import { eventsOf, gatherConfig, httpStatusError, jsonAnswer, ofType, startGatherEngine, testGateway, textAnswer, type GatherHarness } from './helpers.ts';
import { callText } from '../support/model-calls.ts';

interface Script {
  generate: (call: number, prompt: string) => LanguageModelV4GenerateResult;
  quality: (call: number, prompt: string) => number | { score: number; missing: string[] };
}

const scripts = new Map<string, Script>();
const prompts: Array<{ kind: string; user: string }> = [];
const counters = new Map<string, number>();

/** The project a call belongs to: each test's departments carry it in their description. */
function projectOf(text: string): string {
  return /project-tag:([a-z0-9-]+)/.exec(text)?.[1] ?? 'unknown';
}

function next(key: string): number {
  const value = (counters.get(key) ?? 0) + 1;
  counters.set(key, value);
  return value;
}

const model = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'default',
  doGenerate: async (options: LanguageModelV4CallOptions) => {
    const { system, user } = callText(options);
    const project = projectOf(user);
    const script = scripts.get(project);
    if (system.startsWith(evaluationInstructions)) {
      return jsonAnswer({ rating: 77, summary: 'Ready enough.', strengths: ['clear'], weaknesses: ['thin'], recommendations: ['add depth'] });
    }
    if (system.startsWith(judgeInstructions)) {
      // The judge sees only the pairs (no project tag); it calls every pair a duplicate.
      next('judge-calls');
      const pairs = [...user.matchAll(/Pair (\d+):/g)].map((match) => Number(match[1]));
      return jsonAnswer({ verdicts: pairs.map((pair) => ({ pair, duplicate: true })) });
    }
    if (!script) throw new Error(`no script for project ${project}`);
    if (system.startsWith(generationInstructions)) {
      prompts.push({ kind: 'generate', user });
      return script.generate(next(`${project}:generate`), user);
    }
    if (system.startsWith(qualityInstructions)) {
      const answer = script.quality(next(`${project}:quality`), user);
      const { score, missing } = typeof answer === 'number' ? { score: answer, missing: [] } : answer;
      return jsonAnswer({ coverage_score: score, depth_score: score, coherence_score: score, actionability_score: score, missing_aspects: missing });
    }
    throw new Error(`unexpected call: ${system.slice(0, 60)}`);
  },
});

/** Vectors written into the content as ⟨e:slot:weight,slot:weight⟩; other texts get a hashed slot. */
function vectorOf(text: string): number[] {
  const vector = Array.from({ length: 64 }, () => 0);
  const marker = /⟨e:([^⟩]+)⟩/.exec(text);
  if (marker) {
    for (const part of marker[1]!.split(',')) {
      const [slot, weight] = part.split(':').map(Number);
      vector[slot!] = weight!;
    }
  } else {
    let hash = 0;
    for (const character of text) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
    vector[hash % 64] = 1;
    vector[(hash >>> 8) % 64] = (vector[(hash >>> 8) % 64] ?? 0) + 0.5;
  }
  return vector;
}

const embedder = new MockEmbeddingModelV4({
  provider: 'mock',
  modelId: 'embed',
  doEmbed: async (options) => ({ embeddings: options.values.map((value) => vectorOf(String(value))), usage: { tokens: options.values.length }, warnings: [] }),
});

/** Distinct items: made of made-up words, so the offline n-gram embedding keeps them far apart. */
function syllables(seed: number, count: number): string {
  const parts = ['ka', 'lo', 'mi', 'tu', 're', 'sa', 'vo', 'ni', 'pe', 'zu', 'da', 'fe', 'gi', 'ho', 'ju', 'xa'];
  const words: string[] = [];
  let state = Math.imul(seed + 1, 2_654_435_761) >>> 0;
  for (let index = 0; index < count; index += 1) {
    let word = '';
    for (let syllable = 0; syllable < 3; syllable += 1) {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      word += parts[(state >>> 16) % parts.length];
    }
    words.push(word);
  }
  return words.join(' ');
}

function items(seed: number, count = 6): Array<{ content: string; summary: string; context: string }> {
  return Array.from({ length: count }, (_, index) => ({
    content: `Note ${syllables(seed * 100 + index, 14)}.`,
    summary: `Summary ${seed}-${index}`,
    context: 'Mock context.',
  }));
}

let database: TestDatabase;
let harness: GatherHarness;

beforeAll(async () => {
  database = await createTestDatabase();
  // The items are made-up words (no meaning for word vectors to read): the n-gram embedding.
  const config = gatherConfig({ llmGenerationModel: 'mock:default', llmEmbeddingModel: 'offline:embedding-hashed' });
  harness = await startGatherEngine(database, { config, llm: testGateway(database, config, { mock: customProvider({ languageModels: { default: model }, embeddingModels: { embed: embedder } }) }) });
});

afterAll(async () => {
  await harness?.engine.stop({ graceMs: 500 });
  await database?.drop();
});

/** Gives `project` two departments (story, character) whose descriptions tag the project. */
async function twoDepartments(project: string): Promise<void> {
  await replaceProjectDepartments(database.pool, 'default', project, {
    departments: aladdinDepartments.slice(0, 2).map((entry) => ({ ...entry, description: `${entry.description} project-tag:${project}` })),
  });
}

async function run(project: string, input: Record<string, unknown> = {}) {
  const submitted = await harness.engine.submit({ taskType: 'automated_gather_creation', input: { project_id: project, user_id: 'user-1', enable_auto_evaluation: false, ...input } });
  const task = await waitForStatus(harness.engine, submitted.task.id, ['completed', 'failed', 'cancelled'], 45_000);
  await harness.llm.flushUsage();
  return { task, events: await eventsOf(harness.engine, submitted.task.id), result: task.result as Record<string, any> };
}

async function llmCallsPerIteration(taskId: string): Promise<Map<string, number>> {
  const rows = await database.pool.query<{ step: string }>('SELECT step FROM llm_calls WHERE task_id = $1 AND error IS NULL', [taskId]);
  const perIteration = new Map<string, number>();
  for (const row of rows.rows) {
    const iteration = row.step.split(':').slice(0, 2).join(':');
    perIteration.set(iteration, (perIteration.get(iteration) ?? 0) + 1);
  }
  return perIteration;
}

it('iterates until the threshold, feeding missing aspects into the next generation, with three calls per iteration', async () => {
  await twoDepartments('threshold');
  scripts.set('threshold', {
    generate: (call) => jsonAnswer({ items: items(call) }),
    quality: (call) => ({ score: [50, 70, 85, 90][call - 1] ?? 90, missing: [`missing-aspect-${call}`] }),
  });
  const { task, events, result } = await run('threshold', { enable_auto_evaluation: true });
  expect(task.status).toBe('completed');
  expect(result.summary).toEqual([
    { department: 'story', name: 'Story Department', quality_score: 85, iterations: 3, items_created: 18 },
    { department: 'character', name: 'Character Department', quality_score: 90, iterations: 1, items_created: 6 },
  ]);
  expect(result.iterations).toBe(4);
  expect(ofType(events, 'iteration_complete').map((payload) => payload.quality_score)).toEqual([50, 70, 85, 90]);
  expect(ofType(events, 'department_complete').map((payload) => payload.stopped_because)).toEqual(['threshold', 'threshold']);
  // The quality review's missing aspects reach the next generation prompt of the department.
  const threshold = prompts.filter((prompt) => projectOf(prompt.user) === 'threshold');
  expect(threshold[0]!.user).not.toContain('missing-aspect');
  expect(threshold[1]!.user).toContain('missing-aspect-1');
  expect(threshold[2]!.user).toContain('missing-aspect-2');
  // Character builds on story: its prompt carries the story department's results.
  expect(threshold[3]!.user).toContain('Story Department: quality 85/100');
  // generate + embed + quality: three LLM calls per iteration with the judge off.
  const perIteration = await llmCallsPerIteration(task.id);
  expect([...perIteration.values()]).toEqual([3, 3, 3, 3]);
  // Evaluations were submitted per completed department and stored.
  const evaluations = await eventually(async () => {
    const rows = await database.pool.query('SELECT department, rating, auto_triggered, gather_task_id FROM department_evaluations WHERE project_id = $1 ORDER BY department_number', ['threshold']);
    return rows.rows.length === 2 ? rows.rows : undefined;
  }, 20_000);
  expect(evaluations).toEqual([
    { department: 'story', rating: 77, auto_triggered: true, gather_task_id: task.id },
    { department: 'character', rating: 77, auto_triggered: true, gather_task_id: task.id },
  ]);
  const item = await database.pool.query('SELECT is_automated, created_by, automation_metadata FROM gather_items WHERE project_id = $1 ORDER BY created_at LIMIT 1', ['threshold']);
  expect(item.rows[0]).toMatchObject({ is_automated: true, created_by: 'user-1', automation_metadata: { taskId: task.id, department: 'story', departmentName: 'Story Department', departmentNumber: 1, iteration: 1, qualityScore: 50, model: 'mock:default' } });
});

it('warns quality_stagnant every three iterations without improvement and keeps going until the budget', async () => {
  await twoDepartments('stagnant');
  scripts.set('stagnant', {
    generate: (call) => jsonAnswer({ items: items(1000 + call) }),
    quality: (call, prompt) => (prompt.includes('Story Department') ? [60, 58, 60, 59, 60, 57, 60][call - 1] ?? 60 : 95),
  });
  const { task, events, result } = await run('stagnant', { max_iterations: 7 });
  expect(task.status).toBe('completed');
  expect(result.summary.map((entry: { iterations: number }) => entry.iterations)).toEqual([7]);
  const stagnant = ofType(events, 'quality_stagnant');
  expect(stagnant.map((payload) => [payload.iteration, payload.iterations_without_improvement])).toEqual([[4, 3], [7, 6]]);
  expect(stagnant[0]).toMatchObject({ department: 'story', best_quality_score: 60, threshold: 80 });
  expect(ofType(events, 'department_complete')[0]).toMatchObject({ department: 'story', stopped_because: 'max_iterations', threshold_reached: false });
  expect(ofType(events, 'max_iterations_reached')[0]).toMatchObject({ departments_skipped: ['character'] });
});

it('with on_stagnation next_department, warns once and moves on to the next department', async () => {
  await twoDepartments('stagnant-next');
  let storyCalls = 0;
  scripts.set('stagnant-next', {
    generate: (call) => jsonAnswer({ items: items(1500 + call) }),
    quality: (_call, prompt) => (prompt.includes('Story Department') ? (storyCalls += 1, [60, 58, 60, 59][storyCalls - 1] ?? 60) : 95),
  });
  const { task, events, result } = await run('stagnant-next', { on_stagnation: 'next_department' });
  expect(task.status).toBe('completed');
  expect(result.summary.map((entry: { iterations: number }) => entry.iterations)).toEqual([4, 1]);
  const stagnant = ofType(events, 'quality_stagnant');
  expect(stagnant).toHaveLength(1);
  expect(stagnant[0]).toMatchObject({ department: 'story', iteration: 4, best_quality_score: 60, iterations_without_improvement: 3, threshold: 80 });
  expect(ofType(events, 'department_complete')[0]).toMatchObject({ department: 'story', stopped_because: 'stagnant', threshold_reached: false, quality_score: 59 });
});

it('spends max_iterations over the whole run and finishes the current department gracefully', async () => {
  await twoDepartments('budget');
  scripts.set('budget', {
    generate: (call) => jsonAnswer({ items: items(2000 + call) }),
    quality: (call) => 10 * call,
  });
  const { task, events, result } = await run('budget', { max_iterations: 3 });
  expect(task.status).toBe('completed');
  expect(result).toMatchObject({ status: 'completed', iterations: 3, departments_processed: 1, items_created: 18 });
  expect(ofType(events, 'max_iterations_reached')).toEqual([expect.objectContaining({ department: 'story', final_quality_score: 30, max_iterations: 3, threshold: 80, departments_skipped: ['character'] })]);
  expect(ofType(events, 'department_complete')).toEqual([expect.objectContaining({ department: 'story', stopped_because: 'max_iterations', iterations_used: 3 })]);
  expect(ofType(events, 'department_started')).toHaveLength(1);
  expect(ofType(events, 'automation_complete')).toHaveLength(1);
});

it('asks about the project by name, with every department it already has: a second run\'s first department sees the later ones', async () => {
  await twoDepartments('second-run');
  scripts.set('second-run', {
    generate: (call) => jsonAnswer({ items: items(2700 + call) }),
    quality: () => 95,
  });
  const first = await run('second-run');
  expect(first.result).toMatchObject({ status: 'completed', departments_processed: 2 });
  prompts.length = 0;
  const second = await run('second-run');
  expect(second.task.status).toBe('completed');
  const [story, character] = prompts.filter((prompt) => prompt.kind === 'generate').map((prompt) => prompt.user);
  // The project is named: two projects' first prompts are not the same question (and the response
  // cache, when on, cannot hand one project another's items).
  expect(story).toContain('Project: second-run.');
  // Story comes first, yet sees the characters the first run gathered, as the seed's existing_context did.
  expect(story).toContain('Already gathered for later departments by earlier runs (stay consistent with them):');
  expect(story).toMatch(/Character Department: \d+ gather items from earlier runs\.\n- Summary 2702-/);
  // Character builds on this run's story, with its quality.
  expect(character).toMatch(/Results of the previous departments \(build on them\):\n\nStory Department: quality 95\/100\./);
});

it('names the department that used the budget up when it runs out just as that department reaches its threshold', async () => {
  await twoDepartments('budget-at-threshold');
  scripts.set('budget-at-threshold', {
    generate: (call) => jsonAnswer({ items: items(2500 + call) }),
    quality: (call) => [50, 85][call - 1] ?? 95,
  });
  const { task, events } = await run('budget-at-threshold', { max_iterations: 2 });
  expect(task.status).toBe('completed');
  expect(ofType(events, 'department_complete')).toEqual([expect.objectContaining({ department: 'story', threshold_reached: true, quality_score: 85 })]);
  // Not the character department, which never started.
  expect(ofType(events, 'max_iterations_reached')).toEqual([expect.objectContaining({ department: 'story', department_name: 'Story Department', final_quality_score: 85, threshold: 80, iterations_used: 2, departments_skipped: ['character'] })]);
  expect(ofType(events, 'department_started')).toHaveLength(1);
});

it('drops exact and near duplicates: against stored items and within the batch', async () => {
  await twoDepartments('duplicates');
  const base = items(3000, 5);
  // Item 0's words in reverse order: the same words, a near duplicate (cosine ~0.95), another hash.
  const reordered = { ...base[0]!, content: base[0]!.content.split(' ').reverse().join(' ') };
  scripts.set('duplicates', {
    generate: (call) => {
      if (call === 1) return jsonAnswer({ items: [...base, reordered] });
      if (call === 2) return jsonAnswer({ items: base.map((entry) => ({ ...entry, content: entry.content.toUpperCase().replace(/\.$/, ' !!') })) });
      return jsonAnswer({ items: [...base.slice(0, 4), reordered, ...items(3100, 1)] });
    },
    quality: (call) => [40, 45, 90][call - 1] ?? 90,
  });
  const { task, events, result } = await run('duplicates', { max_iterations: 3 });
  expect(task.status).toBe('completed');
  const iterations = ofType(events, 'iteration_complete').filter((payload) => payload.department === 'story');
  expect(iterations.map((payload) => [payload.items_generated, payload.items_created, payload.duplicates_removed])).toEqual([[6, 5, 1], [5, 0, 5], [6, 1, 5]]);
  const stored = await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM gather_items WHERE project_id = 'duplicates' AND department = 'story'");
  expect(stored.rows[0]!.count).toBe(6);
  expect(result.summary[0]).toMatchObject({ department: 'story', items_created: 6 });
  // The all-duplicates batch made no embedding call: the exact pass left nothing to embed.
  const embeds = await database.pool.query<{ step: string }>("SELECT step FROM llm_calls WHERE task_id = $1 AND purpose = 'embedding' ORDER BY id", [task.id]);
  expect(embeds.rows.map((row) => row.step)).toEqual(['story:1:save', 'story:3:save']);
  const scores = await database.pool.query<{ duplicate_check_score: number }>("SELECT duplicate_check_score FROM gather_items WHERE project_id = 'duplicates' AND department = 'story' ORDER BY created_at");
  expect(scores.rows.every((row) => row.duplicate_check_score < 0.9)).toBe(true);
});

it('asks the model to repair malformed output once, and fails clearly when it stays malformed', async () => {
  await twoDepartments('malformed');
  scripts.set('malformed', {
    generate: (call) => (call === 1 ? textAnswer('Sure! Here are some items: {"items": [oops') : jsonAnswer({ items: items(4000 + call) })),
    quality: () => 95,
  });
  const repaired = await run('malformed');
  expect(repaired.task.status).toBe('completed');
  expect(repaired.result.items_created).toBe(12);
  const failures = await database.pool.query("SELECT step, error_code FROM llm_calls WHERE task_id = $1 AND error IS NOT NULL", [repaired.task.id]);
  expect(failures.rows).toEqual([{ step: 'story:1:generate', error_code: 'llm_invalid_output' }]);

  await twoDepartments('hopeless');
  scripts.set('hopeless', { generate: () => textAnswer('I cannot answer in JSON.'), quality: () => 95 });
  const hopeless = await run('hopeless');
  expect(hopeless.task.status).toBe('failed');
  expect(hopeless.task.attempts).toBe(3);
  expect(hopeless.task.error).toMatchObject({ code: 'llm_invalid_output' });
  const errors = ofType(hopeless.events, 'automation_error');
  expect(errors.map((payload) => payload.will_retry)).toEqual([true, true, false]);
  expect(errors[0]).toMatchObject({ code: 'llm_invalid_output', project_id: 'hopeless' });
  expect(await database.pool.query("SELECT 1 FROM gather_items WHERE project_id = 'hopeless'").then((rows) => rows.rowCount)).toBe(0);
}, 30_000);

it('rides out a 429 storm: gateway retries, then a task retry resumes from the checkpoint', async () => {
  await twoDepartments('storm');
  scripts.set('storm', {
    // Five 429s in a row: the gateway's three tries of the first call fail, the task attempt fails
    // and is retried; the retry's call meets two more 429s and then succeeds.
    generate: (call) => {
      if (call <= 5) throw httpStatusError(429, { 'retry-after': '0' });
      return jsonAnswer({ items: items(5000 + call) });
    },
    quality: () => 95,
  });
  const { task, events, result } = await run('storm');
  expect(task.status).toBe('completed');
  expect(task.attempts).toBe(2);
  expect(result.items_created).toBe(12);
  expect(ofType(events, 'automation_error')).toEqual([expect.objectContaining({ will_retry: true })]);
  const rateLimited = await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM llm_calls WHERE task_id = $1 AND error IS NOT NULL", [task.id]);
  expect(rateLimited.rows[0]!.count).toBe(5);
  const distinct = await database.pool.query<{ total: number; distinct: number }>("SELECT count(*)::int AS total, count(DISTINCT content_hash)::int AS distinct FROM gather_items WHERE project_id = 'storm'");
  expect(distinct.rows[0]!.total).toBe(distinct.rows[0]!.distinct);
});

it('with the judge on, sends only borderline pairs (0.80-0.90) to one judge call per iteration', async () => {
  await harness.engine.stop({ graceMs: 500 });
  const config = gatherConfig({ llmGenerationModel: 'mock:default', llmEmbeddingModel: 'mock:embed', gatherJudge: true });
  harness = await startGatherEngine(database, { config, llm: testGateway(database, config, { mock: customProvider({ languageModels: { default: model }, embeddingModels: { embed: embedder } }) }) });
  await twoDepartments('judge');
  const axis = (slot: number): string => `⟨e:${slot}:1⟩`;
  scripts.set('judge', {
    generate: (call) => {
      if (call === 1) return jsonAnswer({ items: [1, 2, 3, 4, 5].map((slot) => ({ content: `First batch note ${slot} ${axis(slot)}`, summary: `summary ${slot}`, context: 'context' })) });
      if (call === 2) {
        return jsonAnswer({ items: [
          { content: 'Borderline with note one ⟨e:1:0.85,6:0.5268⟩', summary: 'borderline', context: 'context' },
          { content: 'Near copy of note two ⟨e:2:0.95,7:0.3122⟩', summary: 'near copy', context: 'context' },
          ...[8, 9, 10].map((slot) => ({ content: `Second batch note ${slot} ${axis(slot)}`, summary: `summary ${slot}`, context: 'context' })),
        ] });
      }
      return jsonAnswer({ items: [11, 12, 13, 14, 15].map((slot) => ({ content: `Third batch note ${slot} ${axis(slot)}`, summary: `summary ${slot}`, context: 'context' })) });
    },
    quality: (call) => (call === 1 ? 50 : 90),
  });
  const { task, events } = await run('judge');
  expect(task.status).toBe('completed');
  const story = ofType(events, 'iteration_complete').filter((payload) => payload.department === 'story');
  expect(story.map((payload) => [payload.items_created, payload.duplicates_removed])).toEqual([[5, 0], [3, 2]]);
  expect(counters.get('judge-calls')).toBe(1);
  const perIteration = await llmCallsPerIteration(task.id);
  expect(Object.fromEntries(perIteration)).toEqual({ 'story:1': 3, 'story:2': 4, 'character:1': 3 });
});

it('never stores the offline fallback\'s template text as items, nor lets its score end a department', async () => {
  // An operator's last resort, TASKLOOM_LLM_FALLBACK_MODELS=offline:default: it answers every call.
  await harness.engine.stop({ graceMs: 500 });
  const config = gatherConfig({ llmGenerationModel: 'mock:default', llmEmbeddingModel: 'offline:embedding-hashed', llmFallbackModels: 'offline:default', llmMaxRetries: 0 });
  harness = await startGatherEngine(database, { config, llm: testGateway(database, config, { mock: customProvider({ languageModels: { default: model }, embeddingModels: { embed: embedder } }) }) });
  // The provider fails every generation: no item is ever written.
  await twoDepartments('fallback-generate');
  scripts.set('fallback-generate', {
    generate: () => { throw httpStatusError(500); },
    quality: () => 95,
  });
  const generating = await run('fallback-generate');
  expect(generating.task.status).toBe('failed');
  expect(generating.task.error).toMatchObject({ code: 'llm_call_failed' });
  expect((generating.task.error as { message: string }).message).toContain('only the offline fallback offline:default answered');
  const offline = await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM llm_calls WHERE task_id = $1 AND provider = 'offline'", [generating.task.id]);
  expect(offline.rows[0]!.count).toBeGreaterThan(0);
  const written = await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM gather_items WHERE project_id = 'fallback-generate'");
  expect(written.rows[0]!.count).toBe(0);

  // The provider fails every quality review: its template score ends no department.
  await twoDepartments('fallback-quality');
  scripts.set('fallback-quality', {
    generate: (call) => jsonAnswer({ items: items(7000 + call) }),
    quality: () => { throw httpStatusError(500); },
  });
  const scoring = await run('fallback-quality');
  expect(scoring.task.status).toBe('failed');
  expect(scoring.task.error).toMatchObject({ code: 'llm_call_failed' });
  expect(ofType(scoring.events, 'iteration_complete')).toEqual([]);
  expect(ofType(scoring.events, 'department_complete')).toEqual([]);
}, 60_000);

it('warns judge_band_empty when the judge\'s lower bound is not below the embedding model\'s own threshold', async () => {
  // mock:embed has no measured threshold (0.9, the seed's); a bound of 0.92 leaves no band.
  await harness.engine.stop({ graceMs: 500 });
  const config = gatherConfig({ llmGenerationModel: 'mock:default', llmEmbeddingModel: 'mock:embed', gatherJudge: true, gatherJudgeLowerBound: 0.92 });
  harness = await startGatherEngine(database, { config, llm: testGateway(database, config, { mock: customProvider({ languageModels: { default: model }, embeddingModels: { embed: embedder } }) }) });
  await twoDepartments('empty-band');
  counters.set('judge-calls', 0);
  scripts.set('empty-band', {
    generate: (call) => jsonAnswer({ items: items(8000 + call) }),
    quality: () => 95,
  });
  const { task, events } = await run('empty-band');
  expect(task.status).toBe('completed');
  const warnings = ofType(events, 'automation_warning').filter((payload) => payload.code === 'judge_band_empty');
  expect(warnings).toHaveLength(ofType(events, 'iteration_complete').length);
  expect(warnings[0]).toMatchObject({ lower_bound: 0.92, threshold: 0.9 });
  expect(warnings[0]!.message).toContain('mock:embed');
  expect(counters.get('judge-calls')).toBe(0);
});
