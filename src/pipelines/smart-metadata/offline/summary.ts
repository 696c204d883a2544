/**
 * An extractive summary: the project's most central sentences, by TextRank.
 *
 * Sentences are nodes; two sentences are linked by how many content words they share, normalised
 * by their lengths (|shared| / (ln|a| + ln|b|), Mihalcea & Tarau 2004). PageRank over that graph
 * ranks a sentence high when it shares vocabulary with many other well-ranked sentences: it says
 * what the rest of the text elaborates. The random jump favours the goal and course sentences
 * (they state intent), and the best sentences are kept in their original order up to about 320
 * characters.
 */
import type { ProjectTextSection, SectionKind } from '../project-text.ts';
import { isContentToken, splitSentences, tokenizeClauses } from './text.ts';

/** Sentences shorter than this many words are headings or fragments, not summary material. */
const minimumWords = 4;
/** The summary is built up to about this length, and never beyond maxSummaryChars. */
const targetChars = 320;
export const maxSummaryChars = 500;
const damping = 0.85;

const jumpWeights: Partial<Record<SectionKind, number>> = { goal: 2, course: 1.5, file: 1 };

interface Sentence {
  text: string;
  order: number;
  words: Set<string>;
  jump: number;
}

function similarity(left: Set<string>, right: Set<string>): number {
  if (left.size < 2 || right.size < 2) return 0;
  let shared = 0;
  for (const word of left) if (right.has(word)) shared += 1;
  return shared === 0 ? 0 : shared / (Math.log(left.size) + Math.log(right.size));
}

/** PageRank scores of the sentences (power iteration until it settles). */
export function textRank(sentences: Array<{ words: Set<string>; jump: number }>): number[] {
  const count = sentences.length;
  if (count === 0) return [];
  const weights = sentences.map((left, row) => sentences.map((right, column) => (row === column ? 0 : similarity(left.words, right.words))));
  const outgoing = weights.map((row) => row.reduce((sum, value) => sum + value, 0));
  const jumpTotal = sentences.reduce((sum, sentence) => sum + sentence.jump, 0);
  const jump = sentences.map((sentence) => sentence.jump / jumpTotal);
  let scores = new Array<number>(count).fill(1 / count);
  for (let iteration = 0; iteration < 100; iteration += 1) {
    // A sentence linked to nothing hands its rank back through the jump, keeping the total at 1.
    const dangling = scores.reduce((sum, score, index) => sum + (outgoing[index] === 0 ? score : 0), 0);
    const next = jump.map((share) => (1 - damping) * share + damping * dangling * share);
    for (let from = 0; from < count; from += 1) {
      if (outgoing[from] === 0) continue;
      for (let to = 0; to < count; to += 1) {
        const weight = weights[from]![to]!;
        if (weight > 0) next[to]! += damping * scores[from]! * (weight / outgoing[from]!);
      }
    }
    const change = next.reduce((sum, value, index) => sum + Math.abs(value - scores[index]!), 0);
    scores = next;
    if (change < 1e-9) break;
  }
  return scores;
}

function cut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const slice = text.slice(0, limit - 1);
  const lastSpace = slice.lastIndexOf(' ');
  return `${(lastSpace > limit / 2 ? slice.slice(0, lastSpace) : slice).replace(/[\s,;:]+$/, '')}…`;
}

/** The summary, or undefined when the text has no sentence worth extracting. */
export function extractSummary(sections: ProjectTextSection[]): string | undefined {
  const sentences: Sentence[] = [];
  for (const section of sections) {
    const jump = jumpWeights[section.kind];
    if (jump === undefined) continue;
    for (const text of splitSentences(section.content)) {
      const tokens = tokenizeClauses(text).flat();
      if (tokens.length < minimumWords) continue;
      // The same sentence twice (a goal pasted into a file) is one sentence.
      if (sentences.some((existing) => existing.text === text)) continue;
      sentences.push({ text, order: sentences.length, words: new Set(tokens.filter(isContentToken).map((token) => token.key)), jump });
    }
  }
  if (sentences.length === 0) return undefined;
  const scores = textRank(sentences);
  const ranked = sentences.map((sentence, index) => ({ sentence, score: scores[index]! }))
    .sort((left, right) => right.score - left.score || left.sentence.order - right.sentence.order);
  const chosen: Sentence[] = [];
  let length = 0;
  for (const { sentence } of ranked) {
    if (chosen.length > 0 && length + sentence.text.length + 1 > targetChars) continue;
    chosen.push(sentence);
    length += sentence.text.length + 1;
    if (length >= targetChars * 0.75 || chosen.length === 3) break;
  }
  const summary = chosen.sort((left, right) => left.order - right.order).map((sentence) => sentence.text).join(' ');
  return cut(summary, maxSummaryChars);
}
