/**
 * Checks and normalises an answer (the model's or the offline analyser's) before it may be
 * stored: tags become lower-case kebab-case in any script (tags.ts), duplicates go, and 3 to 10
 * must remain (the offline analyser's answer may hold fewer, never less than one); the summary
 * must say something. An answer that fails is an error, never a stored placeholder (the seed
 * stored `["error"]` and counted it as a success).
 */
import { PermanentError } from '../../errors.ts';
import type { DifficultyLevel } from './schemas.ts';
import { maxTags, minTags, normaliseTags } from './tags.ts';

export class InvalidMetadataError extends PermanentError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { ...details, error_type: 'invalid_output' });
  }
}

/** The shortest content_summary stored (after collapsing whitespace). */
export const minSummaryChars = 10;

export interface ValidatedMetadata {
  ai_generated_tags: string[];
  content_summary: string;
  difficulty_level: DifficultyLevel;
}

/**
 * Throws InvalidMetadataError (not retryable) naming what is wrong and who answered.
 * `requiredTags`: the fewest usable tags accepted (a model's answer: `minTags`, the default).
 */
export function validateMetadata(answer: { ai_generated_tags: string[]; content_summary: string; difficulty_level: DifficultyLevel }, modelUsed: string, requiredTags: number = minTags): ValidatedMetadata {
  const required = Math.max(1, requiredTags);
  const tags = normaliseTags(answer.ai_generated_tags);
  if (tags.length < required) {
    throw new InvalidMetadataError(`${modelUsed} returned ${tags.length} usable tag(s) after normalising and de-duplicating ${JSON.stringify(answer.ai_generated_tags)}; at least ${required} are required. Nothing was stored.`, { model_used: modelUsed, tags: answer.ai_generated_tags });
  }
  const summary = answer.content_summary.replace(/\s+/g, ' ').trim();
  if (summary.length < minSummaryChars) {
    throw new InvalidMetadataError(`${modelUsed} returned an empty or too short content_summary (${JSON.stringify(summary)}). Nothing was stored.`, { model_used: modelUsed });
  }
  return { ai_generated_tags: tags.slice(0, maxTags), content_summary: summary.slice(0, 1000), difficulty_level: answer.difficulty_level };
}
