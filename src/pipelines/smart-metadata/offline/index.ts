/**
 * The offline analyser (`model_used: "offline:extractive"`): metadata from the project's own text
 * with no model at all. Used when no LLM provider is configured, instead of the gateway's
 * template offline model, whose answers are shaped like metadata but are not about the project.
 * Deterministic: the same project text always gives the same metadata.
 */
import type { ProjectText } from '../project-text.ts';
import type { MetadataAnswer } from '../schemas.ts';
import { maxTags, minTags, normaliseTags } from '../tags.ts';
import { minSummaryChars } from '../validate-answer.ts';
import { assessDifficulty, type DifficultyAssessment } from './difficulty.ts';
import { extractKeywords, type Keyword } from './keywords.ts';
import { extractSummary } from './summary.ts';

export const offlineModelId = 'offline:extractive';
/** Stored as `prompt_version` for offline rows: the analyser's own version (it uses no prompt). */
export const offlineAnalyserVersion = 'extractive-1';

/** Tags beyond the first five must score at least this share of the best one. */
const relativeCutoff = 0.2;
/** Up to this many tags are taken whatever their share, if the text mentions them outside a date title. */
const assuredTags = 5;
/** Tags the analyser stops at when the text supports more. */
const preferredTags = 8;
/**
 * Fewest tags an offline answer may store. A project whose text yields fewer than three topics
 * gets its kind as a tag (`self-study` or `school-course`, always there) and no filler: three
 * tags padded with words true of every project would be placeholders, which are never stored.
 */
export const offlineMinTags = 1;

export interface OfflineAnalysis {
  answer: MetadataAnswer;
  /** Why: the scored candidates and the readability figures (kept in the task result). */
  details: { keywords: Keyword[]; difficulty: DifficultyAssessment };
}

function chooseTags(keywords: Keyword[], projectText: ProjectText): string[] {
  const best = keywords[0]?.score ?? 0;
  const chosen: string[] = [];
  for (const keyword of keywords) {
    if (chosen.length >= preferredTags) break;
    if (chosen.length >= minTags && keyword.score < best * relativeCutoff && (chosen.length >= assuredTags || keyword.score < 1)) break;
    const tag = normaliseTags([keyword.text])[0];
    if (!tag || chosen.includes(tag)) continue;
    // "network" next to "neural-networks" repeats it.
    if (chosen.some((existing) => existing.split('-').includes(tag) || tag.split('-').every((part) => existing.split('-').includes(part)))) continue;
    chosen.push(tag);
  }
  // Too little text for three topics: what kind of project it is, a fact about this project, is a
  // tag too. Nothing else is added to reach three ("study-project" would say nothing about it).
  if (chosen.length < minTags) {
    const type = projectText.sections.find((section) => section.kind === 'type');
    const kind = type?.content === 'school course' ? 'school-course' : 'self-study';
    if (!chosen.includes(kind)) chosen.push(kind);
  }
  return chosen.slice(0, maxTags);
}

function fallbackSummary(projectText: ProjectText): string {
  const field = (kind: string) => projectText.sections.find((section) => section.kind === kind)?.content;
  const name = field('name') ?? 'This project';
  const subject = field('course') ?? field('goal');
  const kind = field('type') === 'school course' ? 'school course project' : 'self-study project';
  return `${name}: a ${kind}${subject ? ` on ${subject}` : ''}.`.slice(0, 500);
}

export function analyseOffline(projectText: ProjectText): OfflineAnalysis {
  const keywords = extractKeywords(projectText.sections);
  const difficulty = assessDifficulty(projectText.sections);
  // A sentence of four short words ("I go to X") can be too short to store: the fallback then.
  const extracted = extractSummary(projectText.sections);
  const summary = extracted !== undefined && extracted.replace(/\s+/g, ' ').trim().length >= minSummaryChars ? extracted : fallbackSummary(projectText);
  return {
    answer: { ai_generated_tags: chooseTags(keywords, projectText), content_summary: summary, difficulty_level: difficulty.level },
    details: { keywords: keywords.slice(0, 20), difficulty },
  };
}
