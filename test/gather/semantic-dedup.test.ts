/**
 * The gather's semantic pass with the offline embeddings (real PostgreSQL, offline vectors, a
 * scripted generation model): word vectors drop a paraphrase that hashed character n-grams keep,
 * each at its own measured threshold; items a different embedding stored are embedded again
 * before the comparison, never compared across embeddings.
 */
import type { LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { customProvider } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { duplicateThresholdFor, hashedEmbeddingVersion, wordVectorEmbeddingVersion } from '../../src/llm/index.ts';
import { aladdinDepartments, replaceProjectDepartments } from '../../src/pipelines/automated-gather/index.ts';
import { generationInstructions, qualityInstructions } from '../../src/pipelines/automated-gather/prompts.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitForStatus } from '../support/engine.ts';
import { eventsOf, gatherConfig, jsonAnswer, ofType, startGatherEngine, testGateway, type GatherHarness } from './helpers.ts';
import { callText } from '../support/model-calls.ts';

const marketplace = 'Collect reference photos of the Agrabah marketplace: the fruit stalls, the striped awnings and the crowd at midday, so the set painters can match them.';
// The same request in other words: few shared spellings, the same meaning.
const paraphrase = 'Gather reference images of the bazaar in Agrabah, showing its vegetable stands, colourful canopies and busy shoppers at noon, for the background artists to copy.';
const first = [
  marketplace,
  'Record the footsteps of the palace guards on marble floors and the clink of their armour for the night patrol scenes.',
  'The Sultan is kind but easily manipulated; his scenes should show him playing with toy animals while Jafar makes the real decisions.',
  "Jasmine's costume uses a turquoise two-piece outfit with gold trim; keep the fabric folds consistent when she runs.",
  'Budget three extra weeks of rendering for the parade sequence, because the crowd simulation is slower than planned.',
];
// Distinct from each other and from `first` for both embeddings (highest other pair: 0.51 with
// word vectors, 0.26 with hashed n-grams); the paraphrase scores 0.80 and 0.30.
const second = [
  paraphrase,
  'Light the Cave of Wonders from below with the glow of the treasure, keeping the entrance tiger head in deep shadow.',
  "The Genie's voice actor improvises many jokes; record alternative takes of each line so the editors can choose.",
  'Storyboard the magic carpet escape over the rooftops with a wide establishing shot before the chase begins.',
  'Iago the parrot complains loudly in every scene; his squawks should cut through the music without drowning the dialogue.',
];

/**
 * A project's first generation call answers `first`, later ones `second`. Quality: `two-*`
 * projects score 40 after their first batch (so a second iteration runs), everything else 95.
 */
const counters = new Map<string, number>();
const model = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'default',
  doGenerate: async (options: LanguageModelV4CallOptions) => {
    const { system, user } = callText(options);
    const project = /project-tag:([a-z0-9-]+)/.exec(user)?.[1] ?? 'unknown';
    if (system.startsWith(generationInstructions)) {
      const call = (counters.get(project) ?? 0) + 1;
      counters.set(project, call);
      return jsonAnswer({ items: (call === 1 ? first : second).map((content, index) => ({ content, summary: `Item ${call}-${index}`, context: 'Visual reference.' })) });
    }
    if (system.startsWith(qualityInstructions)) {
      const score = project.startsWith('two-') && (counters.get(project) ?? 0) < 2 ? 40 : 95;
      return jsonAnswer({ coverage_score: score, depth_score: score, coherence_score: score, actionability_score: score, missing_aspects: [] });
    }
    throw new Error(`unexpected call: ${system.slice(0, 60)}`);
  },
});

let database: TestDatabase;
let harness: GatherHarness | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await harness?.engine.stop({ graceMs: 500 });
  await database?.drop();
});

/** One engine at a time: two engines on one database would take each other's tasks. */
async function useEmbedding(embeddingModel: string): Promise<GatherHarness> {
  await harness?.engine.stop({ graceMs: 500 });
  const config = gatherConfig({ llmGenerationModel: 'mock:default', llmEmbeddingModel: embeddingModel });
  harness = await startGatherEngine(database, { config, llm: testGateway(database, config, { mock: customProvider({ languageModels: { default: model } }) }) });
  return harness;
}

async function run(project: string) {
  await replaceProjectDepartments(database.pool, 'default', project, {
    departments: aladdinDepartments.filter((entry) => entry.slug === 'visual').map((entry) => ({ ...entry, description: `${entry.description} project-tag:${project}` })),
  });
  const { engine, llm } = harness!;
  const submitted = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: project, enable_auto_evaluation: false } });
  const task = await waitForStatus(engine, submitted.task.id, ['completed', 'failed'], 45_000);
  expect(task.error).toBeNull();
  await llm.flushUsage();
  const iterations = ofType(await eventsOf(engine, submitted.task.id), 'iteration_complete').map((payload) => [payload.items_created, payload.duplicates_removed]);
  const stored = await database.pool.query<{ content: string; embedding_version: string; embedding_dimensions: number; duplicate_check_score: number }>(
    'SELECT content, embedding_version, embedding_dimensions, duplicate_check_score FROM gather_items WHERE project_id = $1 ORDER BY created_at, id',
    [project],
  );
  return { taskId: submitted.task.id, iterations, stored: stored.rows };
}

it('drops a paraphrased item with word vectors that hashed n-grams keep; re-embeds items an older embedding stored', async () => {
  // Hashed n-grams (what offline:embedding was before): the paraphrase shares little spelling.
  await useEmbedding('offline:embedding-hashed');
  const hashed = await run('two-hashed');
  expect(hashed.iterations).toEqual([[5, 0], [5, 0]]);
  expect(hashed.stored.map((row) => row.content)).toContain(paraphrase);
  const keptScore = hashed.stored.find((row) => row.content === paraphrase)!.duplicate_check_score;
  expect(keptScore).toBeLessThan(duplicateThresholdFor({ model: 'offline:embedding-hashed', version: hashedEmbeddingVersion }).duplicate);
  expect(hashed.stored.every((row) => row.embedding_version === hashedEmbeddingVersion && row.embedding_dimensions === 1024)).toBe(true);
  // An older embedding's items in another project, for the re-embedding below.
  const older = await run('older-model');
  expect(older.stored.map((row) => row.embedding_version)).toEqual(Array.from({ length: 5 }, () => hashedEmbeddingVersion));

  // Word vectors: the same two batches, and the paraphrase is a duplicate of the marketplace item.
  await useEmbedding('offline:embedding');
  const vectors = await run('two-vectors');
  expect(vectors.iterations).toEqual([[5, 0], [4, 1]]);
  expect(vectors.stored.map((row) => row.content)).not.toContain(paraphrase);
  expect(vectors.stored.every((row) => row.embedding_version === wordVectorEmbeddingVersion && row.embedding_dimensions === 256)).toBe(true);

  // The project the hashed model filled: its five items are embedded again (one extra call in
  // the save step), then the paraphrase is found among them.
  const upgraded = await run('older-model');
  expect(upgraded.iterations).toEqual([[4, 1]]);
  expect(upgraded.stored).toHaveLength(9);
  expect(upgraded.stored.every((row) => row.embedding_version === wordVectorEmbeddingVersion && row.embedding_dimensions === 256)).toBe(true);
  const embeds = await database.pool.query<{ step: string }>("SELECT step FROM llm_calls WHERE task_id = $1 AND purpose = 'embedding' ORDER BY id", [upgraded.taskId]);
  expect(embeds.rows.map((row) => row.step)).toEqual(['visual:1:save', 'visual:1:save']);
}, 90_000);
