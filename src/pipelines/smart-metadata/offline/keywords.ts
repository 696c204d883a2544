/**
 * Tags from term statistics over the project's text.
 *
 * Each candidate (a word, or a phrase of two or three adjacent content words inside a clause) is
 * scored TF-IDF-like:
 *
 *   score = weighted frequency × (1 + ln(sentences it occurs in)) × specificity
 *
 * - weighted frequency: occurrences weighted by where they are (the name counts 3, the course 2.5,
 *   the goal 2, file text 1, date titles 0.5), so a word in the title outweighs one in a footnote;
 * - spread: a term that recurs across sentences is what the text is about, one repeated in a
 *   single list is not;
 * - specificity, the IDF part: words every study project uses ("learn", "course", "week") weigh a
 *   fifth; names (capitalised where no sentence starts: Python, NumPy) and technical tokens (C++,
 *   node.js, x86) weigh 1.5.
 *
 * A phrase qualifies when it occurs at least twice or in the name, course or goal; its
 * occurrences are then taken out of its words' counts, so "neural networks" does not also
 * produce "neural" and "networks" unless they stand alone elsewhere.
 */
import type { ProjectTextSection, SectionKind } from '../project-text.ts';
import { genericWords, isContentToken, splitSentences, tokenizeClauses, type Token } from './text.ts';

export const sectionWeights: Record<SectionKind, number> = {
  name: 3,
  course: 2.5,
  goal: 2,
  file: 1,
  dates: 0.5,
  // Not about the subject: the type is a fixed word, the teacher a person, the frequency a schedule.
  type: 0,
  teacher: 0,
  frequency: 0,
};

const prominentSections = new Set<SectionKind>(['name', 'course', 'goal']);

export interface Keyword {
  /** The candidate as most often written ("neural networks"). */
  text: string;
  score: number;
  occurrences: number;
}

interface Candidate {
  key: string;
  words: number;
  surfaces: Map<string, number>;
  weight: number;
  occurrences: number;
  sentences: Set<number>;
  prominent: boolean;
  properNounVotes: number;
  technical: boolean;
  generic: boolean;
  /** Phrase occurrences (by sentence and clause position) used to discount the words inside. */
  spans: Array<{ sentence: number; clause: number; start: number; weight: number }>;
}

const technicalPattern = /[\p{N}+#.]/u;

function specificity(candidate: Candidate): number {
  if (candidate.generic) return 0.2;
  let factor = 1;
  if (candidate.technical || candidate.properNounVotes * 2 >= candidate.occurrences) factor *= 1.5;
  return factor;
}

function mostCommon(surfaces: Map<string, number>): string {
  let best = '';
  let bestCount = -1;
  for (const [surface, count] of surfaces) {
    if (count > bestCount) {
      best = surface;
      bestCount = count;
    }
  }
  return best;
}

/** Candidates with their scores, best first. `sections` are the project text's sections. */
export function extractKeywords(sections: ProjectTextSection[]): Keyword[] {
  const candidates = new Map<string, Candidate>();
  let sentenceIndex = 0;
  const note = (tokens: Token[], kind: SectionKind, weight: number, sentence: number, clause: number, start: number): void => {
    const key = tokens.map((token) => token.key).join(' ');
    let candidate = candidates.get(key);
    if (!candidate) {
      candidate = {
        key, words: tokens.length, surfaces: new Map(), weight: 0, occurrences: 0, sentences: new Set(), prominent: false,
        properNounVotes: 0, technical: false, generic: tokens.every((token) => genericWords.has(token.lower)), spans: [],
      };
      candidates.set(key, candidate);
    }
    const surface = tokens.map((token) => (token.properNoun || /\p{Lu}.*\p{Lu}/u.test(token.surface) ? token.surface : token.lower)).join(' ');
    candidate.surfaces.set(surface, (candidate.surfaces.get(surface) ?? 0) + 1);
    candidate.weight += weight;
    candidate.occurrences += 1;
    candidate.sentences.add(sentence);
    candidate.prominent ||= prominentSections.has(kind);
    if (tokens.some((token) => token.properNoun)) candidate.properNounVotes += 1;
    candidate.technical ||= tokens.some((token) => technicalPattern.test(token.lower));
    if (tokens.length > 1) candidate.spans.push({ sentence, clause, start, weight });
  };

  for (const section of sections) {
    const weight = sectionWeights[section.kind];
    if (weight === 0) continue;
    // A file's name says what it holds ("backpropagation_notes.pdf"): read it as a clause of its text.
    // A course's code ("CHEM 2420") identifies it but is no topic.
    const texts = section.kind === 'file'
      ? [section.label.replace(/^File\s+/, '').replace(/\.[a-z0-9]{1,5}$/i, '').replace(/[_]+/g, ' '), section.content]
      : [section.kind === 'course' ? section.content.replace(/\s*\([^()]*\)$/, '') : section.content];
    for (const text of texts) {
      for (const sentence of splitSentences(text)) {
        const clauses = tokenizeClauses(sentence);
        clauses.forEach((clause, clauseIndex) => {
          clause.forEach((token, index) => {
            if (!isContentToken(token)) return;
            note([token], section.kind, weight, sentenceIndex, clauseIndex, index);
            for (let length = 2; length <= 3; length += 1) {
              const phrase = clause.slice(index, index + length);
              if (phrase.length < length || !phrase.every(isContentToken)) break;
              // "learn basic Spanish", "practice greetings": a phrase opened by a study word is an instruction, not a topic.
              if (genericWords.has(phrase[0]!.lower)) break;
              note(phrase, section.kind, weight, sentenceIndex, clauseIndex, index);
            }
          });
        });
        sentenceIndex += 1;
      }
    }
  }

  // Phrases that qualify, longest first; their occurrences leave the shorter candidates inside them.
  const qualified = new Set<string>();
  const phrases = [...candidates.values()].filter((candidate) => candidate.words > 1 && !candidate.generic && (candidate.occurrences >= 2 || candidate.prominent))
    .sort((left, right) => right.words - left.words || right.occurrences - left.occurrences);
  for (const phrase of phrases) {
    // A two-word phrase found only inside a qualified three-word one adds nothing.
    if (phrase.occurrences <= 0) continue;
    qualified.add(phrase.key);
    const parts = phrase.key.split(' ');
    const inner: string[] = [];
    for (let length = 1; length < parts.length; length += 1) {
      for (let start = 0; start + length <= parts.length; start += 1) inner.push(parts.slice(start, start + length).join(' '));
    }
    for (const key of inner) {
      const part = candidates.get(key);
      if (!part) continue;
      part.occurrences -= phrase.occurrences;
      part.weight -= phrase.weight;
    }
  }

  const keywords: Keyword[] = [];
  for (const candidate of candidates.values()) {
    if (candidate.words > 1 && !qualified.has(candidate.key)) continue;
    if (candidate.occurrences <= 0 || candidate.weight <= 0) continue;
    // Phrases are what tags are best at ("machine learning", not "machine"): a mild preference.
    const phraseBonus = candidate.words > 1 ? 1.3 : 1;
    const score = candidate.weight * (1 + Math.log(candidate.sentences.size)) * specificity(candidate) * phraseBonus;
    // Three decimals: the score goes into the task's result, where 3.9000000000000004 is noise.
    keywords.push({ text: mostCommon(candidate.surfaces), score: Math.round(score * 1000) / 1000, occurrences: candidate.occurrences });
  }
  return keywords.sort((left, right) => right.score - left.score || left.text.localeCompare(right.text));
}
