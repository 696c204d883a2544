/**
 * The shapes of the smart metadata pipeline (seed 003): projects as the API takes and shows them,
 * the AI metadata row, the structured answer asked of the model, and the task inputs. One zod
 * schema per shape drives validation, types and the OpenAPI/LLM JSON schemas.
 */
import { z } from 'zod';
import { maxTagChars, maxTags, tagPattern } from './tags.ts';

// Defined with the pipeline's task types, which its definition lists without loading these schemas.
export { cleanupOldMetadataType, followUpProjectMetaType, generateMissingMetadataType, generateProjectMetaType } from './task-types.ts';


/** The project_meta key the pipeline owns. Every other key belongs to users. */
export const aiMetadataKey = 'ai_generated_metadata';

export const projectTypes = ['self_study', 'school'] as const;
export type ProjectType = (typeof projectTypes)[number];

export const difficultyLevels = ['beginner', 'intermediate', 'advanced'] as const;
export type DifficultyLevel = (typeof difficultyLevels)[number];

/** Largest extracted text stored per file. The prompt reads only the first 1,000 characters. */
export const maxFileTextChars = 200_000;

const optionalText = (max: number) => z.string().trim().max(max).nullable().optional();

export const projectFileInput = z.object({
  name: z.string().trim().min(1).max(255),
  extracted_text: z.string().max(maxFileTextChars).default(''),
}).strict();

export const importantDateInput = z.object({
  title: z.string().trim().min(1).max(200),
  // YYYY-MM-DD takes years 0000-9999, and PostgreSQL has no year 0.
  date: z.iso.date().refine((value) => !value.startsWith('0000-'), 'there is no year 0000; years start at 0001').describe('YYYY-MM-DD'),
}).strict();

const projectFields = {
  name: z.string().trim().min(1).max(200),
  project_type: z.enum(projectTypes),
  course_name: optionalText(200).describe('School projects.'),
  course_code: optionalText(50).describe('School projects.'),
  teacher: optionalText(200).describe('School projects.'),
  goal_description: optionalText(5000).describe('Self-study projects.'),
  study_frequency: optionalText(100).describe('Self-study projects, e.g. "3 times a week".'),
  is_draft: z.boolean().default(false),
  files: z.array(projectFileInput).max(50).default([]),
  important_dates: z.array(importantDateInput).max(100).default([]),
};

const schoolOnly = ['course_name', 'course_code', 'teacher'] as const;
const selfStudyOnly = ['goal_description', 'study_frequency'] as const;

/** The fields only the other project type has: a project of `type` holds none of them. */
export function otherTypeFieldNames(type: ProjectType): ReadonlyArray<(typeof schoolOnly)[number] | (typeof selfStudyOnly)[number]> {
  return type === 'school' ? selfStudyOnly : schoolOnly;
}

/**
 * The fields of the other project type that `value` sets (null clears, so it is allowed), each
 * with a message naming the field and the type (`subject`: how the message names it).
 */
export function otherTypeFields(value: Record<string, unknown>, type: ProjectType, subject: string = type): Array<{ path: string; message: string }> {
  const foreign = otherTypeFieldNames(type);
  const owner = type === 'school' ? 'self_study' : 'school';
  return foreign
    .filter((field) => value[field] !== undefined && value[field] !== null)
    .map((field) => ({ path: field, message: `${field} belongs to ${owner} projects, not ${subject}` }));
}

/**
 * Rejects fields of the other project type, so a typo in the type cannot hide data. A PATCH
 * without `project_type` cannot be checked here: its fields are checked against the project's
 * stored type when it is applied (projects-store.ts `updateProject`).
 */
function checkTypeFields(value: Record<string, unknown>, context: z.core.$RefinementCtx): void {
  const type = value.project_type as ProjectType | undefined;
  if (type === undefined) return;
  for (const issue of otherTypeFields(value, type)) context.addIssue({ code: 'custom', path: [issue.path], message: issue.message });
}

export const projectCreate = z.object(projectFields).strict().superRefine(checkTypeFields);
export type ProjectCreate = z.infer<typeof projectCreate>;

/** PATCH body: any subset; `files` and `important_dates`, when given, replace the whole list. */
export const projectUpdate = z.object({
  name: projectFields.name.optional(),
  project_type: projectFields.project_type.optional(),
  course_name: projectFields.course_name,
  course_code: projectFields.course_code,
  teacher: projectFields.teacher,
  goal_description: projectFields.goal_description,
  study_frequency: projectFields.study_frequency,
  is_draft: z.boolean().optional(),
  files: z.array(projectFileInput).max(50).optional(),
  important_dates: z.array(importantDateInput).max(100).optional(),
}).strict().superRefine(checkTypeFields);
export type ProjectUpdate = z.infer<typeof projectUpdate>;

// The tag rule (tags.ts) is the validator's too: lower-case words of letters (any script) and digits, joined by dashes.
export { tagPattern } from './tags.ts';

/** The value of the `ai_generated_metadata` row. */
export const aiMetadataValue = z.object({
  /** 3 to 10 from a model; the offline analyser stores fewer (at least one) for a project with too little text. */
  ai_generated_tags: z.array(z.string().regex(tagPattern).max(maxTagChars)).min(1).max(maxTags),
  content_summary: z.string().min(1).max(1000),
  difficulty_level: z.enum(difficultyLevels),
  /** The `provider:model` that actually answered, or `offline:extractive`. */
  model_used: z.string().min(1),
  /** The version of the prompt actually used (the offline analyser's own version offline). */
  prompt_version: z.string().min(1),
  generated_at: z.string(),
});
export type AiMetadataValue = z.infer<typeof aiMetadataValue>;

/**
 * What the model is asked to answer. Tags are lenient here (any short strings): the pipeline
 * normalises them to kebab-case (letters of any script kept, tags.ts) and de-duplicates before
 * checking the 3-10 rule, so "Machine Learning" and "machine-learning" count once instead of
 * failing the call.
 */
export const metadataAnswer = z.object({
  ai_generated_tags: z.array(z.string().min(1).max(80)).min(1).max(20)
    .describe('3 to 10 short topic tags, lower-case kebab-case (e.g. "machine-learning", "python").'),
  // Trimmed first: "           ." is as short as "" (it passed, then failed for good, unrepaired).
  content_summary: z.string().trim().min(10).max(1000).describe('Two or three sentences on what the project covers.'),
  // Read in any case: "Advanced" failed every attempt, where tags are normalised leniently.
  difficulty_level: z.preprocess((value) => (typeof value === 'string' ? value.trim().toLowerCase() : value), z.enum(difficultyLevels)).describe('How demanding the material is for a learner.'),
});
export type MetadataAnswer = z.infer<typeof metadataAnswer>;

export const generateProjectMetaInput = z.object({
  project_id: z.uuid(),
  force: z.boolean().default(false).describe('Regenerate even when the project already has AI metadata.'),
  trigger: z.enum(['api', 'cli', 'content_change', 'backfill']).default('api'),
}).strict();
export type GenerateProjectMetaInput = z.infer<typeof generateProjectMetaInput>;

export const followUpProjectMetaInput = z.object({
  project_id: z.uuid(),
  after_task_id: z.uuid().optional().describe('The generation whose activity refused the edit\'s own regeneration; absent when it ended before the refusal could name it.'),
}).strict();
export type FollowUpProjectMetaInput = z.infer<typeof followUpProjectMetaInput>;

export const generateMissingMetadataInput = z.object({
  batch_size: z.number().int().min(1).max(100).default(10).describe('Projects per batch (seed: 10).'),
  min_age_minutes: z.number().int().min(0).max(10_080).default(60).describe('Only projects older than this (seed: an hour).'),
  all_tenants: z.boolean().default(false).describe('Every tenant\'s projects (the schedules do this); only the operator tenant `default` may ask for it. Otherwise the submitting tenant\'s projects.'),
}).strict();
export type GenerateMissingMetadataInput = z.infer<typeof generateMissingMetadataInput>;

export const cleanupOldMetadataInput = z.object({
  draft_age_days: z.number().int().min(0).max(3650).default(7).describe('AI metadata of draft projects older than this is removed (seed: 7 days).'),
  all_tenants: z.boolean().default(false).describe('Every tenant\'s projects (the schedule does this); only the operator tenant `default` may ask for it.'),
}).strict();
export type CleanupOldMetadataInput = z.infer<typeof cleanupOldMetadataInput>;

export const settingsUpdate = z.object({
  show_ai_meta: z.boolean().optional().describe('SHOW_AI_META: show AI tags in the dashboard.'),
  regenerate_on_change: z.boolean().optional().describe('Regenerate AI metadata (debounced) when a project\'s content changes.'),
}).strict();
export type SettingsUpdate = z.infer<typeof settingsUpdate>;

/**
 * The AI value's fields a project's `meta` also carries at its top level: the seed's frontend
 * reads `project.meta?.ai_generated_tags` (its ProjectMeta is the AI value itself).
 */
export const seedMetaFields = ['ai_generated_tags', 'content_summary', 'difficulty_level', 'model_used', 'prompt_version', 'generated_at'] as const;

/** A user's own project_meta key: anything but the pipeline's key and the seed's fields beside it. */
export const userMetaKey = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : -')
  .refine((key) => key !== aiMetadataKey, { message: `${aiMetadataKey} is written only by the pipeline` })
  .refine((key) => !(seedMetaFields as readonly string[]).includes(key), { message: `${seedMetaFields.join(', ')} are the AI metadata's fields in a project's meta (the seed's shape); choose another key` });
