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

/** Knowledge a research source hands back for one word, checked before it is stored. */
export const solidifiedEntry = z.object({
  definition: z.string().trim().min(10).max(1500),
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
    words: z.array(z.string().min(1).max(80)).min(1).max(Math.ceil(count * 1.5)).describe(`About ${count} distinct English words, one word or short compound each.`),
  });
}

/**
 * The research model's answer for a batch: one property per requested word (so an answer can
 * never attach a definition to the wrong word), null when the model cannot define it honestly.
 * The entry schema is loose here and strict (`solidifiedEntry`) per word afterwards, so one bad
 * entry costs that word, not the batch.
 */
export function researchAnswer(words: readonly string[]) {
  const entry = z.object({
    definition: z.string().describe('A 2-3 sentence definition in plain English, synthesised from what you found.'),
    related_concepts: z.array(z.string()).describe('Up to 5 related concepts: synonyms, broader terms, closely related ideas.'),
    examples: z.array(z.string()).describe('2 example sentences using the word.'),
    category: z.string().describe('A category such as noun.animal, verb.motion, adj.all, or a subject area.'),
    sources: z.array(z.string()).describe('URLs of the sources you used (may be empty).'),
  }).nullable();
  return z.object(Object.fromEntries(words.map((word) => [word, entry])));
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
