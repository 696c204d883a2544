/**
 * What the content pipeline needs from the process, injected so tests can swap a part (a gateway
 * on mock models, an image model at the spec interface).
 */
import type { ImageModelV4 } from '@ai-sdk/provider';
import type { Config } from '../../config.ts';
import type { PipelineServices } from '../../kit/index.ts';
import { parseModelId } from '../../llm/index.ts';

export interface ContentServices extends PipelineServices {
  /** @default the model TASKLOOM_CONTENT_IMAGE_MODEL names, else none (generate_image refuses) */
  imageModel?: ImageModelV4 | undefined;
}

/**
 * The writing model: TASKLOOM_CONTENT_WRITING_MODEL, else Gemini when a Google key is set (the
 * seed's choice), else undefined (the gateway's generation default, offline without keys).
 */
export function writingModel(config: Config): string | undefined {
  if (config.contentWritingModel) return config.contentWritingModel;
  if (config.googleApiKey ?? config.geminiApiKey) return 'google:gemini-2.5-flash';
  return undefined;
}

/** The configured image model's `provider:model`, for the result and the dashboard. */
export function imageModelName(services: ContentServices): string | undefined {
  if (services.imageModel) return `${services.imageModel.provider}:${services.imageModel.modelId}`;
  if (!services.config.contentImageModel) return undefined;
  const parsed = parseModelId(services.config.contentImageModel);
  return `${parsed.provider ?? 'openrouter'}:${parsed.model}`;
}
