/**
 * Prompts of the automated gather pipeline. They hold no run-specific noise (no task id, no
 * timestamp), so the same project state gives the same prompt: a resumed or repeated run asks the
 * model the same question, and the offline model answers it the same way.
 */
import type { Department } from './schemas.ts';

export interface PreviousDepartment {
  name: string;
  slug: string;
  /** Its quality when this run gathered it; null for items an earlier run gathered. */
  qualityScore: number | null;
  /** Its items: made by this run, or stored by earlier ones. */
  itemsCreated: number;
  /** Summaries of a few of its items. */
  highlights: string[];
  /** After this department in the plan: its items are an earlier run's. Absent in older checkpoints (earlier). */
  later?: boolean;
}

export interface GenerationPromptInput {
  projectId: string;
  department: Department;
  iteration: number;
  count: number;
  previousDepartments: PreviousDepartment[];
  brainContext: string[];
  existingSummaries: string[];
  existingCount: number;
  lastQuality: { score: number; missingAspects: string[] } | null;
}

const bullet = (lines: string[]): string => lines.map((line) => `- ${line.replace(/\s+/g, ' ').trim()}`).join('\n');

/** Keeps prompts bounded however many items a project has: the most recent `limit` entries. */
function lastEntries<T>(values: T[], limit: number): T[] {
  return values.length > limit ? values.slice(values.length - limit) : values;
}

export const generationInstructions = [
  'You are a senior development executive for an AI movie studio.',
  'You write "gather items": self-contained notes that a production department needs before it can work.',
  'Each item has content (a detailed, specific paragraph), summary (one sentence of about 100 characters) and context (how it relates to the project and to earlier departments).',
  'Build on the earlier departments\' results; never contradict them. Do not repeat or rephrase existing items: cover what is missing.',
  'Answer with JSON only, matching the schema.',
].join(' ');

export function generationPrompt(input: GenerationPromptInput): string {
  const { department } = input;
  const sections: string[] = [
    // The project first: two projects' first departments otherwise asked the same question, and
    // the response cache (TASKLOOM_LLM_CACHE=on) handed one project the other's items.
    `Project: ${input.projectId}.`,
    `Department: ${department.name} (number ${department.codeDepNumber}, slug ${department.slug}).`,
    `What this department covers: ${department.description || department.name}.`,
  ];
  const describe = (departments: PreviousDepartment[]): string => departments
    .map((previous) => `${previous.name}: ${previous.qualityScore === null ? `${previous.itemsCreated} gather items from earlier runs` : `quality ${previous.qualityScore}/100`}.\n${bullet(previous.highlights)}`)
    .join('\n');
  const earlier = input.previousDepartments.filter((previous) => previous.later !== true);
  const later = input.previousDepartments.filter((previous) => previous.later === true);
  if (earlier.length > 0) sections.push('Results of the previous departments (build on them):', describe(earlier));
  if (later.length > 0) sections.push('Already gathered for later departments by earlier runs (stay consistent with them):', describe(later));
  if (input.brainContext.length > 0) sections.push('Project knowledge from the Brain:', bullet(lastEntries(input.brainContext, 12)));
  if (input.existingSummaries.length > 0) {
    sections.push(`This department already has ${input.existingCount} gather items; do not repeat them:`, bullet(lastEntries(input.existingSummaries, 30)));
  }
  if (input.lastQuality) {
    sections.push(
      `The last quality review scored the department ${input.lastQuality.score}/100.`,
      input.lastQuality.missingAspects.length > 0
        ? `It found these aspects missing; cover them first:\n${bullet(input.lastQuality.missingAspects)}`
        : 'It named no missing aspect; add depth and concrete detail.',
    );
  }
  sections.push(`Iteration ${input.iteration}. Generate ${input.count} new gather items for the ${department.name}.`);
  return sections.join('\n\n');
}

export const qualityInstructions = [
  'You review the gather items of one department of an AI movie production.',
  'Score four criteria from 0 to 100: coverage_score (how many aspects of the department are covered), depth_score (level of detail),',
  'coherence_score (consistency with each other and with earlier departments) and actionability_score (how usable the items are for production).',
  'List the most important aspects of the department the items do not cover yet in missing_aspects (empty when nothing important is missing).',
  'Be strict: 80 or more means the department can start working. Answer with JSON only, matching the schema.',
].join(' ');

export function qualityPrompt(input: { department: Department; itemCount: number; summaries: string[]; coverageHint: string | null }): string {
  const sections = [
    `Department: ${input.department.name} (number ${input.department.codeDepNumber}).`,
    `What this department covers: ${input.department.description || input.department.name}.`,
    `The department has ${input.itemCount} gather items. Their summaries (most recent last):`,
    bullet(lastEntries(input.summaries, 40)),
  ];
  if (input.coverageHint) sections.push(`Coverage analysis from the Brain service: ${input.coverageHint}`);
  sections.push('Score the department\'s gather items.');
  return sections.join('\n\n');
}

export const judgeInstructions = [
  'You decide whether pairs of notes say the same thing. Two notes are duplicates when one adds nothing the other does not already say,',
  'even if worded differently. Answer with JSON only: one verdict per pair number.',
].join(' ');

export function judgePrompt(pairs: Array<{ pair: number; newText: string; existingText: string }>): string {
  return pairs
    .map((pair) => `Pair ${pair.pair}:\nNEW: ${pair.newText.slice(0, 1200)}\nEXISTING: ${pair.existingText.slice(0, 1200)}`)
    .join('\n\n');
}

export const evaluationInstructions = [
  'You evaluate whether one department of an AI movie production has gathered enough material to start its work.',
  'Rate its readiness from 0 to 100, summarise the state in a few sentences, and list strengths, weaknesses and concrete recommendations.',
  'Answer with JSON only, matching the schema.',
].join(' ');

export function evaluationPrompt(input: { department: Department; itemCount: number; summaries: string[] }): string {
  return [
    `Department: ${input.department.name} (number ${input.department.codeDepNumber}).`,
    `What this department covers: ${input.department.description || input.department.name}.`,
    `The department has ${input.itemCount} gather items. Their summaries:`,
    bullet(lastEntries(input.summaries, 60)),
    'Evaluate the department\'s readiness.',
  ].join('\n\n');
}
