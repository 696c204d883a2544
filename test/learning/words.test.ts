/**
 * Word identity and the WordNet reader, without a database.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { distinctLearnableWords, normaliseWord, WordNetReader } from '../../src/pipelines/learning/index.ts';
import { sampleFrequentLemmas } from '../../src/pipelines/learning/sources/frequent-words.ts';
import { parseDataLine } from '../../src/pipelines/learning/wordnet/wordnet-reader.ts';

const reader = new WordNetReader();
afterAll(() => reader.close());

describe('word identity', () => {
  it('folds case, width, compatibility characters and whitespace', () => {
    expect(normaliseWord('Dog')).toBe('dog');
    expect(normaliseWord('ＤＯＧ')).toBe('dog');
    expect(normaliseWord('  ice_cream\t')).toBe('ice cream');
    expect(normaliseWord('ﬁsh')).toBe('fish');
    expect(normaliseWord('Straße')).toBe('straße');
    expect(normaliseWord('İstanbul')).toBe(normaliseWord('i̇stanbul'));
  });

  it('keeps the first spelling of each word and drops what is not a word', () => {
    expect(distinctLearnableWords(['Dog', 'DOG', 'ｄｏｇ', 'cat', '42', 'https://x.io', 'a sentence with far too many words', "rock'n'roll", 'café', '-dash', 'end-'])).toEqual([
      { word: 'Dog', normalised: 'dog' },
      { word: 'cat', normalised: 'cat' },
      { word: "rock'n'roll", normalised: "rock'n'roll" },
      { word: 'café', normalised: 'café' },
    ]);
  });
});

describe('WordNet reader', () => {
  it('parses a data line: lexicographer file, words, hypernyms, gloss and examples', () => {
    const line = '02086723 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 002 @ 02085998 n 0000 @i 01320032 n 0000 | a member of the genus Canis; "the dog barked all night" - Anon; "a second one"';
    const synset = parseDataLine(line, 'noun');
    expect(synset).toMatchObject({ id: 'n:02086723', category: 'noun.animal', words: ['dog', 'domestic dog', 'Canis familiaris'], definition: 'a member of the genus Canis', examples: ['the dog barked all night', 'a second one'], hypernymIds: ['n:02085998', 'n:01320032'] });
  });

  it('looks words up by lemma or inflected form, most common sense first', async () => {
    const dog = await reader.lookup('dog');
    expect(dog[0]).toMatchObject({ category: 'noun.animal', hypernyms: ['canine', 'domestic animal'] });
    expect((await reader.lookup('running'))[0]?.words).toContain('running');
    expect((await reader.lookup('ran'))).toEqual([]);
    expect((await reader.lookup('dogs'))[0]?.id).toBe(dog[0]?.id);
    expect((await reader.lookup('run'))[0]?.category).toBe('verb.motion');
    expect((await reader.lookup('quickly'))[0]?.category).toBe('adv.all');
    expect(await reader.lookup('zzzqxj')).toEqual([]);
  });

  it('ranks lemmas by tag count and samples frequent ones more often', async () => {
    const frequencies = await reader.lemmaFrequencies();
    expect(frequencies.length).toBeGreaterThan(10_000);
    expect(frequencies.slice(0, 50).map((entry) => entry.lemma)).toEqual(expect.arrayContaining(['have', 'say', 'make', 'time']));
    let seed = 1;
    const random = (): number => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const sample = await sampleFrequentLemmas(reader, 1000, random);
    expect(new Set(sample).size).toBe(1000);
    const rank = new Map(frequencies.map((entry, index) => [entry.lemma, index]));
    const topTenth = sample.filter((lemma) => rank.get(lemma)! < frequencies.length / 10).length;
    // Uniform sampling would put ~100 of 1,000 in the most frequent tenth.
    expect(topTenth).toBeGreaterThan(250);
  });
});
