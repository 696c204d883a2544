/**
 * `generate_topics`: a month of topics spread evenly over the selected personas and over the
 * month's weeks. Each persona's topics are one step, and the steps run concurrently: the month
 * takes as long as the slowest persona, not the sum. Each persona's topics are saved as its step
 * commits, so a cancelled job keeps the personas it finished.
 */
import { randomUUID } from 'node:crypto';
import type { AnyTaskDefinition, TaskContext } from '../../kit/index.ts';
import { PermanentError } from '../../errors.ts';
import { getCompany, getDna, type Company } from './companies-store.ts';
import { contentJob } from './job.ts';
import { getPersona, getPersonas, listPersonas, type Persona } from './personas-store.ts';
import { dnaContext, topicRegenerationPrompt, topicsInstructions, topicsPrompt } from './prompts.ts';
import { generatedTopic, jobTypes, topicsAnswer, topicsInput, type CompanyDna, type ContentStatus, type GeneratedTopic, type TopicRegenerationInput } from './schemas.ts';
import { rejectionStands } from './regeneration.ts';
import { writingModel, type ContentServices } from './services.ts';
import { getTopic, insertTopics, replaceTopicText, type Topic } from './topics-store.ts';

/** Weeks a month's topics may fall in: 4 for a 28-day February, else 5. */
export function weeksInMonth(year: number, month: number): number {
  return Math.ceil(new Date(Date.UTC(year, month, 0)).getUTCDate() / 7);
}

/**
 * Topic i of n goes to persona i mod P, in week 1 + floor(i * weeks / n): counts differ by at
 * most one between personas, and the month's weeks are filled evenly.
 */
export function planTopics(personaIds: string[], count: number, weeks: number): Map<string, number[]> {
  const plan = new Map<string, number[]>(personaIds.map((id) => [id, []]));
  for (let index = 0; index < count; index += 1) plan.get(personaIds[index % personaIds.length]!)!.push(1 + Math.floor((index * weeks) / count));
  return plan;
}

export interface MonthRequest {
  company: Company;
  year: number;
  month: number;
  postsCount: number;
  personaIds?: string[] | undefined;
  status: ContentStatus;
  /** A checkpoint the topics' checkpoints must follow (pipelined-step.ts). @default none */
  after?: Promise<unknown>;
  /** The company's DNA, when the caller has it at hand. @default read when a persona's topics are still to write */
  dna?: CompanyDna | undefined;
}

/** The steps that write a month's topics; shared by generate_topics and content_pipeline. */
export async function writeMonthTopics(services: ContentServices, context: TaskContext<unknown>, request: MonthRequest, onPersonaDone?: (done: number, total: number) => void): Promise<string[]> {
  const { llm, pool } = services;
  const { company } = request;
  const listed = request.personaIds ? undefined : await listPersonas(pool, context.tenant, company.id, { status: 'active' });
  const personaIds = request.personaIds ?? listed!.map((persona) => persona.id);
  if (personaIds.length === 0) throw new PermanentError(`Company ${company.id} has no selected personas: generate personas and select 3-6 of them first.`, { company_id: company.id });
  // What the prompts quote, read once and only when a persona's topics are still to write: a run
  // woken after its topics replays their steps without reading anything.
  let sources: Promise<{ personas: Map<string, Persona>; context: string }> | undefined;
  const load = (): Promise<{ personas: Map<string, Persona>; context: string }> => sources ??= (async () => {
    const [personas, dna] = await Promise.all([listed ?? getPersonas(pool, context.tenant, personaIds), request.dna ?? getDna(pool, context.tenant, company.id).then((record) => record?.data)]);
    if (personas.some((persona) => persona.company_id !== company.id)) throw new PermanentError('A persona given is not one of this company\'s.', { company_id: company.id });
    return { personas: new Map(personas.map((persona) => [persona.id, persona])), context: dnaContext(company, dna) };
  })();
  const plan = planTopics(personaIds, request.postsCount, weeksInMonth(request.year, request.month));
  const model = writingModel(services.config);
  let done = 0;
  const perPersona = await Promise.all(personaIds.filter((personaId) => plan.get(personaId)!.length > 0).map((personaId) => {
    const weeks = plan.get(personaId)!;
    const key = `topics:${request.year}-${request.month}:${personaId}`;
    return context.step(key, async (step) => {
      const { personas, context: context$ } = await load();
      const persona = personas.get(personaId)!;
      const answer = await llm.generateStructured({
        ...(model ? { model } : {}),
        schema: topicsAnswer(weeks.length),
        instructions: topicsInstructions,
        prompt: topicsPrompt(context$, persona, { year: request.year, month: request.month, count: weeks.length, weeks }),
        signal: context.signal,
        context: { taskId: context.taskId, step: key },
      });
      // The plan decides the week, whatever the model wrote: the spread is the product.
      // Ids are chosen here so the checkpoint holds them: a replay returns the rows it saved.
      const topics = answer.object.topics.map((topic, index) => ({ ...topic, id: randomUUID(), week_number: weeks[index]!, persona_id: personaId }));
      step.emit('topics_generated', { company_id: company.id, persona_id: personaId, topics: topics.length, year: request.year, month: request.month });
      await request.after;
      return { topics, ids: topics.map((topic) => topic.id), model: answer.model };
    }, {
      // A checkpoint from before migration content/0002 holds no model.
      save: (transaction, result) => insertTopics(transaction, { tenant: context.tenant, companyId: company.id, taskId: context.taskId, year: request.year, month: request.month, status: request.status, model: result.model ?? null }, result.topics),
    }).then((result) => {
      done += 1;
      onPersonaDone?.(done, personaIds.length);
      return result;
    });
  }));
  return perPersona.flatMap((result) => result.ids);
}

/**
 * One step: a replacement for a rejected topic that sees the supervisor's reason, saved as
 * version + 1 in `status` (`draft` for a run that asks again itself, else `pending_approval`),
 * only while the topic is still `rejected` at `rejection.version` (replaceTopicText). Returns
 * whether the topic was rewritten: false when a person's newer decision (a submit, an approval)
 * came while the model wrote, and stands.
 */
export async function regenerateTopic(services: ContentServices, context: TaskContext<unknown>, company: Company, persona: Persona, topic: Topic, reason: string, rejection: { version: number; key: string }, status: 'draft' | 'pending_approval'): Promise<boolean> {
  const dna = await getDna(services.pool, context.tenant, company.id);
  const model = writingModel(services.config);
  // Keyed by the rejection (its version, and its round at that version), not the row's version: a
  // replay after the rewrite (which bumped the row's) finds this step.
  const key = `regenerate-topic:${topic.id}:${rejection.key}`;
  await context.step(key, async (step) => {
    const answer = await services.llm.generateStructured({
      ...(model ? { model } : {}),
      schema: generatedTopic,
      instructions: topicsInstructions,
      prompt: topicRegenerationPrompt(dnaContext(company, dna?.data), persona, topic, reason),
      signal: context.signal,
      context: { taskId: context.taskId, step: key },
    });
    step.emit('topic_regenerated', { company_id: company.id, topic_id: topic.id, reason });
    return { ...answer.object, week_number: topic.week_number, model: answer.model };
  }, { save: async (transaction, result: GeneratedTopic & { model?: string }) => { await replaceTopicText(transaction, topic.id, result, status, rejection.version, result.model ?? null); } });
  // The save's outcome is not in the checkpoint: the row tells (only this rewrite moves it past the rejected version).
  return (await getTopic(services.pool, context.tenant, topic.id)).version > rejection.version;
}

export function createTopicsTask(services: ContentServices): AnyTaskDefinition[] {
  return contentJob(services, {
    jobType: jobTypes.topics,
    input: topicsInput,
    async run(context, report) {
      const { input } = context;
      if ('topic_id' in input) return rewriteRejectedTopic(services, context, input, report);
      report(5, `planning ${input.posts_count} topics for ${input.year}-${String(input.month).padStart(2, '0')}`);
      const company = await getCompany(services.pool, context.tenant, input.company_id);
      const ids = await writeMonthTopics(services, context, {
        company, year: input.year, month: input.month, postsCount: input.posts_count, personaIds: input.persona_ids, status: input.submit_for_approval ? 'pending_approval' : 'draft',
      }, (done, total) => report(5 + Math.round((done / total) * 90), `${done} of ${total} personas planned`));
      report(100, `${ids.length} topics${input.submit_for_approval ? ' pending approval' : ''}`);
      return { company_id: input.company_id, year: input.year, month: input.month, topics: ids.length, topic_ids: ids };
    },
  });
}

/**
 * generate_topics for one rejected topic: rewritten with the reason in the prompt, version + 1,
 * `pending_approval` again. The rejected version is fixed by the first step, so a replay after
 * the rewrite (which bumped the row's) finds its checkpoint instead of rewriting twice. A
 * rejection's own job (`rejected_at` given) first waits for that rejection to commit and does
 * nothing unless it stands (regeneration.ts); a rewrite that a person's newer decision overtook
 * is not written either. Both end the job completed with `rewritten: false`.
 */
async function rewriteRejectedTopic(services: ContentServices, context: TaskContext<unknown>, input: TopicRegenerationInput, report: (percent: number, message: string) => void): Promise<Record<string, unknown>> {
  const { pool } = services;
  const { tenant } = context;
  const company = await getCompany(pool, tenant, input.company_id);
  const rejected = await context.step('rejected', async () => {
    if (input.rejected_at !== undefined && !(await rejectionStands(pool, tenant, { kind: 'topic', topicId: input.topic_id }, input.rejected_at))) return { version: null };
    const topic = await getTopic(pool, tenant, input.topic_id);
    if (topic.company_id !== company.id) throw new PermanentError(`Topic ${topic.id} is not one of company ${company.id}'s.`, { topic_id: topic.id });
    if (topic.status !== 'rejected') throw new PermanentError(`Topic ${topic.id} is ${topic.status}: only a rejected topic is rewritten.`, { topic_id: topic.id, status: topic.status });
    return { version: topic.version };
  });
  const unchanged = (message: string): Record<string, unknown> => {
    report(100, message);
    return { company_id: company.id, topic_id: input.topic_id, rewritten: false, topics: 0, topic_ids: [] };
  };
  if (rejected.version === null) return unchanged('the rejection this job answers no longer stands: nothing to rewrite');
  // Read after the step: the row as the rejection left it (the prompt quotes its text).
  const topic = await getTopic(pool, tenant, input.topic_id);
  report(10, `rewriting "${topic.title}"`);
  const rewritten = await regenerateTopic(services, context, company, await getPersona(pool, tenant, topic.persona_id), topic, input.rejection_reason, { version: rejected.version, key: `v${rejected.version}` }, 'pending_approval');
  if (!rewritten) return unchanged('the topic was decided again while it was rewritten: the newer decision stands');
  report(100, 'topic rewritten, pending approval');
  return { company_id: company.id, topic_id: topic.id, version: rejected.version + 1, rewritten: true, topics: 1, topic_ids: [topic.id] };
}
