/**
 * Which source call of a job was failing when the job's deadline cut it off. The call in hand
 * gets until the cut-off, and a cut-off is the stop, not a failure (deadline.ts): a slow answer is
 * no error. A call the provider kept failing is one, though, and the source's retries of it (the
 * gateway retries one call for up to TASKLOOM_LLM_RETRY_WINDOW_MS) would otherwise end the job
 * `completed` with nothing learned and no error on its document.
 */
import type { ResearchOptions, ResearchSource } from './research-source.ts';

export interface FailingCall {
  operation: 'propose' | 'research' | 'deepen';
  /** The provider's reason for its last failure, as the retry was announced. */
  reason: string;
}

/**
 * `source` with its calls watched: `failing()` is the call in hand when the source announced a
 * retry of it (`ResearchOptions.onRetry`) and it has not answered since, else undefined.
 */
export function watchFailingCalls(source: ResearchSource): { source: ResearchSource; failing: () => FailingCall | undefined } {
  let failing: FailingCall | undefined;
  const watched = async <Result>(operation: FailingCall['operation'], options: ResearchOptions, call: (options: ResearchOptions) => Promise<Result>): Promise<Result> => {
    failing = undefined;
    const result = await call({ ...options, onRetry: (reason) => { failing = { operation, reason }; } });
    failing = undefined;
    return result;
  };
  return {
    source: {
      kind: source.kind,
      name: source.name,
      batchSize: source.batchSize,
      proposeWords: (request, options) => watched('propose', options, (watchedOptions) => source.proposeWords(request, watchedOptions)),
      research: (words, options) => watched('research', options, (watchedOptions) => source.research(words, watchedOptions)),
      deepen: (entries, options) => watched('deepen', options, (watchedOptions) => source.deepen(entries, watchedOptions)),
    },
    failing: () => failing,
  };
}
