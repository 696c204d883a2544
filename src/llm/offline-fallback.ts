/**
 * An answer from an offline model among the fallbacks. The gateway's chain ends with
 * TASKLOOM_LLM_FALLBACK_MODELS whatever a call asks, and an `offline:` model there answers every
 * call, with template text built from the prompt's own words. For a call that asked a provider's
 * model for facts (a project's metadata, a word's knowledge), that answer means the provider
 * failed: a retryable `llm_call_failed`, never something to store.
 */
import { LlmError } from './errors.ts';
import { isOfflineModel } from './model-id.ts';

/**
 * Throws `llm_call_failed` (retryable) when only an offline fallback answered a call that
 * `requested` a provider's model. `what`: why its text is of no use, for the message ("is not
 * about the project").
 */
export function refuseOfflineFallback(answer: { model: string }, requested: string, what: string): void {
  if (!isOfflineModel(answer.model) || isOfflineModel(requested)) return;
  // The id as the resolver gave it: `provider:model` (a test's injected provider is not a known one).
  const separator = requested.indexOf(':');
  const provider = separator < 0 ? requested : requested.slice(0, separator);
  const model = separator < 0 ? requested : requested.slice(separator + 1);
  throw new LlmError('llm_call_failed', `LLM generation call failed: provider ${provider}, model ${model}: only the offline fallback ${answer.model} answered, whose template text ${what}; it is not stored (TASKLOOM_LLM_FALLBACK_MODELS)`, {
    details: { provider, model, answered_by: answer.model },
    retryable: true,
  });
}
