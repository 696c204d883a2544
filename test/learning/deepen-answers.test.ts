/**
 * What the research model answers when deep mode deepens entries, entry by entry, over real HTTP
 * against the local OpenAI-compatible server: a malformed entry, one the model leaves out or one
 * in which it apologises costs that entry (a failed deepening attempt, with the reason), not the
 * deepening; an answer in which no entry fits still fails the call, so the gateway's repair round
 * and the engine's retry apply. Usage sentences in the first person are not taken for the model
 * talking about itself.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createResearchSource, deepenedEntry } from '../../src/pipelines/learning/index.ts';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../support/openai-compatible-server.ts';
import { waitFor } from '../support/http.ts';
import { queueOnlySource, startLearningHarness, type LearningHarness } from './helpers.ts';

let server: OpenAiCompatibleServer;
let harness: LearningHarness;

const words = ['lantern', 'harbour', 'quill', 'anchor', 'rope'];

beforeAll(async () => {
  server = await startOpenAiCompatibleServer();
  harness = await startLearningHarness({
    config: { openaiCompatibleBaseUrl: server.baseUrl, llmResearchModel: 'openai-compatible:test-chat', learningSource: 'llm', llmMaxRetries: 0 },
    // The deep runs below only deepen: nothing is proposed or queued, so the model's one call is the deepening.
    source: (config, llm) => {
      const model = createResearchSource(config, llm);
      return { ...queueOnlySource(async () => ({ learned: [], unresolved: [], calls: 0 }), { kind: model.kind, name: model.name }), deepen: (entries, options) => model.deepen(entries, options) };
    },
  });
});

afterAll(async () => {
  await harness?.close();
  await server?.close();
});

const deepened = (word: string, extra: Record<string, unknown> = {}) => ({
  expanded_definition: `A ${word} is treated at length here: what it is, where it comes from, how it is used and how it differs from its neighbours.`,
  applications: [`Sailing with a ${word}.`],
  misconceptions: [`That a ${word} is only decorative; it has a use.`],
  ...extra,
});

async function seedEntries(tenant: string): Promise<void> {
  // Oldest first, in the order of `words`, so the deep run picks all five in that order.
  for (const [index, word] of words.entries()) {
    await harness.db.pool.query("INSERT INTO known_words (tenant, normalised, word, explanation, source) VALUES ($1, $2, $2, 'A word seeded for the test.', 'test-source')", [tenant, word]);
    await harness.db.pool.query("INSERT INTO solidified_knowledge (tenant, normalised, word, definition, source, created_at) VALUES ($1, $2, $2, 'A word seeded for the test.', 'test-source', now() - $3::interval)", [tenant, word, `${10 - index} minutes`]);
  }
}

async function deepRun(key: string): Promise<{ job_id: string; status: string; entries_deepened: number; errors: Array<{ code: string; message: string }> }> {
  const started = await harness.request('POST', '/jobs/start', { body: { mode: 'deep' }, key });
  expect(started.status).toBe(202);
  const done = await waitFor(() => harness.request('GET', `/jobs/${started.body.job_id}`, { key }), (response) => ['completed', 'failed'].includes(response.body.status), 30_000);
  return done.body;
}

const entriesOf = async (tenant: string) => Object.fromEntries((await harness.db.pool.query<{ normalised: string; expanded_definition: string | null; applications: string[] | null; misconceptions: string[] | null; deepened_at: string | null; deepen_attempts: number; deepen_last_error: string | null }>(
  'SELECT normalised, expanded_definition, applications, misconceptions, deepened_at, deepen_attempts, deepen_last_error FROM solidified_knowledge WHERE tenant = $1', [tenant],
)).rows.map((row) => [row.normalised, row]));

it('deepens the good entries of an answer with a malformed entry, an apology and a word left out, and counts a failed attempt on those three only', async () => {
  await seedEntries('alpha');
  const before = server.requests.length;
  server.script('chat', {
    kind: 'ok',
    content: JSON.stringify({
      lantern: deepened('lantern'),
      // Misconceptions left out: an empty list, still an entry.
      harbour: { expanded_definition: deepened('harbour').expanded_definition, applications: ['Mooring boats out of the swell.'] },
      quill: { expanded_definition: 42, applications: 'writing', misconceptions: [] },
      // The seed's provider failure, as the seed stored it (docs/pipelines/learning.md).
      anchor: deepened('anchor', { expanded_definition: 'I am having trouble accessing my knowledge base right now, so I cannot expand on this word.' }),
      // rope: left out.
    }),
  });
  const done = await deepRun(harness.keyA);
  expect(done).toMatchObject({ status: 'completed', entries_deepened: 2 });
  // The words are learned: their entries are what waits, under a code of their own.
  expect(done.errors).toEqual([expect.objectContaining({ code: 'entry_not_deepened', words: expect.arrayContaining(['quill', 'anchor', 'rope']) })]);
  // One call, no repair round or retry: the answer as a whole was accepted.
  expect(server.requests.length - before).toBe(1);
  // The model was still shown every word's entry as required, with its fields.
  const schema = (server.requests.at(-1)!.body as { response_format: { json_schema: { schema: { required: string[]; properties: Record<string, { anyOf: Array<{ required?: string[] }> }> } } } }).response_format.json_schema.schema;
  expect([...schema.required].sort()).toEqual([...words].sort());
  expect(schema.properties.quill!.anyOf[0]!.required).toEqual(['expanded_definition', 'applications', 'misconceptions']);

  const entries = await entriesOf('alpha');
  expect(entries.lantern).toMatchObject({ expanded_definition: deepened('lantern').expanded_definition, applications: deepened('lantern').applications, deepened_at: expect.any(Date), deepen_attempts: 0 });
  expect(entries.harbour).toMatchObject({ applications: ['Mooring boats out of the swell.'], misconceptions: [], deepened_at: expect.any(Date), deepen_attempts: 0 });
  for (const word of ['quill', 'anchor', 'rope']) expect(entries[word]).toMatchObject({ expanded_definition: null, applications: null, deepened_at: null, deepen_attempts: 1 });
  expect(entries.quill!.deepen_last_error).toMatch(/does not fit the answer's schema: expanded_definition/);
  expect(entries.anchor!.deepen_last_error).toContain('reads as the model talking about itself or apologising ("I am having trouble")');
  expect(entries.rope!.deepen_last_error).toBe('openai-compatible:test-chat left it out of its answer');
  const stored = await harness.db.pool.query("SELECT 1 FROM solidified_knowledge WHERE tenant = 'alpha' AND expanded_definition ILIKE '%knowledge base%'");
  expect(stored.rowCount).toBe(0);
}, 60_000);

it('fails the deepening as before when no entry of the answer fits: the gateway asks for a repair, and the retried attempt deepens', async () => {
  await seedEntries('beta');
  const before = server.requests.length;
  const malformed = JSON.stringify(Object.fromEntries(words.map((word) => [word, { expanded_definition: ['not', 'a', 'string'], applications: word }])));
  server.script('chat',
    { kind: 'ok', content: malformed },
    // The repair round, as malformed: the call fails, and so does the attempt.
    { kind: 'ok', content: malformed },
    { kind: 'ok', content: JSON.stringify(Object.fromEntries(words.map((word) => [word, deepened(word)]))) });
  const done = await deepRun(harness.keyB);
  expect(done).toMatchObject({ status: 'completed', entries_deepened: 5 });
  expect(server.requests.length - before).toBe(3);
  const repair = JSON.stringify(server.requests[before + 1]!.body);
  expect(repair).toContain('did not match the required JSON schema');
  expect(done.errors).toEqual([expect.objectContaining({ code: 'research_provider_failed', message: expect.stringMatching(/could not deepen.*\(will retry\)$/) })]);
  // The failed call charged no entry: it was the answer's failure, retried, not the entries'.
  const entries = await entriesOf('beta');
  for (const word of words) expect(entries[word]).toMatchObject({ deepened_at: expect.any(Date), deepen_attempts: 0, deepen_last_error: null });
}, 60_000);

it('refuses a deepening whose explanation or misconception is the model talking about itself, never one whose usage sentences are in the first person', () => {
  const base = deepened('glove');
  expect(deepenedEntry.safeParse(base).success).toBe(true);
  for (const refused of [
    { expanded_definition: 'Unfortunately, I could not find enough information to expand on this word at the moment.' },
    { misconceptions: ['As an AI language model, I cannot verify common misconceptions about this word.'] },
  ]) {
    expect(deepenedEntry.safeParse({ ...base, ...refused }).error?.issues[0]?.message).toMatch(/^reads as the model talking about itself or apologising/);
  }
  // Usage sentences (WordNet's own examples among them) and quoted usages stay.
  expect(deepenedEntry.safeParse({ ...base, applications: ['I cannot find my gloves!', "I'm afraid you're wrong."] }).success).toBe(true);
  expect(deepenedEntry.safeParse({ ...base, misconceptions: ['That "I\'m sorry" is only an apology; it also expresses sympathy.'] }).success).toBe(true);
});
