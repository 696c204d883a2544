/**
 * The learning pipeline's shapes: task inputs, the job document of the seed's API, knowledge as
 * stored and shown, and the structured answers asked of research models. One zod schema per shape
 * drives validation and types; knowledge is validated against `solidifiedEntry` (a deepening
 * against `deepenedEntry`) before any write, whatever source produced it.
 */
import { z } from 'zod';
// The model-talk detector is shared with smart metadata; it lives with the LLM layer.
import { modelTalkIn } from '../../llm/model-talk.ts';
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

/** `text`, refused when it reads as the model talking about itself (modelTalkIn) rather than as `what` it should be. */
function withoutModelTalk(text: z.ZodString, what: string): z.ZodString {
  return text.superRefine((value, context) => {
    const talk = modelTalkIn(value);
    if (talk !== undefined) context.addIssue({ code: 'custom', message: `reads as the model talking about itself or apologising ("${talk}"), not as ${what}` });
  });
}

/** Knowledge a research source hands back for one word, checked before it is stored. */
export const solidifiedEntry = z.object({
  definition: withoutModelTalk(z.string().trim().min(10).max(1500), 'a definition'),
  related_concepts: z.array(z.string().trim().min(1).max(100)).max(5),
  examples: z.array(z.string().trim().min(3).max(500)).max(2),
  category: z.string().trim().min(1).max(60).nullable(),
});
export type SolidifiedEntry = z.infer<typeof solidifiedEntry>;

/**
 * What deep mode adds to a solidified entry. Its explanations (the expanded definition and the
 * misconceptions) are checked for the model talking about itself, as a definition is. The
 * applications are not, as examples are not: they are usage sentences, which may well be in the
 * first person (10 of WordNet's 48,571 example sentences read as model talk: "I'm afraid you're
 * wrong", "I cannot find my gloves!"), and an answer that apologises does so in its explanation.
 */
export const deepenedEntry = z.object({
  expanded_definition: withoutModelTalk(z.string().trim().min(20).max(5000), 'an explanation'),
  applications: z.array(z.string().trim().min(3).max(600)).min(1).max(5),
  misconceptions: z.array(withoutModelTalk(z.string().trim().min(3).max(600), 'a misconception')).max(5),
});
export type DeepenedEntry = z.infer<typeof deepenedEntry>;

/** The research model's answer to "propose N words". */
export function proposalAnswer(count: number) {
  return z.object({
    // No maximum, and any strings: a model answering more than asked, or one blank or over-long
    // item, would fail the whole call (and its retries) for it. The round keeps what it asked for
    // plus slack (proposeStep), and drops what is not a learnable word (distinctLearnableWords).
    words: z.array(z.string()).min(1).describe(`About ${count} distinct English words, one word or short compound each.`),
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
 * One word's entry in the deepening answer, as it is accepted: lists the model leaves out are
 * empty. The strict check (`deepenedEntry`) follows per word.
 */
export const deepenEntryAnswer = z.object({
  expanded_definition: z.string().describe('A fuller explanation: a paragraph of 4-8 sentences.'),
  applications: z.array(z.string()).default([]).describe('Up to 5 ways or contexts in which the word or concept is used.'),
  misconceptions: z.array(z.string()).default([]).describe('Up to 5 common misunderstandings or confusions, each with the correction.'),
});

/**
 * How one word's entry of a keyed answer is read: accepted as `answered`, then, with its caps
 * applied by `toStored`, checked against `stored`, the shape it is kept in.
 */
export interface AnswerEntryShape<Answered, Stored> {
  answered: z.ZodType<Answered>;
  toStored: (entry: Answered) => unknown;
  stored: z.ZodType<Stored>;
  /** What the model was asked to do with the word, as the reasons say it (`define`). */
  task: string;
  /** The stored shape, as the reasons name it (`knowledge`). */
  storedName: string;
}

/**
 * The items of an answer's secondary list that can be kept: trimmed, without the blank ones and
 * those outside the stored length, at most `cap`. One such item would otherwise refuse the whole
 * entry (a trailing "" among related concepts cost the word its valid definition); the items are
 * extras, and "up to 5" is a cap, so a model giving more is trimmed, not refused. With
 * `dropModelTalk` (related concepts) an item in which the model talks about itself is dropped
 * too. Examples and applications are usage sentences, which may be in the first person, so they
 * are not; misconceptions are explanations, and the stored shape refuses the entry for one.
 */
function keptItems(items: readonly string[], length: { min: number; max: number }, cap: number, options: { dropModelTalk?: boolean } = {}): string[] {
  return items
    .map((item) => item.trim())
    .filter((item) => item.length >= length.min && item.length <= length.max && !(options.dropModelTalk && modelTalkIn(item) !== undefined))
    .slice(0, cap);
}

/**
 * A category the stored shape takes: trimmed, null when blank, longer than 60 characters (a
 * sentence, not a category) or the model talking about itself ("I am unable to categorise this").
 */
function keptCategory(category: string | null): string | null {
  const trimmed = category?.trim() ?? '';
  return trimmed.length === 0 || trimmed.length > 60 || modelTalkIn(trimmed) !== undefined ? null : trimmed;
}

export const researchEntryShape: AnswerEntryShape<z.infer<typeof researchEntryAnswer>, SolidifiedEntry> = {
  answered: researchEntryAnswer,
  toStored: (entry) => ({ definition: entry.definition, related_concepts: keptItems(entry.related_concepts, { min: 1, max: 100 }, 5, { dropModelTalk: true }), examples: keptItems(entry.examples, { min: 3, max: 500 }, 2), category: keptCategory(entry.category) }),
  stored: solidifiedEntry,
  task: 'define',
  storedName: 'knowledge',
};

export const deepenEntryShape: AnswerEntryShape<z.infer<typeof deepenEntryAnswer>, DeepenedEntry> = {
  answered: deepenEntryAnswer,
  // As for research (keptItems); an entry left with no application is still refused.
  toStored: (entry) => ({ expanded_definition: entry.expanded_definition, applications: keptItems(entry.applications, { min: 3, max: 600 }, 5), misconceptions: keptItems(entry.misconceptions, { min: 3, max: 600 }, 5) }),
  stored: deepenedEntry,
  task: 'deepen',
  storedName: 'deepening',
};

/**
 * One word's entry of a keyed answer, checked on its own: the entry, or why the word gets none
 * (`reason` reads after the model's name: "openai:gpt-4o left it out of its answer"). `declined`
 * is the model answering null, as it is told to when it cannot answer honestly; `left-out` and
 * `malformed` do not fit the answer's shape; `refused` fits it but not the stored shape.
 */
export type AnswerEntry<Answered, Stored> =
  | { kind: 'entry'; answered: Answered; entry: Stored }
  | { kind: 'declined' | 'left-out' | 'malformed' | 'refused'; reason: string };

export function checkAnswerEntry<Answered, Stored>(answer: Readonly<Record<string, unknown>>, word: string, shape: AnswerEntryShape<Answered, Stored>): AnswerEntry<Answered, Stored> {
  const raw = Object.hasOwn(answer, word) ? answer[word] : undefined;
  if (raw === null) return { kind: 'declined', reason: `could not ${shape.task} it` };
  if (raw === undefined) return { kind: 'left-out', reason: 'left it out of its answer' };
  const answered = shape.answered.safeParse(raw);
  if (!answered.success) return { kind: 'malformed', reason: `answered an entry that does not fit the answer's schema: ${issuesOf(answered.error)}` };
  const entry = shape.stored.safeParse(shape.toStored(answered.data));
  if (!entry.success) return { kind: 'refused', reason: `answered an entry that does not fit the ${shape.storedName} schema: ${issuesOf(entry.error)}` };
  return { kind: 'entry', answered: answered.data, entry: entry.data };
}

function issuesOf(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || 'entry'}: ${issue.message}`).join('; ').slice(0, 300);
}

/**
 * A keyed answer: one property per requested word (so an answer can never attach an entry to the
 * wrong word), null when the model cannot answer for it honestly.
 *
 * The model is shown that shape (the JSON Schema of every word's property, all required), but the
 * answer is accepted as any object (`check` aside): a word left out, or an entry of the wrong
 * shape, would otherwise fail the whole answer (the gateway asks for a repair, then fails the
 * call, and the step with it). Each word's entry is checked on its own afterwards
 * (`checkAnswerEntry`, in llm-source.ts), so one missing or bad entry costs that word, not the
 * call. zod merges a schema's metadata into its JSON Schema, which is how the shown shape is attached.
 */
function keyedAnswer(words: readonly string[], answered: z.ZodObject<Record<string, z.ZodType>>, check?: (answer: Record<string, unknown>, context: z.RefinementCtx) => void) {
  const entry = requestedEntry(answered);
  const requested = z.object(Object.fromEntries(words.map((word) => [word, entry])));
  const accepted = z.looseObject({});
  return (check ? accepted.superRefine(check) : accepted).meta({ ...jsonSchemaOf(requested), additionalProperties: false });
}

/**
 * What the model is asked for per word: every field of the accepted entry (structured output's
 * strict mode wants every property required, so the defaults are left out), or null.
 */
function requestedEntry(answered: z.ZodObject<Record<string, z.ZodType>>) {
  const fields = Object.entries(answered.shape).map(([name, field]) => [name, field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType).describe(field.description ?? '') : field]);
  return z.object(Object.fromEntries(fields)).nullable();
}

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  // As the AI SDK converts output schemas (draft 7, input side); `$schema` belongs to the root, which the SDK writes.
  const { $schema: _root, ...definition } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return definition;
}

/** The research model's answer for a batch of words (keyedAnswer, entries read by `researchEntryShape`). */
export function researchAnswer(words: readonly string[]) {
  return keyedAnswer(words, researchEntryAnswer);
}

/**
 * The research model's answer when deepening entries (keyedAnswer, entries read by
 * `deepenEntryShape`). An answer in which no entry fits its shape (every one left out or
 * malformed; null is an answer) is refused as a whole, as such an answer always was: that is the
 * call failing, not the entries, so the gateway asks for a repair and tries its fallback models,
 * and a call that still fails fails the attempt, which the engine retries. Charging it to the
 * entries instead would put all of a deep run's entries behind the others for the model's fault.
 */
export function deepenAnswer(words: readonly string[]) {
  return keyedAnswer(words, deepenEntryAnswer, (answer, context) => {
    const unfit: Array<{ word: string; reason: string }> = [];
    for (const word of words) {
      const entry = checkAnswerEntry(answer, word, deepenEntryShape);
      if (entry.kind !== 'left-out' && entry.kind !== 'malformed') return;
      unfit.push({ word, reason: entry.reason });
    }
    // Each word's issue under its key: the call's error says what did not fit, word by word.
    for (const { word, reason } of unfit) context.addIssue({ code: 'custom', path: [word], message: reason });
  });
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
  /**
   * Why a completed big job stopped: its `deadline`, or `nothing_left_to_learn` (rounds in a row
   * proposed only words the tenant knows). Absent for quick and deep jobs, which stop when their
   * words are done.
   */
  stopped_because?: 'deadline' | 'nothing_left_to_learn';
}
