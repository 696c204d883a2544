/**
 * Checks and normalises an answer (the model's or the offline analyser's) before it may be
 * stored: tags become lower-case kebab-case in any script (tags.ts), duplicates go, and 3 to 10
 * must remain (the offline analyser's answer may hold fewer, never less than one); the summary
 * must say something; and a model's summary and tags must describe the project, not the model
 * (an apology, a failure's text: modelTalkIn). An answer that fails is an error, never a stored
 * placeholder (the seed stored `["error"]` and counted it as a success; a model's "Sorry, I am
 * unable to access the project description right now" was stored as a summary the same way).
 */
import { PermanentError } from '../../errors.ts';
import { modelTalkIn } from '../../llm/model-talk.ts';
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

export interface MetadataChecks {
  /** The fewest usable tags accepted. @default minTags (what a model's answer needs) */
  requiredTags?: number;
  /**
   * The project text the model was asked about: a phrase of model talk that the project itself
   * says is the answer repeating it (a course on HTTP clients summarised as retrying "when a
   * request failed with status 503"), not the model talking. `null` for the offline analyser's
   * answer, which is not checked for model talk: it is the project's own words and fields, and
   * cannot apologise (a creative-writing project may well say "I'm sorry, I can't help you").
   * @default '' (every phrase of model talk refuses the answer)
   */
  projectText?: string | null;
}

/** A tag that holds a place instead of naming a topic (after normalising to kebab-case). */
// Not "todo", "label", "other" or "null": a to-do app, data labelling and null safety are topics.
const placeholderTag = /^(?:(?:tag|keyword|topic)-?\d*|label-?\d+|placeholder|unknown|none|undefined|n-a|tbd|example-tag)$/;
/** A summary that holds a place instead of saying what the project covers. */
const placeholderSummary = /^\W*(?:lorem ipsum|n\/?a|none|null|undefined|tbd|todo|placeholder|summary|description)\W*$/i;

/**
 * Throws InvalidMetadataError (not retryable, as any answer this pipeline refuses) naming what
 * is wrong and who answered.
 */
export function validateMetadata(answer: { ai_generated_tags: string[]; content_summary: string; difficulty_level: DifficultyLevel }, modelUsed: string, checks: MetadataChecks = {}): ValidatedMetadata {
  const required = Math.max(1, checks.requiredTags ?? minTags);
  const summary = answer.content_summary.replace(/\s+/g, ' ').trim();
  if (checks.projectText !== null) {
    const source = checks.projectText ?? '';
    // Tags as written and as kebab-case ("sorry-i-cannot-help" reads as "sorry i cannot help"):
    // a phrase, never a topic word ("error-handling" is a topic, a tag that is only "Error" is not).
    // A failure's report inside the text ("retries when the call failed with status 503") is no
    // refusal: a technical project is rightly summarised in those words, and a refusal here is for
    // good. One that opens it ("The request failed with status code 500.", "No summary
    // available.") is the answer being a failure, as is one that apologises or talks about itself.
    // A tag is all opening: "service-unavailable" names a topic of an API course, so tags are held
    // to the phrases of a model talking about itself only.
    const talk = [{ field: 'content_summary', text: summary, failureReports: 'opening' as const }, ...answer.ai_generated_tags.map((tag, index) => ({ field: `ai_generated_tags.${index}`, text: tag.replace(/[-_]+/g, ' '), failureReports: false }))]
      .map(({ field, text, failureReports }) => ({ field, phrase: modelTalkIn(text, { source, failureReports }) }))
      .find(({ phrase }) => phrase !== undefined);
    if (talk) {
      throw new InvalidMetadataError(`${modelUsed} answered with text about itself or a failure instead of metadata: ${talk.field} reads ${JSON.stringify(talk.phrase)} (summary ${JSON.stringify(summary.slice(0, 200))}, tags ${JSON.stringify(answer.ai_generated_tags)}). Nothing was stored.`, { model_used: modelUsed, field: talk.field, model_talk: talk.phrase });
    }
  }
  // Placeholders are no tags: "tag1", "unknown", "n-a" say the model had nothing to say.
  const tags = normaliseTags(answer.ai_generated_tags).filter((tag) => !placeholderTag.test(tag));
  if (placeholderSummary.test(summary)) {
    throw new InvalidMetadataError(`${modelUsed} returned a placeholder for content_summary (${JSON.stringify(summary)}). Nothing was stored.`, { model_used: modelUsed, field: 'content_summary' });
  }
  if (tags.length < required) {
    throw new InvalidMetadataError(`${modelUsed} returned ${tags.length} usable tag(s) after normalising and de-duplicating ${JSON.stringify(answer.ai_generated_tags)}; at least ${required} are required. Nothing was stored.`, { model_used: modelUsed, tags: answer.ai_generated_tags });
  }
  if (summary.length < minSummaryChars) {
    throw new InvalidMetadataError(`${modelUsed} returned an empty or too short content_summary (${JSON.stringify(summary)}). Nothing was stored.`, { model_used: modelUsed });
  }
  return { ai_generated_tags: tags.slice(0, maxTags), content_summary: summary.slice(0, 1000), difficulty_level: answer.difficulty_level };
}
