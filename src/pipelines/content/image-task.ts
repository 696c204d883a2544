/**
 * `generate_image`: a featured image for a blog post or an image for a social post, through the
 * AI SDK's image models, for a company whose plan includes images (pro and up; else
 * `plan_required`). With no image provider configured it fails at once with
 * `provider_not_configured`: nothing is stored, no placeholder passes for an image.
 */
import type { AnyTaskDefinition } from '../../kit/index.ts';
import { PermanentError } from '../../errors.ts';
import { getCompany } from './companies-store.ts';
import { imageModelFor } from './image-model.ts';
import { contentJob } from './job.ts';
import { getBlogPost, getSocialPost } from './posts-store.ts';
import { imageInput, jobTypes } from './schemas.ts';
import type { ContentServices } from './services.ts';

export function createImageTask(services: ContentServices): AnyTaskDefinition[] {
  const { pool } = services;
  return contentJob(services, {
    jobType: jobTypes.image,
    input: imageInput,
    async run(context, report) {
      const { input, tenant, taskId } = context;
      const company = await getCompany(pool, tenant, input.company_id);
      // Again here: the plan may have changed since the job was queued.
      const model = await imageModelFor(services, company);
      const target = input.target === 'blog_post' ? await getBlogPost(pool, tenant, input.target_id) : await getSocialPost(pool, tenant, input.target_id);
      if (target.company_id !== company.id) throw new PermanentError(`The ${input.target.replace('_', ' ')} ${target.id} is not one of company ${company.id}'s.`, { target_id: target.id });
      const prompt = input.prompt ?? ('title' in target
        ? `A featured image for the blog post "${target.title}" of ${company.name}: ${target.excerpt}. No text in the image.`
        : `An image for a ${target.platform} post of ${company.name}: ${target.text.slice(0, 400)}. No text in the image.`);
      report(10, `generating with ${model.provider}:${model.modelId}`);
      const image = await context.step('image', async (step) => {
        // The AI SDK is imported here, by the first image, not by every process that lists task types.
        const { generateImage } = await import('ai');
        const generated = await generateImage({ model, prompt, n: 1, abortSignal: context.signal, maxRetries: 2 });
        const file = generated.image;
        const id = crypto.randomUUID();
        step.emit('image_generated', { company_id: company.id, image_id: id, target: input.target, target_id: target.id, model: `${model.provider}:${model.modelId}` });
        return { id, media_type: file.mediaType, base64: file.base64 };
      }, {
        save: async (transaction, result) => {
          await transaction.query('INSERT INTO content_images (id, tenant, company_id, media_type, data, prompt, model, task_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
            [result.id, tenant, company.id, result.media_type, Buffer.from(result.base64, 'base64'), prompt, `${model.provider}:${model.modelId}`, taskId]);
          const table = input.target === 'blog_post' ? 'content_blog_posts SET featured_image_id' : 'content_social_posts SET image_id';
          await transaction.query(`UPDATE ${table} = $3, updated_at = now() WHERE tenant = $1 AND id = $2`, [tenant, target.id, result.id]);
        },
      });
      report(100, 'image stored');
      // The checkpoint keeps the bytes once; the result names the image, it does not repeat it.
      return { company_id: company.id, image_id: image.id, media_type: image.media_type, target: input.target, target_id: target.id, model: `${model.provider}:${model.modelId}` };
    },
  });
}

export async function readImage(database: import('../../kit/index.ts').Queryable, tenant: string, id: string): Promise<{ media_type: string; data: Buffer } | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const result = await database.query<{ media_type: string; data: Buffer }>('SELECT media_type, data FROM content_images WHERE tenant = $1 AND id = $2', [tenant, id]);
  return result.rows[0];
}
