/**
 * The image model generate_image uses: the one injected (tests), else the one
 * TASKLOOM_CONTENT_IMAGE_MODEL names, from the LLM layer's provider of its prefix (configured by
 * the key the config holds for it). Anything else is `provider_not_configured`: no placeholder is ever made.
 */
import type { ImageModelV4 } from '@ai-sdk/provider';
import { cachedPromise } from '../../cached-promise.ts';
import { configureProviders, formatModelId, parseModelId } from '../../llm/index.ts';
import type { Company } from './companies-store.ts';
import { ImageProviderNotConfiguredError, PlanRequiredError } from './errors.ts';
import { imagePlans } from './schemas.ts';
import type { ContentServices } from './services.ts';

/** The providers whose image models generate_image can use. */
const imageProviders = new Set(['openai', 'google', 'openai-compatible']);

/** Built once per services object: the configuration does not change while a process runs. */
const resolved = new WeakMap<ContentServices, Promise<ImageModelV4>>();

/**
 * What an image for `company` needs, checked before anything is queued and again by the job:
 * a plan that includes images (`plan_required`), then a configured image model
 * (`provider_not_configured`). Returns the model.
 */
export async function imageModelFor(services: ContentServices, company: Pick<Company, 'id' | 'plan'>): Promise<ImageModelV4> {
  if (!imagePlans.includes(company.plan)) throw new PlanRequiredError({ company_id: company.id, plan: company.plan, feature: 'images', plans: imagePlans });
  return resolveImageModel(services);
}

/**
 * The image model, or `provider_not_configured`. The API checks it before queueing an image job
 * and the job resolves it again; both get the model built the first time.
 */
export function resolveImageModel(services: ContentServices): Promise<ImageModelV4> {
  // A refusal is not kept: it costs nothing to reach again, and a failed import may pass next time.
  return cachedPromise(resolved, services, () => buildImageModel(services));
}

async function buildImageModel(services: ContentServices): Promise<ImageModelV4> {
  if (services.imageModel) return services.imageModel;
  const { config } = services;
  if (!config.contentImageModel) throw new ImageProviderNotConfiguredError();
  const { provider, model } = parseModelId(config.contentImageModel);
  const providers = configureProviders(config);
  if (provider === undefined || !imageProviders.has(provider) || !providers.configured.includes(provider)) throw new ImageProviderNotConfiguredError();
  return providers.imageModel(formatModelId(provider, model));
}
