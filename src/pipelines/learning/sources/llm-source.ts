/**
 * The research model as a source, through the LLM gateway with purpose `research`
 * (TASKLOOM_LLM_RESEARCH_MODEL, else the gateway's research default: provider-registry.ts).
 *
 * One call per batch researches, defines and enriches several words at once: with 10 words a
 * batch and one 1,000-word proposal per 200 learned words, a word costs 0.105 calls. The answer
 * has one property per requested word, so a definition cannot land on the wrong word, and each
 * entry is validated on its own: a bad entry costs that word (it stays queued), not the batch.
 * A deepening's answer is read the same way: a bad entry costs that entry a deepening attempt.
 * Gateway failures (after its retries and fallbacks) become ResearchProviderError, as does an
 * answer only an offline fallback model (TASKLOOM_LLM_FALLBACK_MODELS) gave.
 */
import { isLlmError, refuseOfflineFallback, type LlmGateway } from '../../../llm/index.ts';
import { ResearchProviderError } from '../errors.ts';
import { checkAnswerEntry, deepenAnswer, deepenEntryShape, proposalAnswer, researchAnswer, researchEntryShape, type AnswerEntryShape } from '../schemas.ts';
import type { DeepenedWord, ResearchedWord, ResearchOptions, ResearchSource, UnresolvedWord, WordToLearn } from './research-source.ts';

const proposalInstructions = 'You build vocabulary lists for a learning system. Answer with JSON only: {"words": [...]}. Each entry is one real English word or a short established compound, lower case unless it is a proper noun. No numbers, no phrases, no duplicates, no explanations.';
const researchInstructions = 'You are a careful lexicographer with web search. For each requested word, research it and answer with facts you can support: a 2-3 sentence definition in plain English, up to 5 related concepts, 2 example sentences and a category (a WordNet lexicographer category such as noun.animal or verb.motion when it fits). List the URLs you relied on in `sources`. If you cannot define a word reliably, answer null for it: never answer with an apology, a placeholder or a message about your own state.';
const deepenInstructions = 'You are a careful lexicographer with web search. For each word, give a fuller explanation (4-8 sentences), up to 5 applications (where and how the word or concept is used) and up to 5 common misconceptions, each with its correction. Answer null for a word you cannot treat reliably; never answer with an apology or a placeholder.';

function isUrl(value: string): boolean {
  return /^https?:\/\/\S+$/i.test(value.trim());
}

/**
 * The requested words' entries of a keyed answer (schemas.ts), each checked on its own: the ones
 * that fit, and every other word as unresolved, with the reason its entry was not taken.
 */
function entriesOf<Word extends WordToLearn, Answered, Stored>(answer: { object: unknown; model: string }, words: readonly Word[], shape: AnswerEntryShape<Answered, Stored>): { fitting: Array<{ word: Word; answered: Answered; entry: Stored }>; unresolved: UnresolvedWord[] } {
  const fitting: Array<{ word: Word; answered: Answered; entry: Stored }> = [];
  const unresolved: UnresolvedWord[] = [];
  // The answer is any object (schemas.ts): each word's entry is checked here, on its own.
  const entries = answer.object as Record<string, unknown>;
  for (const word of words) {
    const checked = checkAnswerEntry(entries, word.normalised, shape);
    if (checked.kind === 'entry') fitting.push({ word, answered: checked.answered, entry: checked.entry });
    else unresolved.push({ word: word.word, normalised: word.normalised, reason: `${answer.model} ${checked.reason}` });
  }
  return { fitting, unresolved };
}

export interface LlmSourceOptions {
  llm: LlmGateway;
  /** Words per research call. @default 10 */
  batchSize?: number;
  /** Topic words offered to the model for a round's proposal, so rounds differ (WordNet's frequent lemmas). */
  topicHints?: (count: number) => Promise<string[]>;
  /** `provider:model`. @default the gateway's research model */
  model?: string;
}

export function createLlmSource(options: LlmSourceOptions): ResearchSource {
  const { llm } = options;
  const name = llm.resolveModel('research', options.model);
  const modelOption = options.model ? { model: options.model } : {};

  /** Calls the gateway; any failure but the task's own abort is a ResearchProviderError. */
  const call = async <T>(operation: 'propose' | 'research' | 'deepen', request: Parameters<LlmGateway['generateStructured']>[0] & { schema: import('zod').ZodType<T> }, researchOptions: ResearchOptions, words: readonly string[]) => {
    try {
      const answer = await llm.generateStructured<T>({ ...request, ...(researchOptions.onRetry ? { onRetry: (notice) => researchOptions.onRetry!(notice.reason) } : {}) });
      // Only an offline fallback answered: the provider failed, and template text built from the
      // prompt's words must not become knowledge.
      refuseOfflineFallback(answer, name, 'is not knowledge');
      return answer;
    } catch (error) {
      if (researchOptions.signal.aborted) throw researchOptions.signal.reason instanceof Error ? researchOptions.signal.reason : error;
      const details = { words: words.slice(0, 20), ...(isLlmError(error) ? { llm_code: error.code, provider: error.details.provider, model: error.details.model, status_code: error.details.statusCode } : {}) };
      throw new ResearchProviderError(name, operation, error instanceof Error ? error.message : String(error), { details, cause: error });
    }
  };

  return {
    kind: 'llm',
    name,
    batchSize: options.batchSize ?? 10,

    async proposeWords(request, researchOptions) {
      const hints = options.topicHints ? await options.topicHints(12) : [];
      const prompt = [
        `Round ${request.round}. Propose ${request.count} distinct English words worth learning: common and less common ones, across everyday life, science, arts, work and nature.`,
        hints.length > 0 ? `Start from the neighbourhood of these words (related words, not only these): ${hints.join(', ')}.` : '',
      ].filter(Boolean).join('\n');
      const answer = await call('propose', {
        purpose: 'research', ...modelOption, schema: proposalAnswer(request.count), instructions: proposalInstructions, prompt, signal: researchOptions.signal,
        context: { taskId: researchOptions.taskId, step: researchOptions.step },
      }, researchOptions, []);
      return { tokens: answer.object.words, source: answer.model, calls: 1 };
    },

    async research(words, researchOptions) {
      const keys = words.map((word) => word.normalised);
      const answer = await call('research', {
        purpose: 'research', ...modelOption, schema: researchAnswer(keys), instructions: researchInstructions,
        prompt: `Research these ${keys.length} words and answer with one entry per word, keyed by the word exactly as written:\n${keys.map((key) => `- ${key}`).join('\n')}`,
        signal: researchOptions.signal, context: { taskId: researchOptions.taskId, step: researchOptions.step },
      }, researchOptions, keys);
      const { fitting, unresolved } = entriesOf(answer, words, researchEntryShape);
      const learned: ResearchedWord[] = fitting.map(({ word, answered, entry }) => ({ ...entry, ...word, source: answer.model, references: answered.sources.filter(isUrl).slice(0, 10) }));
      return { learned, unresolved, calls: 1 };
    },

    async deepen(entries, researchOptions) {
      const keys = entries.map((entry) => entry.normalised);
      const answer = await call('deepen', {
        purpose: 'research', ...modelOption, schema: deepenAnswer(keys), instructions: deepenInstructions,
        prompt: `Deepen the knowledge of these ${keys.length} words, keyed by the word exactly as written. Their current definitions:\n${entries.map((entry) => `- ${entry.normalised}: ${entry.definition}`).join('\n')}`,
        signal: researchOptions.signal, context: { taskId: researchOptions.taskId, step: researchOptions.step },
      }, researchOptions, keys);
      const { fitting, unresolved } = entriesOf(answer, entries, deepenEntryShape);
      const deepened: DeepenedWord[] = fitting.map(({ word, entry }) => ({ ...entry, normalised: word.normalised, source: answer.model }));
      return { deepened, unresolved, calls: 1 };
    },
  };
}
