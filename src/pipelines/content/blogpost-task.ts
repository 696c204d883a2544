/**
 * `generate_blogpost`: a long post for an approved topic (1,500-2,500 words by default), written
 * from an outline section by section so no single answer comes near a model's output limit.
 *
 * Steps: `outline` (saves the post as `generating`), `section:N` for every section, concurrently
 * (each sees the whole outline, so they need not wait for each other), then the length check:
 * `extend:K` writes a further section while the post is short, `condense` rewrites the longest
 * section when it is long. `assemble` stores the post, `pending_approval`. Every step is
 * checkpointed: a resumed attempt makes no model call again for a section already written.
 *
 * A job that ends without success (cancelled, or failed with no attempt left, also when its
 * worker died on its last attempt or it was cancelled between attempts) puts the post back as it
 * was before it, in its `onFailure`: a rewrite's previous text, status and version, or, for a new
 * post, `failed` with no text. A failure that will be retried leaves it `generating` for the next
 * attempt.
 */
import { randomUUID } from 'node:crypto';
import { pipelinedStep, type AnyTaskDefinition } from '../../kit/index.ts';
import { PermanentError } from '../../errors.ts';
import { FinalPostError, LengthOutOfRangeError } from './errors.ts';
import { blogPostSources } from './job-sources.ts';
import { contentJob } from './job.ts';
import { blogPostBefore, blogPostOfTopic, countWords, restoreBlogPost, upsertBlogPost, type BlogPostBefore } from './posts-store.ts';
import { rejectionStands } from './regeneration.ts';
import { finalStatuses, rewritableStatuses } from './review.ts';
import { dnaContext, outlineInstructions, outlinePrompt, sectionInstructions, sectionPrompt } from './prompts.ts';
import { blogpostInput, imageInput, type BlogpostInput, jobTypes, outlineAnswer, sectionAnswer, taskTypeFor, type Outline } from './schemas.ts';
import { writingModel, type ContentServices } from './services.ts';
import { writtenBy } from './written-by.ts';

/** Words one section aims at: about 300, so a 2,000-word post has about seven sections. */
const wordsPerSection = 300;
/** Extra sections written at most when a post comes out short. */
const maxExtensions = 3;

export function sectionCount(minWords: number, maxWords: number): number {
  return Math.min(12, Math.max(3, Math.round((minWords + maxWords) / 2 / wordsPerSection)));
}

export function createBlogpostTask(services: ContentServices): AnyTaskDefinition[] {
  const { llm, pool } = services;
  return contentJob(services, {
    jobType: jobTypes.blogpost,
    input: blogpostInput,
    async run(context, report) {
      const { input, tenant, taskId, signal } = context;
      // A rejection's own job: after that rejection committed (and before reading the post it
      // left), and only while it stands (regeneration.ts).
      if (input.rejected_at !== undefined) {
        const rejectedAt = input.rejected_at;
        const rejection = await context.step('rejection', async () => ({ stands: await rejectionStands(pool, tenant, { kind: 'blog_post', topicId: input.topic_id }, rejectedAt) }));
        if (!rejection.stands) {
          report(100, 'the rejection this job answers no longer stands: nothing to rewrite');
          return { company_id: input.company_id, topic_id: input.topic_id, blog_post_id: null, rewritten: false };
        }
      }
      // Everything the post needs, in one statement: a stage's posts start together.
      const { company, topic, persona, dna, existing } = await blogPostSources(pool, tenant, input.company_id, input.topic_id);
      if (topic.company_id !== company.id) throw new PermanentError(`Topic ${topic.id} is not one of company ${company.id}'s.`, { topic_id: topic.id });
      if (topic.status !== 'approved' && topic.status !== 'published') throw new PermanentError(`Topic ${topic.id} is ${topic.status}: a blog post is written for an approved topic.`, { topic_id: topic.id, status: topic.status });
      // Checked again where the post is written (upsertBlogPost), for a decision made meanwhile.
      if (existing && finalStatuses.includes(existing.status)) throw new FinalPostError('blog_post', existing.id, existing.status, rewritableStatuses);
      const context$ = dnaContext(company, dna?.data);
      const model = writingModel(services.config);
      // A rewrite answering a rejection (the rejection's own job, or the run's) names the version
      // the rejection left: it writes only while the post is still rejected at it. One asked for
      // by hand, with a reason or not, rewrites the post as it is.
      const rejectedVersion = input.rejected_version;
      const target = Math.round((input.min_words + input.max_words) / 2);
      const sections = sectionCount(input.min_words, input.max_words);
      const scope = { tenant, companyId: company.id, topicId: topic.id, personaId: persona.id, taskId };
      const ask = <T>(step: string, schema: import('zod').ZodType<T>, instructions: string, prompt: string) => llm.generateStructured({
        ...(model ? { model } : {}), schema, instructions, prompt, signal, context: { taskId, step },
      });

      report(5, `outlining "${topic.title}"`);
      // The sections start from the outline as soon as it is answered; each awaits the outline's
      // checkpoint before its own (pipelined-step.ts), so the outline's commit is off the path.
      const outlineStep = pipelinedStep(context, 'outline', async (step) => {
        const answer = await ask('outline', outlineAnswer, outlineInstructions, outlinePrompt(context$, persona, topic, { minWords: input.min_words, maxWords: input.max_words, sections, rejectionReason: input.rejection_reason }));
        step.emit('blogpost_outlined', { company_id: company.id, topic_id: topic.id, sections: answer.object.sections.length });
        // A post another job left `generating` has no text of its own to go back to.
        return { ...answer.object, post_id: existing?.id ?? randomUUID(), before: existing && existing.status !== 'generating' ? blogPostBefore(existing) : null, model: answer.model };
      }, {
        // The post exists from here on, `generating`, so a cancelled job leaves it visible. A
        // rewrite answering a rejection takes the post only while the rejection stands.
        save: (transaction, result) => upsertBlogPost(transaction, { ...scope, id: result.post_id, status: 'generating', ...(rejectedVersion === undefined ? {} : { whileRejectedAt: rejectedVersion }) }, { ...result, content: '', outline: result.sections, model: writtenBy([result.model]) }),
      });
      const outline = await outlineStep.value;
      if (rejectedVersion !== undefined) {
        // A person's edit and submit (or a decision) came while the model outlined: theirs stands.
        await outlineStep.committed;
        const post = await blogPostOfTopic(pool, tenant, topic.id);
        if (post?.task_id !== taskId) {
          report(100, 'the post was submitted or decided again while it was being rewritten: that stands, nothing is rewritten');
          return { company_id: company.id, topic_id: topic.id, blog_post_id: post?.id ?? null, rewritten: false };
        }
      }

      const perSection = Math.round(target / outline.sections.length);
      let written = 0;
      const bodies = await Promise.all(outline.sections.map((section, index) => context.step(`section:${index + 1}`, async (step) => {
        const answer = await ask(`section:${index + 1}`, sectionAnswer(perSection), sectionInstructions, sectionPrompt(context$, persona, outline, index, perSection, input.rejection_reason));
        const words = countWords(answer.object.body);
        step.emit('blogpost_section_written', { company_id: company.id, topic_id: topic.id, section: index + 1, words });
        await outlineStep.committed;
        return { heading: section.heading, body: answer.object.body.trim(), model: answer.model };
      }).then((body) => {
        written += 1;
        report(10 + Math.round((written / outline.sections.length) * 75), `section ${written} of ${outline.sections.length} written`);
        return body;
      })));

      await outlineStep.committed;

      // The length check: extend while short, condense once when long. `planned` is the outline
      // the post ends up with, one section per part: the model's, then each extension. Each
      // further call is prompted from it, so the section it writes is the one its heading names
      // (condensing an extension from the outline alone rewrote the last outline section under
      // the extension's heading: the same section twice).
      const parts = [...bodies];
      let planned: Outline = outline;
      const assembled = (): string => `# ${outline.title}\n\n${parts.map((part) => `## ${part.heading}\n\n${part.body}`).join('\n\n')}\n`;
      for (let extension = 1; countWords(assembled()) < input.min_words && extension <= maxExtensions; extension += 1) {
        const missing = input.min_words - countWords(assembled());
        const extended: Outline = { ...planned, sections: [...planned.sections, { heading: extension === 1 ? 'Putting it into practice' : `Further considerations ${extension}`, points: outline.keywords.slice(0, 3) }] };
        parts.push(await context.step(`extend:${extension}`, async () => {
          const words = Math.max(120, missing + 60);
          const answer = await ask(`extend:${extension}`, sectionAnswer(words), sectionInstructions, sectionPrompt(context$, persona, extended, extended.sections.length - 1, words, input.rejection_reason));
          return { heading: extended.sections.at(-1)!.heading, body: answer.object.body.trim(), model: answer.model };
        }));
        planned = extended;
      }
      if (countWords(assembled()) > input.max_words) {
        const longest = parts.reduce((best, part, index) => (countWords(part.body) > countWords(parts[best]!.body) ? index : best), 0);
        const keep = Math.max(80, countWords(parts[longest]!.body) - (countWords(assembled()) - input.max_words) - 60);
        parts[longest] = await context.step('condense', async () => {
          const answer = await ask('condense', sectionAnswer(keep), sectionInstructions, `${sectionPrompt(context$, persona, planned, longest, keep, input.rejection_reason)}\nShorter than before: about ${keep} words.`);
          return { heading: parts[longest]!.heading, body: answer.object.body.trim(), model: answer.model };
        });
      }
      const content = assembled();
      const words = countWords(content);
      if (words < input.min_words || words > input.max_words) throw new LengthOutOfRangeError(words, input.min_words, input.max_words);

      await context.step('assemble', async (step) => {
        step.emit('blogpost_generated', { company_id: company.id, topic_id: topic.id, blog_post_id: outline.post_id, word_count: words, length_ok: true });
        return null;
      }, {
        save: (transaction) => upsertBlogPost(transaction, { ...scope, id: outline.post_id, status: input.submit_for_approval ? 'pending_approval' : 'draft' }, { ...outline, content, outline: outline.sections, model: writtenBy([outline.model, ...parts.map((part) => part.model)]) }),
      });

      let imageTaskId: string | null = null;
      if (input.featured_image) {
        const submitted = await context.submit(taskTypeFor(jobTypes.image, company.plan), imageInput.parse({ company_id: company.id, target: 'blog_post', target_id: outline.post_id }), { projectId: company.id, idempotencyKey: `${taskId}:featured-image` });
        imageTaskId = submitted.taskId;
      }
      report(100, `${words} words${input.submit_for_approval ? ', pending approval' : ''}`);
      return { company_id: company.id, topic_id: topic.id, blog_post_id: outline.post_id, word_count: words, sections: parts.length, image_task_id: imageTaskId };
    },
    async onFailure({ task, transaction, stepResult }) {
      // No outline checkpoint: the post was never this job's. A checkpoint from before `before`
      // was kept: the text it replaced is gone, as for a new post.
      const outline = await stepResult<{ before?: BlogPostBefore | null }>('outline');
      if (outline === undefined) return;
      const { topic_id: topicId } = task.input as BlogpostInput;
      await restoreBlogPost(transaction, { tenant: task.tenant, topicId, taskId: task.id }, outline.before ?? null);
    },
  });
}
