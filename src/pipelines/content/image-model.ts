/**
 * The image model generate_image uses: the one injected (tests), else the one
 * TASKLOOM_CONTENT_IMAGE_MODEL names, built with the AI SDK provider of its prefix and the key the
 * config holds for it. Anything else is `provider_not_configured`: no placeholder is ever made.
 */
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { ImageModelV4 } from '@ai-sdk/provider';
import { parseModelId } from '../../llm/index.ts';
import { ImageProviderNotConfiguredError } from './errors.ts';
import type { ContentServices } from './services.ts';

export function resolveImageModel(services: ContentServices): ImageModelV4 {
  if (services.imageModel) return services.imageModel;
  const { config } = services;
  if (!config.contentImageModel) throw new ImageProviderNotConfiguredError();
  const { provider, model } = parseModelId(config.contentImageModel);
  if (provider === 'openai' && config.openaiApiKey) return createOpenAI({ apiKey: config.openaiApiKey }).image(model);
  const googleKey = config.googleApiKey ?? config.geminiApiKey;
  if (provider === 'google' && googleKey) return createGoogleGenerativeAI({ apiKey: googleKey }).image(model);
  if (provider === 'openai-compatible' && config.openaiCompatibleBaseUrl) {
    return createOpenAICompatible({
      name: 'openai-compatible',
      baseURL: config.openaiCompatibleBaseUrl.replace(/\/+$/, ''),
      ...(config.openaiCompatibleApiKey ? { apiKey: config.openaiCompatibleApiKey } : {}),
    }).imageModel(model);
  }
  throw new ImageProviderNotConfiguredError();
}
