/**
 * The research source interface: where rounds get their words and words get their knowledge.
 * Two real implementations: the research model through the LLM gateway (llm-source.ts; Perplexity
 * when configured) and WordNet 3.1 offline (wordnet-source.ts).
 *
 * Contract: a source either answers or throws a ResearchProviderError (or the task's abort
 * reason when its signal fired). A word it cannot define is returned in `unresolved` with the
 * reason, never as an entry: failures are not knowledge.
 */
import type { DeepenedEntry, SolidifiedEntry } from '../schemas.ts';

export interface WordToLearn {
  /** The spelling to research. */
  word: string;
  normalised: string;
}

export interface ResearchedWord extends SolidifiedEntry {
  normalised: string;
  /** The spelling the source filed the word under (WordNet's lemma) or the one asked for. */
  word: string;
  /** Who answered: `wordnet-3.1` or the `provider:model` that served the call. */
  source: string;
  /** Where the knowledge comes from: cited URLs or WordNet synset ids. */
  references: string[];
}

export interface DeepenedWord extends DeepenedEntry {
  normalised: string;
  source: string;
}

export interface UnresolvedWord {
  normalised: string;
  word: string;
  reason: string;
}

export interface ResearchOptions {
  signal: AbortSignal;
  /** Recorded on LLM usage rows. */
  taskId: string;
  step: string;
  /** Told with the provider's reason each time the source is about to retry a call that failed. @default none */
  onRetry?: (reason: string) => void;
}

export interface Proposal {
  tokens: string[];
  source: string;
  /** Model calls the proposal cost (0 offline). */
  calls: number;
}

export interface ResearchOutcome {
  learned: ResearchedWord[];
  unresolved: UnresolvedWord[];
  calls: number;
}

export interface DeepenOutcome {
  deepened: DeepenedWord[];
  unresolved: UnresolvedWord[];
  calls: number;
}

export interface ResearchSource {
  /** `wordnet` or `llm`. */
  readonly kind: 'wordnet' | 'llm';
  /** What results name as their source when the source is known before a call (`wordnet-3.1`, `perplexity:sonar`). */
  readonly name: string;
  /** Words researched together: one model call (or one checkpointed step offline). */
  readonly batchSize: number;
  /** One round's candidate words, about `count` of them, in the order proposed. */
  proposeWords(request: { count: number; round: number }, options: ResearchOptions): Promise<Proposal>;
  /** Research, define and enrich a batch of words (at most batchSize). */
  research(words: readonly WordToLearn[], options: ResearchOptions): Promise<ResearchOutcome>;
  /** Expanded definition, applications and misconceptions for known words. */
  deepen(entries: ReadonlyArray<WordToLearn & { definition: string }>, options: ResearchOptions): Promise<DeepenOutcome>;
}
