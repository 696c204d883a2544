/**
 * The content pipeline's vocabulary (seed 002): plans, the content status, the job types and
 * their inputs, and the shapes the models are asked for. One schema both validates what a model
 * answered and types the rows stored from it.
 */
import { z } from 'zod';

export const plans = ['free', 'pro', 'ultimate'] as const;

/** A new company (`POST /api/v1/content/companies`, `taskloom content companies create`). */
export const companyCreate = z.object({ name: z.string().trim().min(1).max(200), website: z.url().max(500).nullable().optional(), plan: z.enum(plans).default('free') }).strict();
export type Plan = (typeof plans)[number];

/** Plans that include images (the seed's pipeline: "Generate Images (Nanobana) [PRO+]"). */
export const imagePlans: readonly Plan[] = ['pro', 'ultimate'];

/** Active personas a plan allows (the issue: free 3, pro 6, ultimate 12). */
export const personaCaps: Record<Plan, number> = { free: 3, pro: 6, ultimate: 12 };

export const contentStatuses = ['draft', 'generating', 'pending_approval', 'approved', 'rejected', 'published', 'failed'] as const;
export type ContentStatus = (typeof contentStatuses)[number];

/** The 12 Jung archetypes (brand archetypes as marketers use them). */
export const archetypes = ['innocent', 'everyman', 'hero', 'caregiver', 'explorer', 'rebel', 'lover', 'creator', 'jester', 'sage', 'magician', 'ruler'] as const;
/** The 16 MBTI types. */
export const mbtiTypes = ['INTJ', 'INTP', 'ENTJ', 'ENTP', 'INFJ', 'INFP', 'ENFJ', 'ENFP', 'ISTJ', 'ISFJ', 'ESTJ', 'ESFJ', 'ISTP', 'ISFP', 'ESTP', 'ESFP'] as const;
export const vocabularyLevels = ['simple', 'professional', 'academic'] as const;
export const platforms = ['facebook', 'instagram', 'linkedin', 'twitter', 'tiktok'] as const;
export type Platform = (typeof platforms)[number];

// Defined with the pipeline's task types, which its definition lists without loading these schemas.
export { jobTypeNames, jobTypeOf, jobTypes, priorityQueue, taskTypeFor, type JobType } from './task-types.ts';

// ---- Job inputs -------------------------------------------------------------------------------

const companyId = z.uuid();
/** Personas a topics job names: each once (two of its steps would share one persona's key). */
const personaIdList = z.array(z.uuid()).min(1).max(12).refine((ids) => new Set(ids).size === ids.length, 'names a persona more than once');
export const dnaInput = z.object({ company_id: companyId }).strict();
export type DnaInput = z.infer<typeof dnaInput>;

/** Personas a generation writes unless asked for another number (the seed: six, of which 3-6 are selected). */
export const personaCount = 6;

export const personasInput = z.object({
  company_id: companyId,
  /** @default 6 (the seed: six personas, of which 3-6 are selected) */
  count: z.number().int().min(1).max(12).default(personaCount),
}).strict();
export type PersonasInput = z.infer<typeof personasInput>;

/**
 * The year a month falls in when a request names the month alone: this year's, unless that month
 * is already over (UTC), then next year's. Topics are planned for a month to come.
 */
export function yearOfComingMonth(month: number, now: Date = new Date()): number {
  return month < now.getUTCMonth() + 1 ? now.getUTCFullYear() + 1 : now.getUTCFullYear();
}

/**
 * generate_topics planning a month. The seed's call is `generate_topics(company, persona, month)`:
 * `persona_id` and a month alone are accepted and resolved when the job is asked for (into
 * `persona_ids` and `year`), so the stored input, which every attempt replays, never changes.
 */
export const monthTopicsInput = z.object({
  company_id: companyId,
  /** @default the month's coming occurrence: this year's, or next year's when it is over */
  year: z.number().int().min(2000).max(2100).optional(),
  month: z.number().int().min(1).max(12),
  /** Topics in the month, spread evenly over the personas. @default 8 */
  posts_count: z.number().int().min(1).max(60).default(8),
  /** @default the company's active (selected) personas */
  persona_ids: personaIdList.optional(),
  /** One persona, the seed's argument: the same as `persona_ids` with one id. @default none */
  persona_id: z.uuid().optional(),
  /**
   * Topics go straight to `pending_approval`. A content_pipeline run passes false: its topics stay
   * `draft` until the run opens their approval gates, so no decision can come before the gate.
   * @default true
   */
  submit_for_approval: z.boolean().default(true),
}).strict()
  .refine((input) => input.persona_id === undefined || input.persona_ids === undefined, { message: 'give persona_id (one persona) or persona_ids (several), not both', path: ['persona_id'] })
  .transform(({ persona_id: personaId, year, ...input }) => ({
    ...input,
    year: year ?? yearOfComingMonth(input.month),
    ...(personaId === undefined ? {} : { persona_ids: [personaId] }),
  }));

/**
 * generate_topics rewriting one rejected topic: the prompt quotes the supervisor's reason, the
 * topic's version goes up and it waits for approval again. What `reject` with `regenerate`
 * submits for a topic no content_pipeline run is waiting for.
 */
export const topicRegenerationInput = z.object({
  company_id: companyId,
  topic_id: z.uuid(),
  /** The supervisor's reason, quoted in the prompt. */
  rejection_reason: z.string().trim().min(1).max(4000),
  /**
   * The rejection this job answers (its `rejected_at`), set by `reject` with `regenerate`: the job
   * rewrites the row only while that rejection stands, and does nothing if it rolled back or a
   * person's newer decision replaced it. @default none (a job asked for by hand rewrites the row as it is)
   */
  rejected_at: z.iso.datetime().optional(),
}).strict();

export type TopicRegenerationInput = z.infer<typeof topicRegenerationInput>;

export const topicsInput = z.union([topicRegenerationInput, monthTopicsInput]);
export type TopicsInput = z.infer<typeof topicsInput>;

/**
 * The generate_topics shape a request body means (a rewrite names `topic_id`), so a refusal names
 * that shape's fields: the union answers only "Invalid input" when neither shape matches.
 */
export function topicsInputOf(body: unknown): typeof topicRegenerationInput | typeof monthTopicsInput {
  return typeof body === 'object' && body !== null && 'topic_id' in body ? topicRegenerationInput : monthTopicsInput;
}

export const blogpostInput = z.object({
  company_id: companyId,
  topic_id: z.uuid(),
  /** @default 1500 */
  min_words: z.number().int().min(100).max(10_000).default(1500),
  /** @default 2500 */
  max_words: z.number().int().min(150).max(12_000).default(2500),
  /** A supervisor's rejection the rewrite must address. @default none */
  rejection_reason: z.string().trim().min(1).max(4000).optional(),
  /**
   * The rejection this job answers (its `rejected_at`), set by `reject` with `regenerate`: the job
   * rewrites the row only while that rejection stands, and does nothing if it rolled back or a
   * person's newer decision replaced it. @default none (a job asked for by hand rewrites the row as it is)
   */
  rejected_at: z.iso.datetime().optional(),
  /**
   * The version of the row the rejection left (the run's rewrite, and a rejection's own job): the
   * job writes only while the row is still `rejected` at that version, so a person who edited and
   * submitted it meanwhile wins and the job completes with `rewritten: false`. @default none
   */
  rejected_version: z.number().int().min(1).optional(),
  /** Also generate a featured image (needs an image provider). @default false */
  featured_image: z.boolean().default(false),
  /** As for generate_topics: false leaves the post `draft` for the run's gate. @default true */
  submit_for_approval: z.boolean().default(true),
}).strict().refine((input) => input.max_words >= input.min_words, { message: 'max_words must be at least min_words', path: ['max_words'] });
export type BlogpostInput = z.infer<typeof blogpostInput>;

export const socialInput = z.object({
  company_id: companyId,
  blog_post_id: z.uuid(),
  /** One child task per platform when several are named. @default all five */
  platforms: z.array(z.enum(platforms)).min(1).max(5).default([...platforms]),
  rejection_reason: z.string().trim().min(1).max(4000).optional(),
  /**
   * The rejection this job answers (its `rejected_at`), set by `reject` with `regenerate`: the job
   * rewrites the row only while that rejection stands, and does nothing if it rolled back or a
   * person's newer decision replaced it. @default none (a job asked for by hand rewrites the row as it is)
   */
  rejected_at: z.iso.datetime().optional(),
  /**
   * The version of the row the rejection left (the run's rewrite, and a rejection's own job): the
   * job writes only while the row is still `rejected` at that version, so a person who edited and
   * submitted it meanwhile wins and the job completes with `rewritten: false`. @default none
   */
  rejected_version: z.number().int().min(1).optional(),
}).strict();
export type SocialInput = z.infer<typeof socialInput>;

export const imageInput = z.object({
  company_id: companyId,
  target: z.enum(['blog_post', 'social_post']),
  target_id: z.uuid(),
  /** @default built from the post */
  prompt: z.string().trim().min(1).max(4000).optional(),
}).strict();
export type ImageInput = z.infer<typeof imageInput>;

export const pipelineInput = z.object({
  company_id: companyId,
  year: z.number().int().min(2000).max(2100),
  month: z.number().int().min(1).max(12),
  posts_count: z.number().int().min(1).max(60).default(8),
  /** Personas to use; without them the run waits for a selection (`POST personas/select/`). @default none */
  // Each once: a repeat is dropped (the selection takes each persona once; a run stored before
  // the topics jobs refused repeats replays with the same input).
  persona_ids: z.array(z.uuid()).min(1).max(12).transform((ids) => [...new Set(ids)]).optional(),
  /** Select the first personas the plan allows instead of waiting for a selection. @default false */
  auto_select_personas: z.boolean().default(false),
  /** Approve every topic and post as it is submitted (benchmarks, trusted tenants). @default false */
  auto_approve: z.boolean().default(false),
  platforms: z.array(z.enum(platforms)).min(1).max(5).default([...platforms]),
  min_words: z.number().int().min(100).max(10_000).default(1500),
  max_words: z.number().int().min(150).max(12_000).default(2500),
  /** Reuse the company's DNA and personas when they exist. @default true */
  reuse_existing: z.boolean().default(true),
  /**
   * How long each gate phase waits for its decisions, from when it opens. Then the topic and the
   * blog post approvals go on with what was approved (their undecided rows stay
   * `pending_approval`, and a decision on one later is one no run waits for), while the persona
   * selection fails the run with `approval_timed_out` (nothing was selected to go on with).
   * @default 30 days
   */
  approval_timeout_hours: z.number().int().min(1).max(24 * 365).default(24 * 30),
}).strict().refine((input) => input.max_words >= input.min_words, { message: 'max_words must be at least min_words', path: ['max_words'] });
export type PipelineInput = z.infer<typeof pipelineInput>;

// ---- What the models are asked for ------------------------------------------------------------

export const notFound = 'Not found';
const researched = z.string().describe(`The researched fact, or exactly "${notFound}" when research found nothing. Never guess.`);
const researchedList = z.array(z.string()).describe('Researched entries; an empty list when research found nothing. Never guess.');
const toneScale = z.number().int().min(0).max(100).nullable().describe('0-100 from what the company publishes; null when there is nothing to judge from.');

/** The seed's 30+ DNA data points. */
export const companyDna = z.object({
  company_name: researched,
  description: researched,
  mission: researched,
  vision: researched,
  values: researchedList,
  history: researched,
  founded_year: researched,
  headquarters: researched,
  company_size: researched,
  industry: researched,
  sub_industries: researchedList,
  products_services: researchedList,
  usp: researched,
  pricing_model: researched,
  target_audience: researched,
  audience_demographics: researched,
  audience_pain_points: researchedList,
  audience_desires: researchedList,
  customer_segments: researchedList,
  brand_personality: researchedList,
  brand_voice: researched,
  tone_formal_casual: toneScale,
  tone_serious_playful: toneScale,
  content_themes: researchedList,
  keywords: researchedList,
  competitors: researchedList,
  competitive_advantages: researchedList,
  market_position: researched,
  geographic_markets: researchedList,
  social_media_presence: researchedList,
  key_people: researchedList,
  achievements: researchedList,
  partnerships: researchedList,
  content_do: researchedList,
  content_dont: researchedList,
});
export type CompanyDna = z.infer<typeof companyDna>;

export const dnaAnswer = z.object({
  dna: companyDna,
  sources: z.array(z.object({ field: z.string(), url: z.string(), title: z.string() })).max(40).describe('Where each fact came from, when known.'),
});

export const generatedPersona = z.object({
  name: z.string().min(1).max(120),
  bio: z.string().min(1).max(2000),
  archetype: z.enum(archetypes),
  mbti: z.enum(mbtiTypes),
  values: z.array(z.string().min(1).max(200)).min(3).max(5),
  frustrations: z.array(z.string().min(1).max(300)).min(1).max(8),
  expertise_topics: z.array(z.string().min(1).max(200)).min(3).max(5),
  vocabulary_level: z.enum(vocabularyLevels),
});
export type GeneratedPersona = z.infer<typeof generatedPersona>;

export const generatedTopic = z.object({
  title: z.string().min(1).max(200),
  description: z.string().min(1).max(2000),
  keywords: z.array(z.string().min(1).max(80)).min(1).max(10),
  week_number: z.number().int().min(1).max(5),
});
export type GeneratedTopic = z.infer<typeof generatedTopic>;

export const outlineAnswer = z.object({
  title: z.string().min(1).max(200),
  sections: z.array(z.object({ heading: z.string().min(1).max(200), points: z.array(z.string().min(1).max(300)).min(1).max(6) })).min(3).max(12),
  excerpt: z.string().min(1).max(500),
  meta_title: z.string().min(1).max(60),
  meta_description: z.string().min(1).max(160),
  keywords: z.array(z.string().min(1).max(80)).min(3).max(10),
});
export type Outline = z.infer<typeof outlineAnswer>;

/**
 * One schema object per count or length, made on first use. The LLM gateway converts a schema to
 * JSON Schema once per object, and zod compiles its checks at the object's first parse: a schema
 * built afresh for every call paid both each time (0.6-1 ms per personas or topics call, warm;
 * 4-6 ms the first time in a process), before the request left and after its answer came.
 */
function onePerCount<Schema>(make: (count: number) => Schema): (count: number) => Schema {
  const made = new Map<number, Schema>();
  return (count) => {
    let schema = made.get(count);
    if (!schema) {
      schema = make(count);
      made.set(count, schema);
    }
    return schema;
  };
}

/** A section's body, bounded in characters so that it lands near its share of the words. */
export const sectionAnswer = onePerCount((targetWords) => z.object({ body: z.string().min(targetWords * 6).max(targetWords * 9).describe(`Markdown paragraphs, about ${targetWords} words, no heading.`) }));

/** The personas step's answer: exactly `count` personas. */
export const personasAnswer = onePerCount((count) => z.object({ personas: z.array(generatedPersona).min(count).max(count) }));

/** A persona's topics for the month: exactly one per week planned for it. */
export const topicsAnswer = onePerCount((count) => z.object({ topics: z.array(generatedTopic).min(count).max(count) }));
