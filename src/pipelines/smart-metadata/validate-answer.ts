/**
 * Checks and normalises an answer (the model's or the offline analyser's) before it may be
 * stored: tags become lower-case kebab-case, duplicates go, and 3 to 10 must remain; the summary
 * must say something. An answer that fails is an error, never a stored placeholder (the seed
 * stored `["error"]` and counted it as a success).
 */
import { PermanentError } from '../../errors.ts';
import { tagPattern, type DifficultyLevel } from './schemas.ts';

export const minTags = 3;
export const maxTags = 10;

/** "Machine Learning", "machine_learning", " machine--learning " -> "machine-learning" (camelCase is kept whole: "JavaScript" -> "javascript"); C++ -> "cpp", C# -> "csharp". */
export function normaliseTag(raw: string): string {
  return raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\+\+/g, 'pp')
    .replace(/#/g, 'sharp')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/g, '');
}

export function normaliseTags(raw: string[]): string[] {
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const entry of raw) {
    // A leading "#" is a hashtag, not C#.
    const tag = normaliseTag(entry.trim().replace(/^#+/, ''));
    if (!tagPattern.test(tag) || seen.has(tag)) continue;
    seen.add(tag);
    tags.push(tag);
  }
  return tags;
}

export class InvalidMetadataError extends PermanentError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { ...details, error_type: 'invalid_output' });
  }
}

export interface ValidatedMetadata {
  ai_generated_tags: string[];
  content_summary: string;
  difficulty_level: DifficultyLevel;
}

/** Throws InvalidMetadataError (not retryable) naming what is wrong and who answered. */
export function validateMetadata(answer: { ai_generated_tags: string[]; content_summary: string; difficulty_level: DifficultyLevel }, modelUsed: string): ValidatedMetadata {
  const tags = normaliseTags(answer.ai_generated_tags);
  if (tags.length < minTags) {
    throw new InvalidMetadataError(`${modelUsed} returned ${tags.length} usable tag(s) after normalising and de-duplicating ${JSON.stringify(answer.ai_generated_tags)}; at least ${minTags} are required. Nothing was stored.`, { model_used: modelUsed, tags: answer.ai_generated_tags });
  }
  const summary = answer.content_summary.replace(/\s+/g, ' ').trim();
  if (summary.length < 10) {
    throw new InvalidMetadataError(`${modelUsed} returned an empty or too short content_summary (${JSON.stringify(summary)}). Nothing was stored.`, { model_used: modelUsed });
  }
  return { ai_generated_tags: tags.slice(0, maxTags), content_summary: summary.slice(0, 1000), difficulty_level: answer.difficulty_level };
}
