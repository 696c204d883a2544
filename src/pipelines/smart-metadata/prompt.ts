/**
 * The metadata prompt. `promptVersion` is stored with every AI row (`prompt_version`), so a
 * change to the instructions or the prompt layout must bump it: rows then say which wording
 * produced them, and a back-fill can tell old answers from new ones.
 *
 * Version history: 1.0 was the seed's prompt; 2.0 asks for kebab-case tags and names the
 * difficulty levels explicitly.
 */
import type { ProjectText } from './project-text.ts';

export const promptVersion = '2.0';

export const metadataInstructions = [
  'You catalogue study projects for a learning app.',
  'From the project description, produce: ai_generated_tags, 3 to 10 short topic tags in lower-case kebab-case (for example "machine-learning", "python", "organic-chemistry"), most specific topics first, no duplicates, no generic tags such as "study" or "project";',
  'content_summary, two or three sentences (at most 500 characters) saying what the project covers and what the learner will do;',
  'difficulty_level, one of beginner, intermediate or advanced, judged from the material itself.',
  'Use only what the description says. Answer with JSON only, matching the schema.',
].join(' ');

export function metadataPrompt(projectText: ProjectText): string {
  return `Study project:\n${projectText.text}\n\nGenerate the project's metadata.`;
}
