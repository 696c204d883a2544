/**
 * A difficulty level from readability and vocabulary.
 *
 * - Readability: the Flesch-Kincaid grade, 0.39 × words per sentence + 11.8 × syllables per word
 *   − 15.59 (a US school grade), over the prose the project holds.
 * - Vocabulary: the share of long words (three syllables or more, as in the Gunning fog index)
 *   and of technical tokens (C++, x86, node.js, acronyms, names such as NumPy).
 * - What the text says about itself: "introduction to", "for beginners", "no prior experience"
 *   pull toward beginner; "advanced", "graduate", "proofs", "research" toward advanced.
 *
 * They add up to one score from 0 to 2: prose below grade 10 reads as beginner material, grade 13
 * and above as advanced; dense long words and jargon add to it, and each explicit marker moves it
 * by half a level (a level at most). Too little
 * prose (under 30 words) says nothing about readability: the score then starts in the middle and
 * only the markers move it.
 */
import type { ProjectTextSection } from '../project-text.ts';
import type { DifficultyLevel } from '../schemas.ts';
import { countSyllables, splitSentences, tokenizeClauses } from './text.ts';

const beginnerMarkers = [/\bintroduct(?:ion|ory)\b/, /\bintro\b/, /\bbeginners?\b/, /\bbasics\b/, /\bfundamentals\b/, /\bgetting started\b/, /\bfirst steps\b/,
  /\bno (?:prior|previous) (?:experience|knowledge)\b/, /\belementary\b/, /\b101\b/, /\bfor dummies\b/, /\bprimer\b/];
const advancedMarkers = [/\badvanced\b/, /\bgraduate\b/, /\bpostgraduate\b/, /\bph\.?d\b/, /\bmaster'?s\b/, /\bthesis\b/, /\bdissertation\b/, /\bresearch\b/,
  /\bproofs?\b/, /\btheorems?\b/, /\brigorous\b/, /\bin-depth\b/, /\bstate[- ]of[- ]the[- ]art\b/, /\bexpert\b/, /\boptimi[sz]ation\b/, /\bderivations?\b/];

export interface DifficultyAssessment {
  level: DifficultyLevel;
  score: number;
  words: number;
  sentences: number;
  fleschKincaidGrade: number | null;
  longWordShare: number | null;
  technicalShare: number | null;
  markers: { beginner: string[]; advanced: string[] };
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

export function assessDifficulty(sections: ProjectTextSection[]): DifficultyAssessment {
  const prose = sections.filter((section) => section.kind === 'goal' || section.kind === 'file' || section.kind === 'course');
  let words = 0;
  let syllables = 0;
  let longWords = 0;
  let technical = 0;
  let sentences = 0;
  for (const section of prose) {
    for (const sentence of splitSentences(section.content)) {
      const tokens = tokenizeClauses(sentence).flat().filter((token) => /\p{L}/u.test(token.lower));
      if (tokens.length === 0) continue;
      sentences += 1;
      for (const token of tokens) {
        words += 1;
        const count = countSyllables(token.lower);
        syllables += count;
        if (count >= 3) longWords += 1;
        // Jargon: versions and symbols (C++, node.js), acronyms (NMR) and names (NumPy, PyTorch).
        if (/[\p{N}+#.]/u.test(token.lower) || /^\p{Lu}{2,}$/u.test(token.surface) || token.properNoun) technical += 1;
      }
    }
  }

  const everything = sections.filter((section) => section.kind !== 'teacher').map((section) => section.content.toLowerCase()).join('\n');
  const found = (patterns: RegExp[]): string[] => patterns.map((pattern) => pattern.exec(everything)?.[0]).filter((match): match is string => match !== undefined);
  const markers = { beginner: found(beginnerMarkers), advanced: found(advancedMarkers) };

  let score: number;
  let grade: number | null = null;
  let longWordShare: number | null = null;
  let technicalShare: number | null = null;
  if (words >= 30) {
    grade = 0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59;
    longWordShare = longWords / words;
    technicalShare = technical / words;
    // Grade 10 -> 0.75 (the beginner/intermediate boundary), grade 13 -> 1.5 (advanced).
    score = (grade - 7) / 4;
    // Dense long words and jargon make text harder than its sentence length alone says.
    score += Math.max(0, longWordShare - 0.15) * 2 + Math.min(technicalShare, 0.2) * 2;
  } else {
    score = 1;
  }
  score += Math.min(markers.advanced.length, 2) * 0.5 - Math.min(markers.beginner.length, 2) * 0.5;
  score = Math.max(0, Math.min(2, score));
  const level: DifficultyLevel = score < 0.75 ? 'beginner' : score < 1.5 ? 'intermediate' : 'advanced';
  return {
    level, score: round(score), words, sentences,
    fleschKincaidGrade: grade === null ? null : round(grade, 1),
    longWordShare: longWordShare === null ? null : round(longWordShare, 3),
    technicalShare: technicalShare === null ? null : round(technicalShare, 3),
    markers,
  };
}
