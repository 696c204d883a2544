/**
 * The events the learning jobs append (besides the engine's task_* events), with their payloads.
 * Every one commits with the step whose work it reports, so the live log never shows a word
 * that was not stored.
 */
import { z } from 'zod';

const counts = {
  status: z.enum(['completed', 'cancelled']),
  mode: z.enum(['quick', 'deep', 'big']),
  total_tokens: z.number().int(),
  rounds: z.number().int(),
  words_proposed: z.number().int(),
  words_queued: z.number().int(),
  words_failed: z.number().int(),
  entries_deepened: z.number().int(),
  past_deadline_ms: z.number().int(),
  stopped_because: z.enum(['deadline', 'nothing_left_to_learn']).optional().describe('Big jobs: why it stopped (rounds in a row that found only known words end it early)'),
};

export const learningEvents = {
  learning_started: z.object({
    mode: z.enum(['quick', 'deep', 'big']),
    source: z.string().describe('wordnet-3.1 or the research model'),
    budget_ms: z.number().int().optional(),
    deadline_at: z.string().optional(),
    words_per_round: z.number().int().optional(),
    words_learned_per_round: z.number().int().optional(),
    queued_words: z.number().int().optional(),
  }),
  round_proposed: z.object({ round: z.number().int(), proposed: z.number().int(), distinct_words: z.number().int(), source: z.string() }),
  words_learned: z.object({
    round: z.number().int().optional(),
    learned: z.string().describe('The learned words, comma-separated (for one-line logs)'),
    learned_count: z.number().int(),
    words: z.array(z.object({ word: z.string(), category: z.string().nullable(), source: z.string() })),
    not_learned: z.array(z.object({ word: z.string(), reason: z.string() })),
  }),
  entries_deepened: z.object({ words: z.array(z.string()), not_deepened: z.array(z.object({ word: z.string(), reason: z.string() })) }),
  learning_completed: z.object(counts),
  learning_cancelled: z.object(counts),
} as const;
