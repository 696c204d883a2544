/**
 * What the research model answers, entry by entry, over real HTTP against the local
 * OpenAI-compatible server: a word it leaves out, answers null for or answers with a malformed
 * entry costs that word (not learned, with the reason), not the batch; lists it leaves out are
 * empty and its category may be null; a definition in which it apologises or talks about itself
 * is refused; a proposal longer than asked is trimmed, not refused; a blank or over-long item of
 * a secondary list (or of a proposal) is dropped, not the entry.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { solidifiedEntry } from '../../src/pipelines/learning/index.ts';
import { modelTalkIn } from '../../src/llm/model-talk.ts';
import { researchEntryShape } from '../../src/pipelines/learning/schemas.ts';
import { parseDataLine, wordnetDatabaseFolder, type PartOfSpeech } from '../../src/pipelines/learning/wordnet/wordnet-reader.ts';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../support/openai-compatible-server.ts';
import { waitFor } from '../support/http.ts';
import { startLearningHarness, type LearningHarness } from './helpers.ts';

let server: OpenAiCompatibleServer;
let harness: LearningHarness;

beforeAll(async () => {
  server = await startOpenAiCompatibleServer();
  harness = await startLearningHarness({
    config: {
      openaiCompatibleBaseUrl: server.baseUrl, llmResearchModel: 'openai-compatible:test-chat', learningSource: 'auto', llmMaxRetries: 0,
      learningBatchSize: 5, learningQuickWords: 5, learningWordsPerRound: 4, learningQuickIntervalSeconds: 0,
    },
  });
});

afterAll(async () => {
  await harness?.close();
  await server?.close();
});

const entry = (definition: string, extra: Record<string, unknown> = {}) => ({ definition, related_concepts: ['light'], examples: ['She lit the lantern.'], category: 'noun.artifact', sources: ['https://example.org/entry'], ...extra });

async function quickRun(key: string): Promise<{ job_id: string; status: string; total_tokens: number; words_failed: number; words_proposed: number }> {
  const started = await harness.request('POST', '/jobs/start', { body: { mode: 'quick' }, key });
  expect(started.status).toBe(202);
  const done = await waitFor(() => harness.request('GET', `/jobs/${started.body.job_id}`, { key }), (response) => ['completed', 'failed'].includes(response.body.status), 30_000);
  return done.body;
}

const queue = async (tenant: string, words: string[]) => harness.db.pool.query('INSERT INTO unknown_words (tenant, normalised, word) SELECT $1, w, w FROM unnest($2::text[]) AS w', [tenant, words]);
const lastErrors = async (tenant: string) => Object.fromEntries((await harness.db.pool.query<{ normalised: string; attempts: number; last_error: string }>(
  'SELECT normalised, attempts, last_error FROM unknown_words WHERE tenant = $1', [tenant],
)).rows.map((row) => [row.normalised, { attempts: row.attempts, last_error: row.last_error }]));

it('learns the good entries of an answer that leaves a word out, answers null, or answers a malformed entry', async () => {
  await queue('alpha', ['lantern', 'harbour', 'quill', 'anchor', 'rope']);
  const before = server.requests.length;
  server.script('chat', {
    kind: 'ok',
    content: JSON.stringify({
      // No sources and a null category: still an entry.
      lantern: { definition: 'A portable case with transparent sides that holds and protects a light.', related_concepts: ['lamp'], examples: [], category: null },
      harbour: entry('A sheltered stretch of water where ships can anchor safely.'),
      quill: { definition: 42, related_concepts: [], examples: [], category: 'noun.artifact', sources: [] },
      rope: null,
      // anchor: left out.
    }),
  });
  const done = await quickRun(harness.keyA);
  expect(done).toMatchObject({ status: 'completed', total_tokens: 2, words_failed: 3 });
  // One call, no repair round or retry: the answer as a whole was accepted.
  expect(server.requests.length - before).toBe(1);
  // The model was still shown every word's entry as required, with its fields.
  const schema = (server.requests.at(-1)!.body as { response_format: { json_schema: { schema: { required: string[]; properties: Record<string, { anyOf: Array<{ required?: string[] }> }> } } } }).response_format.json_schema.schema;
  expect([...schema.required].sort()).toEqual(['anchor', 'harbour', 'lantern', 'quill', 'rope']);
  expect(schema.properties.lantern!.anyOf[0]!.required).toEqual(['definition', 'related_concepts', 'examples', 'category', 'sources']);

  const lantern = await harness.request('GET', '/knowledge/lantern');
  expect(lantern.body).toMatchObject({ category: null, references: [], related_concepts: ['lamp'], source: 'openai-compatible:test-chat' });
  const harbour = await harness.request('GET', '/knowledge/harbour');
  expect(harbour.body).toMatchObject({ category: 'noun.artifact', references: ['https://example.org/entry'] });

  const failed = await lastErrors('alpha');
  expect(Object.keys(failed).sort()).toEqual(['anchor', 'quill', 'rope']);
  expect(failed.quill).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/does not fit the answer's schema: definition/) });
  expect(failed.rope).toMatchObject({ attempts: 1, last_error: 'openai-compatible:test-chat could not define it' });
  expect(failed.anchor).toMatchObject({ attempts: 1, last_error: 'openai-compatible:test-chat left it out of its answer' });
}, 60_000);

it('refuses a definition in which the model apologises or talks about itself, and learns the rest of the batch', async () => {
  await queue('beta', ['beacon', 'compass', 'sextant', 'wiki']);
  server.script('chat', {
    kind: 'ok',
    content: JSON.stringify({
      // The seed's provider failure, as the seed stored it (docs/pipelines/learning.md).
      beacon: entry('I am having trouble accessing my knowledge base'),
      compass: entry("I'm sorry, but I cannot find reliable information about this word right now."),
      sextant: entry('As an AI language model, I do not have access to current sources for this term.'),
      // About knowledge bases, not the model's own: a definition.
      wiki: entry('A website whose pages its readers edit together, often used as a shared knowledge base.'),
    }),
  });
  const done = await quickRun(harness.keyB);
  expect(done).toMatchObject({ status: 'completed', total_tokens: 1, words_failed: 3 });
  expect((await harness.request('GET', '/knowledge/wiki', { key: harness.keyB })).status).toBe(200);
  for (const word of ['beacon', 'compass', 'sextant']) {
    expect((await harness.request('GET', `/knowledge/${word}`, { key: harness.keyB })).status).toBe(404);
  }
  const stored = await harness.db.pool.query("SELECT 1 FROM known_words WHERE tenant = 'beta' AND explanation ILIKE '%knowledge base%' AND normalised <> 'wiki'");
  expect(stored.rowCount).toBe(0);
  const failed = await lastErrors('beta');
  expect(failed.beacon!.last_error).toContain('reads as the model talking about itself or apologising ("I am having trouble")');
  expect(failed.compass!.last_error).toContain('("I\'m sorry")');
  expect(failed.sextant!.last_error).toContain('("As an AI language model, I")');
}, 60_000);

it('keeps what a proposal asked for (plus slack) when the model answers far more words', async () => {
  // An empty queue (the first test's failures are dropped): the quick run proposes a round of 4
  // words first; the model answers 10.
  const proposed = ['amber', 'basil', 'cobalt', 'dahlia', 'ember', 'fjord', 'garnet', 'hazel', 'indigo', 'juniper'];
  await harness.db.pool.query("DELETE FROM unknown_words WHERE tenant = 'alpha'");
  server.script('chat', { kind: 'ok', content: JSON.stringify({ words: proposed }) });
  const done = await quickRun(harness.keyA);
  expect(done.status).toBe('completed');
  // Trimmed to 1.5 times the 4 asked for, not refused (a refusal would have failed the call).
  expect(done.words_proposed).toBe(6);
  const tokens = await harness.db.pool.query<{ token: string }>('SELECT token FROM raw_training WHERE task_id = $1 ORDER BY position', [done.job_id]);
  expect(tokens.rows.map((row) => row.token)).toEqual(proposed.slice(0, 6));
}, 60_000);

it('checks every source\'s entries for the model talking about itself, never a definition quoting such words', () => {
  const base = { related_concepts: [], examples: [], category: null };
  for (const definition of ['I am having trouble accessing my knowledge base', 'Unfortunately, I could not find a definition.', 'My apologies: this word is not in my training data.']) {
    expect(solidifiedEntry.safeParse({ ...base, definition }).success).toBe(false);
  }
  for (const definition of ['Lost: unable to find one\'s way; not knowing one\'s whereabouts.', 'Sorry: feeling regret, as in "I\'m sorry I am late".', 'A knowledge base is an organised store of facts that a system consults.']) {
    expect(solidifiedEntry.safeParse({ ...base, definition }).success).toBe(true);
  }
  // A failure's text written where the definition goes.
  for (const definition of [
    'Sorry, no definition could be found for this word.', 'Apologies, the knowledge base is temporarily unreachable.',
    'I\'m currently unable to look this up.', 'There was an error retrieving data for this word.',
    'Request failed with status 429: rate limit exceeded.', 'Definition unavailable due to a network error.',
    'No information is available for this term at the moment.', 'Not found.', 'Error: the upstream service timed out.',
  ]) {
    expect(solidifiedEntry.safeParse({ ...base, definition }).success, definition).toBe(false);
  }
});

it('drops related concepts and a category in which the model talks about itself, keeping the entry', () => {
  const stored = researchEntryShape.toStored({
    definition: 'A large African wild horse with black and white stripes.',
    related_concepts: ['horse', 'I\'m sorry, I could not find related concepts'],
    examples: ['The zebra grazed beside the wildebeest.'],
    category: 'I am unable to categorise this',
    sources: [],
  });
  expect(researchEntryShape.stored.parse(stored)).toMatchObject({ related_concepts: ['horse'], category: null, examples: ['The zebra grazed beside the wildebeest.'] });
});

it('finds no model talk in any of WordNet\'s definitions', () => {
  const flagged: string[] = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv'] satisfies PartOfSpeech[]) {
    for (const line of readFileSync(path.join(wordnetDatabaseFolder(), `data.${pos}`), 'utf8').split('\n')) {
      if (line.length === 0 || line.startsWith('  ')) continue;
      const { definition } = parseDataLine(line, pos);
      if (modelTalkIn(definition) !== undefined) flagged.push(definition);
    }
  }
  expect(flagged).toEqual([]);
});

it('keeps an entry whose secondary lists hold a blank or over-long item, dropping only those items', async () => {
  await harness.db.pool.query("DELETE FROM unknown_words WHERE tenant = 'alpha'");
  await queue('alpha', ['trellis', 'pergola']);
  server.script('chat', { kind: 'ok', content: JSON.stringify({
    trellis: entry('A framework of light wooden or metal bars, used as a support for climbing plants.', { related_concepts: ['lattice', '', ' arbor ', 'x'.repeat(110)], examples: ['', 'Roses climbed the trellis.', 'ok'], category: `a subject area described at length ${'y'.repeat(60)}` }),
    pergola: entry('An archway in a garden or park consisting of a framework covered with climbing plants.', { category: '  noun.artifact  ' }),
  }) });
  const done = await quickRun(harness.keyA);
  expect(done).toMatchObject({ status: 'completed', total_tokens: 2, words_failed: 0 });
  const trellis = (await harness.request('GET', '/knowledge/trellis', { key: harness.keyA })).body;
  expect(trellis).toMatchObject({ related_concepts: ['lattice', 'arbor'], examples: ['Roses climbed the trellis.'], category: null });
  expect((await harness.request('GET', '/knowledge/pergola', { key: harness.keyA })).body.category).toBe('noun.artifact');

  // A proposal with a blank and an over-long item is kept too: those are simply not words.
  await harness.db.pool.query("DELETE FROM unknown_words WHERE tenant = 'alpha'");
  server.script('chat', { kind: 'ok', content: JSON.stringify({ words: ['', 'quartz', 'z'.repeat(81), 'obsidian'] }) });
  const proposed = await quickRun(harness.keyA);
  expect(proposed.status).toBe('completed');
  const round = await harness.db.pool.query<{ words_queued: number }>('SELECT words_queued FROM learning_jobs WHERE task_id = $1', [proposed.job_id]);
  expect(round.rows[0]!.words_queued).toBe(2);
}, 60_000);

it('counts words given up after three failures apart from the waiting ones, and queues one again when a round proposes it', async () => {
  await harness.db.pool.query("DELETE FROM unknown_words WHERE tenant = 'beta'");
  await harness.db.pool.query("INSERT INTO unknown_words (tenant, normalised, word, attempts, last_error) VALUES ('beta', 'astrolabe', 'astrolabe', 3, 'test-chat could not define it')");
  const before = (await harness.request('GET', '/knowledge?limit=1', { key: harness.keyB })).body;
  expect(before).toMatchObject({ queued_words: 0, given_up_words: 1 });

  // Nothing waits, so the quick run proposes a round first; the model proposes the word again.
  server.script('chat', { kind: 'ok', content: JSON.stringify({ words: ['astrolabe'] }) }, { kind: 'ok', content: JSON.stringify({ astrolabe: null }) });
  const done = await quickRun(harness.keyB);
  expect(done.status).toBe('completed');
  const row = await harness.db.pool.query<{ attempts: number; queued_by_task: string }>("SELECT attempts, queued_by_task FROM unknown_words WHERE tenant = 'beta' AND normalised = 'astrolabe'");
  // Queued afresh by this job; its one research this time answered null, a first failure.
  expect(row.rows).toEqual([{ attempts: 1, queued_by_task: done.job_id }]);
  expect((await harness.request('GET', '/knowledge?limit=1', { key: harness.keyB })).body).toMatchObject({ queued_words: 1, given_up_words: 0 });
}, 60_000);
