/**
 * `generate_social`: social posts for an approved blog post. Given several platforms it submits one
 * child `generate_social` per platform and waits for them (they run in parallel, each with its
 * own retries); given one, it writes that platform's post: generate, check the platform's rules,
 * and regenerate with the broken rules in the prompt until it passes (at most three generations).
 */
import { randomUUID } from 'node:crypto';
import { sharedWhilePending } from '../../cached-promise.ts';
import { pipelinedStep, type AnyTaskDefinition, type TaskContext } from '../../kit/index.ts';
import { PermanentError } from '../../errors.ts';
import type { Company } from './companies-store.ts';
import { FinalPostError, PlatformRulesError } from './errors.ts';
import { contentJob } from './job.ts';
import { composePost, platformHashtags, ruleViolations, socialAnswer } from './platform-rules.ts';
import { socialSources, type SocialSources } from './job-sources.ts';
import { getSocialPost, upsertSocialPost, type BlogPost } from './posts-store.ts';
import { rejectionStands } from './regeneration.ts';
import { finalStatuses, rewritableStatuses } from './review.ts';
import { dnaContext, socialInstructions, socialPrompt } from './prompts.ts';
import { jobTypes, socialInput, taskTypeFor, type CompanyDna, type Platform, type SocialInput } from './schemas.ts';
import { writingModel, type ContentServices } from './services.ts';

/** Generations of one platform's post before the job gives up with platform_rules_violated. */
export const maxGenerations = 3;

/**
 * The steps writing one platform's post; returns the post's id and the generations it took.
 * `existingId`: the platform's post of this blog post, when a rewrite replaces one.
 */
async function writePlatformPost(services: ContentServices, context: TaskContext<unknown>, company: Company, dna: CompanyDna | undefined, post: BlogPost, existingId: string | undefined, platform: Platform, rejectionReason?: string, whileRejectedAt?: number): Promise<{ id: string; generations: number; characters: number; hashtags: number; rewritten: boolean }> {
  const model = writingModel(services.config);
  let violations: string[] = [];
  // A regeneration starts from the broken rules as soon as they are known, and awaits the
  // previous generation's checkpoint before its own (pipelined-step.ts).
  let previousCommitted: Promise<unknown> = Promise.resolve();
  for (let generation = 1; generation <= maxGenerations; generation += 1) {
    const key = `${platform}:${generation}`;
    const previous = violations;
    const before = previousCommitted;
    const written = pipelinedStep(context, key, async (step) => {
      const generated = await services.llm.generateStructured({
        ...(model ? { model } : {}),
        schema: socialAnswer(platform),
        instructions: socialInstructions,
        prompt: socialPrompt(dnaContext(company, dna), post, platform, { violations: previous, rejectionReason }),
        signal: context.signal,
        context: { taskId: context.taskId, step: key },
      });
      const candidate = { text: generated.object.text.trim(), hashtags: platformHashtags(platform, generated.object.hashtags), cta_text: generated.object.cta_text.trim() };
      const broken = ruleViolations(platform, candidate);
      // The id is chosen here so the checkpoint holds it (a rewrite keeps the post's id).
      const id = existingId ?? randomUUID();
      const characters = [...composePost(candidate.text, candidate.hashtags)].length;
      if (broken.length > 0) step.emit('platform_rules_broken', { company_id: company.id, blog_post_id: post.id, platform, generation, violations: broken });
      else step.emit('social_post_generated', { company_id: company.id, blog_post_id: post.id, social_post_id: id, platform, character_count: characters, hashtags: candidate.hashtags.length });
      await before;
      return { ...candidate, id, characters, violations: broken, model: generated.model };
    }, {
      save: async (transaction, result) => {
        // A checkpoint from before migration content/0002 holds no model.
        // A rewrite answering a rejection writes only while it stands (upsertSocialPost).
        if (result.violations.length === 0) await upsertSocialPost(transaction, { id: result.id, tenant: context.tenant, companyId: company.id, blogPostId: post.id, taskId: context.taskId, status: 'pending_approval', ...(whileRejectedAt === undefined ? {} : { whileRejectedAt }) }, { platform, ...result, model: result.model ?? null });
      },
    });
    previousCommitted = written.committed;
    const answer = await written.value;
    if (answer.violations.length === 0) {
      await written.committed;
      // A person's edit and submit (or a decision) came while the model wrote: theirs stands.
      const rewritten = whileRejectedAt === undefined || (await getSocialPost(services.pool, context.tenant, answer.id)).task_id === context.taskId;
      return { id: answer.id, generations: generation, characters: answer.characters, hashtags: answer.hashtags.length, rewritten };
    }
    violations = answer.violations;
  }
  await previousCommitted;
  throw new PlatformRulesError(platform, violations, maxGenerations);
}

/** Throws FinalPostError when one of `platforms` has a post approved or published (review.ts). */
export function refuseFinalPosts(existing: SocialSources['existing'], platforms: readonly Platform[]): void {
  for (const platform of platforms) {
    const current = existing[platform];
    if (current && finalStatuses.includes(current.status)) throw new FinalPostError('social_post', current.id, current.status, rewritableStatuses);
  }
}

export function createSocialTask(services: ContentServices): AnyTaskDefinition[] {
  const { pool } = services;
  // A post's platforms start together, thirty tasks for a month's six posts, and each read is a
  // pooled connection and a ~13 kB post parsed: thirty reads through a pool of four ended 50 ms
  // after the stage's tasks started, delaying the slowest platform's first call by as much
  // (bench/content-timeline.ts). Platforms of one post whose reads overlap share the read in
  // flight: six reads instead of thirty. The objects are shared, so the steps only read them.
  const sourcesInFlight = new Map<string, Promise<SocialSources>>();
  return contentJob<SocialInput>(services, {
    jobType: jobTypes.social,
    input: socialInput,
    async run(context, report) {
      const { input, tenant } = context;
      // A rejection's own job (one platform): after that rejection committed, and only while it
      // stands (regeneration.ts).
      if (input.rejected_at !== undefined && input.platforms.length === 1) {
        const rejectedAt = input.rejected_at;
        const rejection = await context.step('rejection', async () => ({ stands: await rejectionStands(pool, tenant, { kind: 'social_post', blogPostId: input.blog_post_id, platform: input.platforms[0]! }, rejectedAt) }));
        if (!rejection.stands) {
          report(100, 'the rejection this job answers no longer stands: nothing to rewrite');
          return { company_id: input.company_id, blog_post_id: input.blog_post_id, platform: input.platforms[0], social_post_id: null, rewritten: false };
        }
      }
      // Everything the post needs, in one statement, and one read for the platforms of a post
      // that start together (see `sourcesInFlight`).
      const { company, post, dna, existing } = await sharedWhilePending(sourcesInFlight, `${tenant}/${input.company_id}/${input.blog_post_id}`, () => socialSources(pool, tenant, input.company_id, input.blog_post_id));
      if (post.company_id !== company.id) throw new PermanentError(`Blog post ${post.id} is not one of company ${company.id}'s.`, { blog_post_id: post.id });
      if (post.status !== 'approved' && post.status !== 'published') throw new PermanentError(`Blog post ${post.id} is ${post.status}: social posts are made from an approved post.`, { blog_post_id: post.id, status: post.status });
      const platforms = [...new Set(input.platforms)];
      // Checked again where each post is written (upsertSocialPost), for a decision made meanwhile.
      refuseFinalPosts(existing, platforms);

      if (platforms.length === 1) {
        const platform = platforms[0]!;
        report(10, `writing the ${platform} post`);
        // A rewrite answering a rejection names the version the rejection left (blogpost-task.ts);
        // one asked for by hand rewrites the post as it is.
        const saved = await writePlatformPost(services, context, company, dna?.data, post, existing[platform]?.id, platform, input.rejection_reason, input.rejected_version);
        if (!saved.rewritten) {
          report(100, `${platform}: the post was submitted or decided again while it was being rewritten: that stands, nothing is rewritten`);
          return { company_id: company.id, blog_post_id: post.id, platform, social_post_id: saved.id, generations: saved.generations, rewritten: false };
        }
        report(100, `${platform}: ${saved.characters} characters, ${saved.hashtags} hashtags`);
        return { company_id: company.id, blog_post_id: post.id, platform, social_post_id: saved.id, generations: saved.generations };
      }

      report(5, `one task per platform: ${platforms.join(', ')}`);
      const children = await context.submitAndWait('platforms', platforms.map((platform) => ({
        taskType: taskTypeFor(jobTypes.social, company.plan),
        input: { company_id: company.id, blog_post_id: post.id, platforms: [platform], ...(input.rejection_reason ? { rejection_reason: input.rejection_reason } : {}) },
      })));
      const failed = children.filter((child) => child.status !== 'completed');
      if (failed.length > 0) {
        throw new PermanentError(`${failed.length} of ${platforms.length} platforms failed: ${failed.map((child) => `${child.taskId} ${child.status}`).join(', ')}.`, { failed: failed.map((child) => ({ task_id: child.taskId, status: child.status, error: child.error })) });
      }
      report(100, `${platforms.length} platforms written`);
      // The platforms' model calls are the children's: summed here so the parent reports them.
      const childrenUsage = { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 as number | null };
      for (const child of children) {
        const usage = (child.result as { llm_usage?: typeof childrenUsage } | null)?.llm_usage;
        if (!usage) continue;
        childrenUsage.calls += usage.calls;
        childrenUsage.input_tokens += usage.input_tokens;
        childrenUsage.output_tokens += usage.output_tokens;
        childrenUsage.cost_usd = childrenUsage.cost_usd === null || usage.cost_usd === null ? null : childrenUsage.cost_usd + usage.cost_usd;
      }
      return { company_id: company.id, blog_post_id: post.id, platforms, child_task_ids: children.map((child) => child.taskId), children_llm_usage: childrenUsage };
    },
  });
}
