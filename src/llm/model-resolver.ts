/**
 * Turns whatever a caller passes as a model (`provider:model`, a bare seed id, nothing) into one
 * registered `provider:model`. Bare ids (`anthropic/claude-sonnet-4.5`) go through OpenRouter
 * when its key is set; otherwise they fall back to the purpose's default model (the offline model
 * when nothing is configured), logged once per id, so seed department settings work without keys.
 * An id that is neither (`nosuch:model`, `gpt-4o`) is refused with `llm_unknown_model`.
 */
import type { Logger } from '../logger.ts';
import { LlmError } from './errors.ts';
import { formatModelId, parseModelId, providerNames } from './model-id.ts';
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
      // OpenRouter ids are `vendor/model` (with an optional `:variant` after the slash). Anything
      // else is a provider misspelt or left out, which OpenRouter would only refuse at call time
      // (or, without its key, would quietly run on the default model).
      const slash = bare.indexOf('/');
      const colon = bare.indexOf(':');
      if (slash <= 0 || (colon >= 0 && colon < slash)) {
        const named = colon > 0 && (colon < slash || slash < 0) ? ` ("${bare.slice(0, colon)}" is not a provider)` : '';
        throw new LlmError('llm_unknown_model', `Model "${bare}" names no provider${named}: write it as "provider:model" with one of ${[...providerNames, ...registered].filter((name, index, all) => all.indexOf(name) === index).join(', ')}, or as an OpenRouter id such as "anthropic/claude-sonnet-4.5".`, {
          details: { model: bare },
        });
      }
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
