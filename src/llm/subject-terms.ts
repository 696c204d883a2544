/**
 * Reads a prompt the way the offline model needs it: which subject terms it is about, which
 * multi-word phrases it uses, how many items it says already exist and how many it asks for.
 * Pure text heuristics, no model: the point is that the offline output is *about the prompt*.
 */

/** Function words and prompt boilerplate that never make a subject term. */
const stopwords = new Set(
  `a about above after again against all almost also am an and any are around as at be because been before being below between both but by can
  could did do does doing down during each either else ever every few for from further get gets had has have having he her here hers him his how
  however i if in into is it its itself just let like made make many may me might more most much must my neither no nor not now of off often on
  once one only or other our ours out over own per please rather same shall she should since so some such than that the their theirs them then
  there these they this those though through thus to too under until up upon us use used using very via was we were what when where whether which
  while who whom whose why will with within without would yet you your yours
  return returns respond response responses output outputs json schema object objects field fields array arrays string strings number numbers
  boolean value values valid format formatted generate generates generated generating create creates created write writes written produce
  provide provides include includes including based following follow follows below above exactly least most new existing avoid avoiding
  duplicate duplicates duplicated previous previously already current currently given give list listed item items entry entries instructions
  instruction prompt task step iteration round attempt seed variation batch example examples e.g etc ie each per total count counts only
  specific relevant detailed concise clear short long well good high quality assistant user system helpful expert you're it's don't
  slug number numbers id ids json-only earlier later recent last first next cover covers covered whole kind repeat rephrase
  contradict never build answer answers matching missing aspect aspects senior`.split(/\s+/),
);

import { templateVocabulary } from './offline-text.ts';

/** Words that describe the job rather than its subject; they count, but much less. */
const metaWords = new Set(['content', 'summary', 'context', 'department', 'project', 'topic', 'topics', 'score', 'scores', 'analysis', 'text', 'title', 'information', 'details', 'data', 'gather', 'coverage', 'depth', 'coherence']);

export interface SubjectTerms {
  /** Single subject words, most important first (original casing kept for proper nouns). */
  terms: string[];
  /** Two-word phrases of adjacent subject words in the prompt (not the instructions), most frequent first. */
  phrases: string[];
  /** How many items the prompt says exist (largest "N items" mention or bulleted list length). */
  existingItemCount: number;
  /** The count the prompt asks for ("generate 5 ..."), if any. */
  requestedCount: number | undefined;
}

interface Token {
  word: string;
  lower: string;
  capitalised: boolean;
  sentenceStart: boolean;
}

function tokenize(text: string): Token[][] {
  const tokens: Token[][] = [];
  // Clauses, not sentences: a phrase never spans a comma ("shot lists, color palette").
  for (const sentence of text.split(/[.!?;:,\n\r()[\]{}"]+/)) {
    const run: Token[] = [];
    const words = sentence.match(/[\p{L}][\p{L}\p{N}'’-]*[\p{L}\p{N}]|[\p{L}]/gu) ?? [];
    words.forEach((word, index) => {
      const clean = word.replace(/['’]s$/u, '');
      run.push({ word: clean, lower: clean.toLowerCase(), capitalised: /^\p{Lu}/u.test(clean), sentenceStart: index === 0 });
    });
    tokens.push(run);
  }
  return tokens;
}

function isSubjectWord(token: Token): boolean {
  return token.lower.length >= 3 && !stopwords.has(token.lower) && !/^\d/.test(token.lower);
}

/** A line's leading label: up to four words and a colon, then the value (not a URL's scheme). */
const lineLabel = /^\s*\p{L}[\p{L}\p{N}'’_-]*(?: [\p{L}\p{N}'’_-]+){0,3}:\s/u;

const generationVerbs = /(?:generate|create|write|produce|give|suggest|propose|draft|list|return|provide|add|make)\s+(?:me\s+)?(?:exactly\s+|up\s+to\s+|at\s+least\s+|about\s+|around\s+)?(\d{1,3})\b/gi;
const itemNouns = '(?:gather\\s+)?(?:items?|entries|records|pieces|ideas|posts|topics|personas|notes|facts|words|sources|results)';

/**
 * Extracts subject terms from `text` (the user prompt) and, with a lower weight, from
 * `secondaryText` (the instructions).
 */
export function extractSubjectTerms(text: string, secondaryText = ''): SubjectTerms {
  const scores = new Map<string, { score: number; display: string; first: number; lowercaseSeen: boolean }>();
  const phraseScores = new Map<string, { score: number; first: number }>();
  let position = 0;
  const addText = (source: string, weight: number): void => {
    // A line's leading label ("Company name: Acme", "Persona: ...") names a slot, not the
    // subject: only the value after it counts.
    for (const line of source.split('\n')) {
      const label = lineLabel.exec(line);
      addRuns(label ? line.slice(label[0].length) : line, weight);
    }
  };
  const addRuns = (source: string, weight: number): void => {
    for (const run of tokenize(source)) {
      let previous: Token | undefined;
      for (const token of run) {
        position += 1;
        if (!isSubjectWord(token)) {
          previous = undefined;
          continue;
        }
        // Template words echo earlier offline output quoted in the prompt; they barely count.
        const tokenWeight = weight * (metaWords.has(token.lower) ? 0.15 : templateVocabulary.has(token.lower) ? 0.05 : 1);
        const entry = scores.get(token.lower);
        // A word capitalised in mid-sentence every time it appears there is a proper noun
        // (Kubrick, Prague): keep its casing. One lowercase use makes it a common word.
        const display = token.capitalised && !token.sentenceStart ? token.word : token.lower;
        if (entry) {
          entry.score += tokenWeight;
          if (!token.sentenceStart && !token.capitalised) entry.lowercaseSeen = true;
          if (display !== token.lower && !entry.lowercaseSeen) entry.display = display;
          if (entry.lowercaseSeen) entry.display = token.lower;
        } else {
          scores.set(token.lower, { score: tokenWeight, display, first: position, lowercaseSeen: !token.sentenceStart && !token.capitalised });
        }
        if (previous && weight >= 1 && !metaWords.has(previous.lower) && !metaWords.has(token.lower) && !templateVocabulary.has(previous.lower) && !templateVocabulary.has(token.lower)) {
          const phrase = `${scores.get(previous.lower)?.display ?? previous.lower} ${display}`;
          const phraseEntry = phraseScores.get(phrase);
          if (phraseEntry) phraseEntry.score += weight;
          else phraseScores.set(phrase, { score: weight, first: position });
        }
        previous = token;
      }
    }
  };
  addText(text, 1);
  addText(secondaryText, 0.4);

  // Earlier words get a small bonus: prompts usually name their subject first.
  const ranked = [...scores.values()]
    .map((entry) => ({ ...entry, rank: entry.score + 1 / (1 + entry.first / 20) }))
    .sort((left, right) => right.rank - left.rank || left.first - right.first);
  // Template words only fill in when the prompt has too few subject words of its own.
  const own = ranked.filter((entry) => !templateVocabulary.has(entry.display.toLowerCase()));
  const terms = (own.length >= 6 ? own : ranked).slice(0, 24).map((entry) => entry.display);
  const phrases = [...phraseScores.entries()]
    .sort((left, right) => right[1].score - left[1].score || left[1].first - right[1].first)
    .slice(0, 16)
    .map(([phrase]) => phrase);

  return { terms, phrases, existingItemCount: countExistingItems(text), requestedCount: findRequestedCount(text) };
}

function findRequestedCount(text: string): number | undefined {
  for (const match of text.matchAll(generationVerbs)) {
    const value = Number.parseInt(match[1] ?? '', 10);
    if (value > 0 && value <= 100) return value;
  }
  return undefined;
}

/**
 * The evidence of how much already exists: the largest "N items" / "items: N" mention that is
 * not a request ("generate 5 items"), or the number of bulleted / numbered lines, whichever is
 * larger. Quality scores of the offline model grow with it.
 */
export function countExistingItems(text: string): number {
  let best = 0;
  const requested = new Set<number>();
  for (const match of text.matchAll(generationVerbs)) requested.add(match.index + match[0].length);
  const forward = new RegExp(`(\\d{1,5})\\s+(?:\\w+\\s+){0,2}${itemNouns}\\b`, 'gi');
  for (const match of text.matchAll(forward)) {
    const numberEnd = match.index + (match[1] ?? '').length;
    if (requested.has(numberEnd)) continue;
    best = Math.max(best, Number.parseInt(match[1] ?? '0', 10));
  }
  const backward = new RegExp(`${itemNouns}(?:\\s+(?:so\\s+far|count|total|collected|existing))?\\s*[:=(]\\s*(\\d{1,5})`, 'gi');
  for (const match of text.matchAll(backward)) best = Math.max(best, Number.parseInt(match[1] ?? '0', 10));
  const listLines = text.split('\n').filter((line) => /^\s*(?:[-*•]|\d{1,3}[.)])\s+\S/.test(line)).length;
  return Math.max(best, listLines);
}
