/**
 * The hashed n-gram embedding (offline:embedding-hashed, offline:embedding without its word
 * vectors): near-duplicates (same words reordered, small edits) score >= 0.90,
 * sentences on other subjects score < 0.5, vectors are unit length and deterministic.
 */
import { embedMany } from 'ai';
import { describe, expect, it } from 'vitest';
import { cosineSimilarity, embedText, OfflineEmbeddingModel } from '../../src/llm/index.ts';

const paraphrases: Array<[string, string]> = [
  ['The film crew scouted three locations in Prague for the night shoot', 'For the night shoot, the film crew scouted three Prague locations'],
  ['The director wants warmer colour grading for the final scenes', 'The director wants warmer color grading for the final scene'],
  ['Use soft key lighting and a slow dolly push for the interrogation scene', 'For the interrogation scene use a slow dolly push and soft key lighting'],
  ['Budget approval is needed before booking the camera rental', 'Budget approval is needed before we book the camera rentals'],
  ['Persona: a mid-career marketing manager who wants measurable results from content', 'Persona: mid career marketing manager wanting measurable results from content'],
  ['Kubernetes operators reconcile desired state with actual cluster state', 'Kubernetes operators reconcile the actual cluster state with the desired state'],
  ['Record room tone at every location before the actors leave the set', 'Record room tone at each location before the actors leave the set'],
  ['Sourdough needs a long cold fermentation to develop flavour', 'A long cold fermentation is what sourdough needs to develop flavor'],
];

const unrelated: Array<[string, string]> = [
  ['The film crew scouted three locations in Prague for the night shoot', 'Quarterly revenue grew because enterprise customers renewed their contracts'],
  ['Use soft key lighting and a slow dolly push for the interrogation scene', 'Sourdough bread needs a long cold fermentation for flavor'],
  ['Kubernetes operators reconcile desired state with actual cluster state', 'The persona prefers short social posts with practical marketing tips'],
  ['Budget approval is needed before booking the camera rental', 'Photosynthesis converts sunlight, water and carbon dioxide into glucose'],
  ['Record room tone at every location before the actors leave the set', 'Learners memorise irregular Spanish verbs with spaced repetition'],
  ['The director wants warmer colour grading for the final scenes', 'Payroll automation saves small accounting firms hours every month'],
];

describe('offline embedding', () => {
  it.each(paraphrases)('scores paraphrases >= 0.90: %s', (left, right) => {
    expect(cosineSimilarity(embedText(left), embedText(right))).toBeGreaterThanOrEqual(0.9);
  });

  it.each(unrelated)('scores unrelated sentences < 0.5: %s', (left, right) => {
    expect(cosineSimilarity(embedText(left), embedText(right))).toBeLessThan(0.5);
  });

  it('ranks a related sentence between a paraphrase and an unrelated one', () => {
    const anchor = embedText('Lighting plan for the neo-noir alley sequence');
    const related = cosineSimilarity(anchor, embedText('Lighting plan for the warehouse chase sequence'));
    expect(related).toBeGreaterThan(cosineSimilarity(anchor, embedText('Quarterly revenue grew because customers renewed')));
    expect(related).toBeLessThan(cosineSimilarity(anchor, embedText('Lighting plan for the alley sequence, neo-noir')));
  });

  it('gives deterministic unit vectors, and zero for empty text', () => {
    const vector = embedText('camera movement notes');
    expect(vector).toEqual(embedText('camera movement notes'));
    expect(Math.hypot(...vector)).toBeCloseTo(1, 10);
    expect(embedText('').every((value) => value === 0)).toBe(true);
    expect(cosineSimilarity(embedText(''), vector)).toBe(0);
    expect(() => cosineSimilarity([1, 0], [1, 0, 0])).toThrow(RangeError);
  });

  it('works as an AI SDK embedding model', async () => {
    const result = await embedMany({ model: new OfflineEmbeddingModel(), values: ['a lighting plan', 'the lighting plan'], maxRetries: 0 });
    expect(result.embeddings).toHaveLength(2);
    expect(cosineSimilarity(result.embeddings[0]!, result.embeddings[1]!)).toBeGreaterThan(0.99);
    expect(result.usage.tokens).toBeGreaterThan(0);
  });
});
