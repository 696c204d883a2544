/**
 * Turns whatever a caller passes as a model (`provider:model`, a bare seed id, nothing) into one
 * registered `provider:model`. Bare ids (`anthropic/claude-sonnet-4.5`) go through OpenRouter
 * when its key is set; otherwise they fall back to the purpose's default model (the offline model
 * when nothing is configured), logged once per id, so seed department settings work without keys.
 */
import type { Logger } from '../logger.ts';
import { LlmError } from './errors.ts';
import { formatModelId, parseModelId } from './model-id.ts';
import { isKnownProvider, providerKeyVariable } from './provider-registry.ts';

export interface ResolvedModel {
  /** `provider:model`, as recorded in usage rows and results. */
  id: string;
  provider: string;
  model: string;
}

export interface ModelResolver {
  resolve(id: string, fallbackId: string): ResolvedModel;
}

export function createModelResolver(options: { registered: readonly string[]; logger: Logger }): ModelResolver {
  const registered = new Set(options.registered);
  const warned = new Set<string>();
  const resolveExplicit = (id: string): ResolvedModel | undefined => {
    const parsed = parseModelId(id, registered);
    if (parsed.provider === undefined) return undefined;
    if (!registered.has(parsed.provider)) {
      const variable = isKnownProvider(parsed.provider) ? providerKeyVariable[parsed.provider] : undefined;
      throw new LlmError('llm_unknown_model', `Model "${id}" needs provider "${parsed.provider}", which is not configured${variable ? ` (set ${variable})` : ''}.`, {
        details: { provider: parsed.provider, model: parsed.model },
      });
    }
    if (parsed.model.length === 0) {
      throw new LlmError('llm_unknown_model', `Model "${id}" has no model name after "${parsed.provider}:".`, { details: { provider: parsed.provider } });
    }
    return { id: formatModelId(parsed.provider, parsed.model), provider: parsed.provider, model: parsed.model };
  };
  return {
    resolve(id, fallbackId) {
      const explicit = resolveExplicit(id);
      if (explicit) return explicit;
      const bare = id.trim();
      if (bare.length === 0) return this.resolve(fallbackId, fallbackId);
      if (registered.has('openrouter')) return { id: formatModelId('openrouter', bare), provider: 'openrouter', model: bare };
      const fallback = resolveExplicit(fallbackId);
      if (!fallback) throw new LlmError('llm_unknown_model', `Model "${id}" has no provider prefix and OpenRouter is not configured; use "provider:model".`, { details: { model: id } });
      if (!warned.has(bare)) {
        warned.add(bare);
        options.logger.warn({ requested: bare, using: fallback.id }, `LLM model "${bare}" resolves through OpenRouter, which is not configured (OPENROUTER_API_KEY); using ${fallback.id} instead`);
      }
      return fallback;
    },
  };
}
