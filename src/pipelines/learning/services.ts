/**
 * What the learning pipeline needs from the process, injected so tests and the benchmark can
 * choose the research source and the retry timing.
 */
import type { Config } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import type { Pool } from '../../kit/index.ts';
import { isOfflineModel, type LlmGateway } from '../../llm/index.ts';
import type { Logger } from '../../logger.ts';
import { createLlmSource } from './sources/llm-source.ts';
import { sampleFrequentLemmas } from './sources/frequent-words.ts';
import type { ResearchSource } from './sources/research-source.ts';
import { createWordNetSource } from './sources/wordnet-source.ts';
import { sharedWordNet } from './wordnet/wordnet-reader.ts';

/** Attempts of a learning job (a provider failure is retried this many times in all, resuming from checkpoints). */
export const learningMaxAttempts = 4;

export interface LearningServices {
  config: Config;
  pool: Pool;
  logger: Logger;
  llm: LlmGateway;
  /** @default per TASKLOOM_LEARNING_SOURCE (createResearchSource) */
  source?: ResearchSource | undefined;
  /** First retry delay of a failed attempt. @default the ai_jobs queue's (5 s) */
  retryBaseDelayMs?: number | undefined;
  /**
   * How long past its deadline a learning job (big, quick or deep) lets the source call in hand
   * run before aborting it (deadline.ts).
   * @default 5000 (defaultDeadlineGraceMs)
   */
  deadlineGraceMs?: number | undefined;
}

export interface ResolvedLearningServices extends Omit<LearningServices, 'source'> {
  source: ResearchSource;
}

/**
 * The source TASKLOOM_LEARNING_SOURCE names. `auto` uses the research model when a provider key
 * is configured (the gateway is not offline), else WordNet: the offline model's made-up text must
 * never become a tenant's knowledge. TASKLOOM_LEARNING_PROPOSALS=wordnet keeps the research model
 * for definitions but draws each round's words from WordNet.
 */
export function createResearchSource(config: Config, llm: LlmGateway): ResearchSource {
  const choice = config.learningSource === 'auto' ? (llm.isOffline() ? 'wordnet' : 'llm') : config.learningSource;
  const reader = sharedWordNet();
  if (choice === 'wordnet') return createWordNetSource({ reader, batchSize: config.learningBatchSize });
  if (isOfflineModel(llm.resolveModel('research'))) {
    throw new ConfigError('TASKLOOM_LEARNING_SOURCE=llm needs a research model from a provider (set PERPLEXITY_API_KEY, another provider key or TASKLOOM_LLM_RESEARCH_MODEL): the offline model\'s text must not become knowledge. Use `wordnet` or `auto` to learn offline.');
  }
  const source = createLlmSource({ llm, batchSize: config.learningBatchSize, topicHints: (count) => sampleFrequentLemmas(reader, count) });
  if (config.learningProposals === 'source') return source;
  // WordNet proposes, the research model defines: no generation call of ~1,000 words a round.
  return { ...source, proposeWords: createWordNetSource({ reader }).proposeWords };
}

export function resolveLearningServices(services: LearningServices): ResolvedLearningServices {
  return { ...services, source: services.source ?? createResearchSource(services.config, services.llm) };
}
