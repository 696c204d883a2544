/**
 * The learning pipeline's shapes: task inputs, the job document of the seed's API, knowledge as
 * stored and shown, and the structured answers asked of research models. One zod schema per shape
 * drives validation and types; knowledge is validated against `solidifiedEntry` before any write,
 * whatever source produced it.
 */
import { z } from 'zod';
import { maxBudgetSeconds } from './limits.ts';

// Defined with the pipeline's task types, which its definition lists without loading these schemas.
export { bigLearningTaskType, learningTaskType } from './task-types.ts';

export const learningModes = ['quick', 'deep'] as const;
export type LearningMode = (typeof learningModes)[number];
export type JobMode = LearningMode | 'big';

/** `learning_job` input: the seed's `{mode}`. */
export const learningJobInput = z.object({
  mode: z.enum(learningModes).describe('quick: the first few unknown words; deep: every unknown word, then deepen up to 5 entries.'),
}).strict();
export type LearningJobInput = z.infer<typeof learningJobInput>;

// The one limit of every learning budget, shared with the configuration (limits.ts).
export { maxBudgetSeconds };

/** `big_learning_job` input; every field falls back to its TASKLOOM_LEARNING_* setting. */
export const bigLearningJobInput = z.object({
  budget_seconds: z.number().int().min(1)
    .max(maxBudgetSeconds, `at most ${maxBudgetSeconds} seconds (one hour): a longer job would outlive the task's hard timeout`)
    .optional().describe(`Wall-clock budget from the first start, at most ${maxBudgetSeconds} s (default TASKLOOM_LEARNING_BUDGET_SECONDS, 600).`),
  words_per_round: z.number().int().min(1).max(5000).optional().describe('Words one round asks for (default TASKLOOM_LEARNING_WORDS_PER_ROUND, 1000).'),
  words_learned_per_round: z.number().int().min(1).max(5000).optional().describe('Queued words one round learns at most (default TASKLOOM_LEARNING_WORDS_LEARNED_PER_ROUND, 200).'),
}).strict();
export type BigLearningJobInput = z.infer<typeof bigLearningJobInput>;

/**
 * Phrases in which a model talks about itself or apologises instead of defining: the seed stored
 * such answers as knowledge ("I am having trouble accessing my knowledge base"), and a model may
 * still write one into an entry whatever its instructions say. First person and the model's own
 * workings only, so a definition may still be about apologies or knowledge bases ("lost": "unable
 * to find one's way"); quoted text is left out, as a definition may quote a usage ("I'm sorry").
 */
const modelTalk: readonly RegExp[] = [
  /\b(?:I am|I'm|I was) (?:sorry|afraid|unable|not able|having (?:trouble|difficulty|issues)|an? (?:AI|language model|assistant))\b/i,
  /\bI (?:cannot|can't|can not|could not|couldn't|do not|don't|did not|didn't) (?:find|access|locate|retrieve|provide|define|verify|help|answer|determine|research)\b/i,
  /\bI apologi[sz]e\b/i,
  /\b(?:my|our) apologies\b/i,
  /\b(?:sorry|unfortunately),? (?:but )?I\b/i,
  // "As an AI language model, I ..."; not "acts as an assistant to a witch" (WordNet's "familiar").
  /\bas an? (?:AI|artificial intelligence|(?:large )?language model|LLM)(?: (?:language )?model| assistant)?,? I\b/i,
  /\bmy (?:knowledge base|knowledge cut-?off|training data|sources|database|search results|capabilities)\b/i,
  /\b(?:unable to|could not|couldn't|cannot|can't) (?:find|locate|retrieve|access) (?:any |reliable |relevant |enough )?(?:information|a definition|definitions|details|sources|results|data)\b/i,
];

/** The phrase of `text` in which a model talks about itself or apologises, if any. */
export function modelTalkIn(text: string): string | undefined {
  const unquoted = text.replace(/"[^"]*"|\u201c[^\u201d]*\u201d/g, ' ');
  for (const pattern of modelTalk) {
    const found = pattern.exec(unquoted);
    if (found) return found[0];
  }
  return undefined;
}

/** Knowledge a research source hands back for one word, checked before it is stored. */
export const solidifiedEntry = z.object({
  definition: z.string().trim().min(10).max(1500).superRefine((text, context) => {
    const talk = modelTalkIn(text);
    if (talk !== undefined) context.addIssue({ code: 'custom', message: `reads as the model talking about itself or apologising ("${talk}"), not as a definition` });
  }),
  related_concepts: z.array(z.string().trim().min(1).max(100)).max(5),
  examples: z.array(z.string().trim().min(3).max(500)).max(2),
  category: z.string().trim().min(1).max(60).nullable(),
});
export type SolidifiedEntry = z.infer<typeof solidifiedEntry>;

/** What deep mode adds to a solidified entry. */
export const deepenedEntry = z.object({
  expanded_definition: z.string().trim().min(20).max(5000),
  applications: z.array(z.string().trim().min(3).max(600)).min(1).max(5),
  misconceptions: z.array(z.string().trim().min(3).max(600)).max(5),
});
export type DeepenedEntry = z.infer<typeof deepenedEntry>;

/** The research model's answer to "propose N words". */
export function proposalAnswer(count: number) {
  return z.object({
    // No maximum: a model answering more than asked would fail the whole call (and its retries)
    // for it; the round keeps what it asked for plus slack instead (proposeStep).
    words: z.array(z.string().min(1).max(80)).min(1).describe(`About ${count} distinct English words, one word or short compound each.`),
  });
}

/**
 * One word's entry in the research model's answer, as it is accepted: lists the model leaves out
 * are empty and the category may be null. The strict check (`solidifiedEntry`) follows per word.
 */
export const researchEntryAnswer = z.object({
  definition: z.string().describe('A 2-3 sentence definition in plain English, synthesised from what you found.'),
  related_concepts: z.array(z.string()).default([]).describe('Up to 5 related concepts: synonyms, broader terms, closely related ideas.'),
  examples: z.array(z.string()).default([]).describe('2 example sentences using the word.'),
  category: z.string().nullable().default(null).describe('A category such as noun.animal, verb.motion, adj.all, or a subject area.'),
  sources: z.array(z.string()).default([]).describe('URLs of the sources you used (may be empty).'),
});

/**
 * What the model is asked for per word: every field (structured output's strict mode wants every
 * property required), or null.
 */
const researchEntryRequested = z.object({
  definition: researchEntryAnswer.shape.definition,
  related_concepts: z.array(z.string()).describe(researchEntryAnswer.shape.related_concepts.description ?? ''),
  examples: z.array(z.string()).describe(researchEntryAnswer.shape.examples.description ?? ''),
  category: z.string().nullable().describe(researchEntryAnswer.shape.category.description ?? ''),
  sources: z.array(z.string()).describe(researchEntryAnswer.shape.sources.description ?? ''),
}).nullable();

/**
 * The research model's answer for a batch: one property per requested word (so an answer can
 * never attach a definition to the wrong word), null when the model cannot define it honestly.
 *
 * The model is shown that shape (the JSON Schema of every word's property, all required), but the
 * answer is accepted as any object: a word left out, or an entry of the wrong shape, would
 * otherwise fail the whole answer (the gateway asks for a repair, then fails the call, and the
 * batch with it). Each word's entry is checked on its own afterwards (`researchEntryAnswer`, then
 * `solidifiedEntry`, in llm-source.ts), so one missing or bad entry costs that word, not the batch.
 * zod merges a schema's metadata into its JSON Schema, which is how the shown shape is attached.
 */
export function researchAnswer(words: readonly string[]) {
  const requested = z.object(Object.fromEntries(words.map((word) => [word, researchEntryRequested])));
  return z.looseObject({}).meta({ ...jsonSchemaOf(requested), additionalProperties: false });
}

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  // As the AI SDK converts output schemas (draft 7, input side); `$schema` belongs to the root, which the SDK writes.
  const { $schema: _root, ...definition } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return definition;
}

/** The research model's answer when deepening a batch of entries (same keying as researchAnswer). */
export function deepenAnswer(words: readonly string[]) {
  const entry = z.object({
    expanded_definition: z.string().describe('A fuller explanation: a paragraph of 4-8 sentences.'),
    applications: z.array(z.string()).describe('Up to 5 ways or contexts in which the word or concept is used.'),
    misconceptions: z.array(z.string()).describe('Up to 5 common misunderstandings or confusions, each with the correction.'),
  }).nullable();
  return z.object(Object.fromEntries(words.map((word) => [word, entry])));
}

/** A known word with its knowledge, as `GET /knowledge` shows it. */
export interface KnowledgeEntry {
  word: string;
  normalised: string;
  explanation: string;
  definition: string | null;
  related_concepts: string[];
  examples: string[];
  category: string | null;
  source: string;
  references: string[];
  expanded_definition: string | null;
  applications: string[] | null;
  misconceptions: string[] | null;
  learned_at: string;
  deepened_at: string | null;
  job_id: string | null;
}

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** One error of a job as its document shows it (the most recent few are kept). */
export interface JobError {
  code: string;
  message: string;
  at: string;
  words?: string[];
}

/** The seed's job document: `GET /jobs/{id}` and every WebSocket message. */
export interface JobDocument {
  job_id: string;
  status: JobStatus;
  mode: JobMode;
  progress: number;
  total_tokens: number;
  last_round: number;
  created_at: string;
  errors: JobError[];
  words_proposed: number;
  words_queued: number;
  words_failed: number;
  entries_deepened: number;
  deadline_at: string | null;
  finished_at: string | null;
}

/** What both task types return (and the cancelled result keeps). */
export interface LearningResult {
  status: 'completed' | 'cancelled';
  mode: JobMode;
  total_tokens: number;
  rounds: number;
  words_proposed: number;
  words_queued: number;
  words_failed: number;
  entries_deepened: number;
  /** Milliseconds past the deadline the job finished its last step (0 when it ended before). */
  past_deadline_ms: number;
}
