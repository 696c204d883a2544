/**
 * `content_pipeline`: the whole chain for one company and month as one durable run.
 *
 *   dna (a step) -> personas (a step) -> selection (a gate unless persona_ids or
 *   auto_select_personas) -> topics (a step per persona, in parallel) -> a supervisor's approval
 *   per topic (gates) -> blog posts (one child generate_blogpost per approved topic, in parallel)
 *   -> an approval per post (gates) -> social posts (one child generate_social per approved post
 *   and platform, in parallel)
 *
 * The steps of one stage start from the previous stage's answer while its checkpoint commits
 * (pipelined-step.ts). While it waits for people the run holds no worker slot (status `waiting`),
 * for days if need be, and survives restarts: every stage is a child task or a checkpointed step,
 * and the handler replays them from the top on resume. A rejection with `regenerate` makes the run rewrite the
 * topic or post with the reason in the prompt and ask again. With `auto_approve` the run approves
 * each topic and post itself (benchmarks, trusted tenants).
 *
 * Each gate phase has a deadline, `approval_timeout_hours` after it opened. The topic and post
 * phases then close their open gates (expired) and go on with what was approved; the persona
 * selection closes its gate and fails the run (`approval_timed_out`): with nothing selected there
 * is nothing to go on with.
 */
import { pipelinedStep, withTransaction, type AnyTaskDefinition, type ChildOutcome, type PipelinedStep, type TaskContext } from '../../kit/index.ts';
import { PermanentError } from '../../errors.ts';
import { isOfflineModel } from '../../llm/index.ts';
import { getCompany, getDna, type Company } from './companies-store.ts';
import { researchDna } from './dna-task.ts';
import { ApprovalTimedOutError } from './errors.ts';
import { decisionWaitPrefix } from './decision-waits.ts';
import { approveGates, closeGatesOfDecidedRows, expireGates, openGates, rejectionKey, runGates, type Gate, type GateKind } from './gates.ts';
import { contentJob } from './job.ts';
import { writePersonas } from './personas-task.ts';
import { getPersona, listPersonas, selectPersonas } from './personas-store.ts';
import { getBlogPost } from './posts-store.ts';
import { lockedReviewState, moveStatuses, reviewState, reviewStates, type ReviewState } from './review.ts';
import { jobTypes, personaCaps, personaCount, pipelineInput, taskTypeFor, type CompanyDna, type PipelineInput } from './schemas.ts';
import { writingModel, type ContentServices } from './services.ts';
import { editedByPerson } from './edits.ts';
import { writtenOffline } from './written-by.ts';
import { regenerateTopic, writeMonthTopics } from './topics-task.ts';
import { getTopic } from './topics-store.ts';

/**
 * How long a decision wait lasts before the run re-reads its gates anyway. Not for the race of a
 * decision landing while the run reads (each wait registers first and checks after, see gates.ts):
 * only for a decision whose wake-up is sent after its commit (one that landed between two waits,
 * or a second run waiting for the same persona selection) when the deciding process dies between
 * that commit and the wake-up.
 */
const recheckMs = 60 * 60 * 1000;

/** How long a decision wait lasts: until the phase's deadline, re-reading hourly. The caller checks the deadline first. */
function waitMs(deadline: number): number {
  return Math.max(1000, Math.min(recheckMs, deadline - Date.now()));
}

interface StageUsage {
  calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
}

/** The stage a model call the run made itself belongs to, by its step's key. */
function stageOfStep(step: string): string | undefined {
  if (step === 'dna' || step === 'personas') return step;
  if (step.startsWith('topics:') || step.startsWith('regenerate-topic:')) return 'topics';
  return undefined;
}

export function createPipelineTask(services: ContentServices): AnyTaskDefinition[] {
  const { pool } = services;
  return contentJob<PipelineInput>(services, {
    jobType: jobTypes.pipeline,
    input: pipelineInput,
    // An attempt runs between two waits; children do the model work.
    hardTimeoutMs: 600_000,
    // Approving is a supervisor's: a run that approves its own topics and posts skips them.
    requiresAdminKey: (input) => (input.auto_approve ? 'auto_approve approves the run\'s topics and posts without a supervisor' : undefined),
    async run(context, report, readUsage) {
      const { input, tenant } = context;
      const company = await getCompany(pool, tenant, input.company_id);
      const childType = (jobType: (typeof jobTypes)[keyof typeof jobTypes]): string => taskTypeFor(jobType, company.plan);
      const usage: Record<string, StageUsage> = {};
      const add = (stage: string, llm: StageUsage): void => {
        const entry = usage[stage] ??= { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
        entry.calls += llm.calls;
        entry.input_tokens += llm.input_tokens;
        entry.output_tokens += llm.output_tokens;
        entry.cost_usd = entry.cost_usd === null || llm.cost_usd === null ? null : entry.cost_usd + llm.cost_usd;
      };
      const count = (stage: string, outcomes: ChildOutcome[]): void => {
        for (const outcome of outcomes) {
          const result = outcome.result as { llm_usage?: StageUsage; children_llm_usage?: StageUsage } | null;
          for (const llm of [result?.llm_usage, result?.children_llm_usage]) if (llm) add(stage, llm);
        }
      };
      /**
       * A stage announced (its pipeline_stage event, the run's progress) by a step of its own.
       * Pipelined: the stage's work starts at once, and its first checkpoint follows this one,
       * which follows `after` (the previous stage's last), so the events keep their order.
       */
      const announce = (name: string, percent: number, message: string, after?: Promise<unknown>): PipelinedStep<null> => pipelinedStep(context, `stage:${name}`, async (step) => {
        step.emit('pipeline_stage', { company_id: company.id, stage: name, message });
        report(percent, message);
        await after;
        return null;
      });
      const stage = (name: string, percent: number, message: string): Promise<unknown> => announce(name, percent, message).committed;
      /**
       * A stage of child tasks: one step announces it and submits the children (keys `name:i`,
       * as submitAndWait would), then the run waits for them. The step keeps the children's ids,
       * so the replay after each later wake-up reads them back instead of submitting every child
       * of every earlier stage again (measured: 15-65 ms per wake-up under load, growing with
       * the stages behind it).
       */
      const childStage = async (name: string, percent: number, message: string, requests: Array<{ taskType: string; input: unknown }>): Promise<ChildOutcome[]> => {
        const children = await context.step(`stage:${name}:children`, async (step) => {
          step.emit('pipeline_stage', { company_id: company.id, stage: name, message });
          report(percent, message);
          const submitted = await Promise.all(requests.map((request, index) => context.submitChild(`${name}:${index}`, request.taskType, request.input)));
          return submitted.map((child) => child.taskId);
        });
        return context.waitForChildren(name, children);
      };
      const requireCompleted = (what: string, outcomes: ChildOutcome[]): void => {
        const failed = outcomes.find((outcome) => outcome.status !== 'completed');
        if (failed) throw new PermanentError(`${what} ${failed.status}: ${(failed.error as { message?: string } | null)?.message ?? 'no detail'} (task ${failed.taskId}).`, { child_task_id: failed.taskId, stage: what });
      };

      // 1. DNA and personas, unless the company has them and reuse is asked for (decided once:
      // a replay must take the same path even though the DNA exists by then). The offline
      // model's stand-ins are not reused once a provider's model would write them instead,
      // unless a person has edited them: then they are the person's, not a stand-in.
      const planned = pipelinedStep(context, 'plan', async () => {
        const [dna, personas] = input.reuse_existing ? await Promise.all([getDna(pool, tenant, company.id), listPersonas(pool, tenant, company.id)]) : [undefined, []];
        const nowOffline = { research: isOfflineModel(services.llm.resolveModel('research')), writing: isOfflineModel(services.llm.resolveModel('generation', writingModel(services.config))) };
        const rewriteDna = dna !== undefined && writtenOffline(dna.model) && !nowOffline.research && !(await editedByPerson(pool, tenant, 'company_dna', [company.id]));
        const rewritePersonas = personas.length > 0 && !nowOffline.writing && personas.every((persona) => writtenOffline(persona.model))
          && !(await editedByPerson(pool, tenant, 'persona', personas.map((persona) => persona.id)));
        return {
          dna: dna === undefined || rewriteDna,
          personas: personas.length === 0 || rewritePersonas,
          // DNA, personas and topics are steps of the run: a model call each (one per persona
          // for topics) that the run waits for anyway, where a child task cost a hand-off before
          // and after it (submit, claim; settle, wake, claim and replay the run), 30-110 ms a
          // stage on bench:content. A run planned before this (parked at a decision across an
          // upgrade) has no such field and finishes the way it started, with child tasks.
          stages_in_run: true,
        };
      });
      const plan: { dna: boolean; personas: boolean; stages_in_run?: boolean } = await planned.value;
      const stagesInRun = plan.stages_in_run === true;
      let dna: CompanyDna | undefined;
      // The checkpoint the next stage's must follow (pipelined-step.ts).
      let previous: Promise<unknown> = planned.committed;
      if (!stagesInRun) await previous;
      if (plan.dna && stagesInRun) {
        const announced = announce('dna', 5, `researching ${company.name}`, previous);
        const research = researchDna(services, context, company, { key: 'dna', after: announced.committed });
        dna = (await research.value).dna;
        previous = research.committed;
      } else if (plan.dna) {
        const outcomes = await childStage('dna', 5, `researching ${company.name}`, [{ taskType: childType(jobTypes.dna), input: { company_id: company.id } }]);
        requireCompleted('generate_dna', outcomes);
        count('dna', outcomes);
      }
      if (plan.personas && stagesInRun) {
        const announced = announce('personas', 15, `writing ${personaCount} personas`, previous);
        dna ??= (await getDna(pool, tenant, company.id))?.data;
        previous = writePersonas(services, context, company, dna, personaCount, { key: 'personas', after: announced.committed }).committed;
      } else if (plan.personas) {
        const outcomes = await childStage('personas', 15, `writing ${personaCount} personas`, [{ taskType: childType(jobTypes.personas), input: { company_id: company.id } }]);
        requireCompleted('generate_personas', outcomes);
        count('personas', outcomes);
      }
      // The selection reads the stored personas.
      await previous;

      // 2. The selection: given, automatic, or a marketer's (a gate).
      const selection = selectedPersonas(services, context, company, input, plan.personas ? personaCount : 0, report);
      const selected = await selection.value;

      // 3. Topics, then a decision per topic.
      const topicsMessage = `planning ${input.posts_count} topics over ${selected.length} personas`;
      let topicIds: string[];
      if (stagesInRun) {
        const announced = announce('topics', 30, topicsMessage, selection.committed);
        topicIds = await writeMonthTopics(services, context, { company, dna, year: input.year, month: input.month, postsCount: input.posts_count, personaIds: selected, status: 'draft', after: announced.committed });
      } else {
        await selection.committed;
        const topicOutcomes = await childStage('topics', 30, topicsMessage, [{
          taskType: childType(jobTypes.topics),
          input: { company_id: company.id, year: input.year, month: input.month, posts_count: input.posts_count, persona_ids: selected, submit_for_approval: false },
        }]);
        requireCompleted('generate_topics', topicOutcomes);
        count('topics', topicOutcomes);
        topicIds = (topicOutcomes[0]!.result as { topic_ids: string[] }).topic_ids;
      }
      const approvedTopics = await decideAll(services, context, company, input, 'topic', topicIds, { stage: 'topic_approval', percent: 40, message: `${topicIds.length} topics wait for approval`, report }, async (id, gate) => {
        const topic = await getTopic(pool, tenant, id);
        await regenerateTopic(services, context, company, await getPersona(pool, tenant, topic.persona_id), topic, gate.decision!.reason ?? '', { version: gate.version, key: rejectionKey(gate) }, 'draft');
        return true;
      });

      // 4. Blog posts for the approved topics, in parallel, then a decision per post.
      const postOutcomes = await childStage('blogposts', 50, `writing ${approvedTopics.length} blog posts`, approvedTopics.map((topicId) => ({
        taskType: childType(jobTypes.blogpost),
        input: { company_id: company.id, topic_id: topicId, min_words: input.min_words, max_words: input.max_words, submit_for_approval: false },
      })));
      count('blogposts', postOutcomes);
      const postIds = postOutcomes.filter((outcome) => outcome.status === 'completed').map((outcome) => (outcome.result as { blog_post_id: string }).blog_post_id);
      const failedPosts = postOutcomes.filter((outcome) => outcome.status !== 'completed').map((outcome) => outcome.taskId);
      const approvedPosts = await decideAll(services, context, company, input, 'blog_post', postIds, { stage: 'blogpost_approval', percent: 70, message: `${postIds.length} blog posts wait for approval`, report }, async (id, gate) => {
        const post = await getBlogPost(pool, tenant, id);
        // Keyed by the rejection (its version and round), not the row's version: a replay after
        // the rewrite finds its child.
        const key = `rewrite:${id}:${rejectionKey(gate)}`;
        const outcomes = await context.submitAndWait(key, [{
          taskType: childType(jobTypes.blogpost),
          // The version the rejection left: a person who edits and submits the post before the
          // rewrite writes wins (the row is then read as after a rejection without regenerate).
          input: { company_id: company.id, topic_id: post.topic_id, min_words: input.min_words, max_words: input.max_words, rejection_reason: gate.decision!.reason ?? 'rejected', rejected_version: gate.version, submit_for_approval: false },
        }]);
        // Its outcome, recorded once for the run's result (below).
        await context.step(`${key}:outcome`, async () => outcomes[0]!);
        // A rewrite that failed is one post short, not a failed month: its job's failure handler
        // puts the post back as the rejection left it, and the phase goes on with the others.
        return outcomes[0]!.status === 'completed';
      });
      // Every rewrite of the phase, each once: the outcomes recorded for the rejections that asked
      // for one. A replay calls `regenerate` only for a row whose newest gate asks for a rewrite,
      // so counting there missed every rewrite that succeeded in an earlier attempt and counted a
      // failed one again on each round.
      const failedRewrites: string[] = [];
      for (const gate of await runGates(pool, context.taskId, 'blog_post')) {
        if (gate.decision?.decision !== 'rejected' || !gate.decision.regenerate) continue;
        const rewrite = await context.recorded<ChildOutcome>(`rewrite:${gate.entity_id}:${rejectionKey(gate)}:outcome`);
        if (!rewrite) continue;
        count('blogposts', [rewrite.value]);
        if (rewrite.value.status !== 'completed') failedRewrites.push(rewrite.value.taskId);
      }

      // 5. Social posts for the approved posts: one generate_social child per post and platform,
      // submitted together (a generate_social per post fanning out per platform would add a
      // level of hand-offs to the critical path for the same work).
      const socialOutcomes = await childStage('social', 85, `social posts for ${approvedPosts.length} blog posts on ${input.platforms.length} platforms`, approvedPosts.flatMap((postId) => input.platforms.map((platform) => ({
        taskType: childType(jobTypes.social),
        input: { company_id: company.id, blog_post_id: postId, platforms: [platform] },
      }))));
      count('social', socialOutcomes);
      if (input.auto_approve) {
        // The run decides these too: the social posts its children wrote, pending approval. One a
        // person decided meanwhile keeps that decision.
        const socialPostIds = socialOutcomes.filter((outcome) => outcome.status === 'completed').map((outcome) => (outcome.result as { social_post_id?: string | null }).social_post_id).filter((id): id is string => typeof id === 'string');
        // A person deciding one between the read and the save fails the save (invalid_status);
        // the attempt's retry reads again.
        await context.step('approve:social', async (step) => {
          const pending = (await reviewStates(pool, tenant, 'social_post', socialPostIds)).filter((state) => state.status === 'pending_approval').map((state) => state.id);
          for (const id of pending) step.emit('approval_decided', { company_id: company.id, kind: 'social_post', id, decision: 'approved', by: `content_pipeline:${context.taskId}`, reason: null });
          return { ids: pending };
        }, {
          save: async (transaction, result) => { await moveStatuses(transaction, tenant, 'social_post', result.ids, 'approve', { actor: `content_pipeline:${context.taskId}` }); },
        });
      }
      // The run's own model calls (DNA, personas, topics and rewritten topics) by stage, read
      // while the last stage's step commits.
      const [, own] = await Promise.all([stage('done', 100, 'done'), readUsage()]);
      for (const [step, used] of Object.entries(own?.byStep ?? {})) {
        const name = stageOfStep(step);
        if (name) add(name, { calls: used.calls, input_tokens: used.inputTokens, output_tokens: used.outputTokens, cost_usd: used.costUsd });
      }
      return {
        company_id: company.id,
        year: input.year,
        month: input.month,
        personas: selected,
        topics: topicIds.length,
        topics_approved: approvedTopics.length,
        blog_posts: postIds.length,
        blog_posts_failed: failedPosts,
        blog_post_rewrites_failed: failedRewrites,
        blog_posts_approved: approvedPosts.length,
        social_tasks: socialOutcomes.map((outcome) => ({ task_id: outcome.taskId, status: outcome.status })),
        llm_usage_by_stage: usage,
      };
    },
  });
}

/**
 * The personas the month is written for. Chosen automatically (the first of those the run wrote,
 * or of the company's when it wrote none, up to the plan's cap: always a valid selection), the topics start from the ids while the selection
 * commits (a pipelined step; with the personas and topics stored in one statement each, the
 * topics stage's overhead in warm bench:content runs went from 11 to 7 ms), and the stage's
 * checkpoints follow `committed`. Given ids are checked by the selection's save first, so a bad
 * one fails the run before any topic is written.
 */
function selectedPersonas(services: ContentServices, context: TaskContext<PipelineInput>, company: Company, input: PipelineInput, written: number, report: (percent: number, message: string) => void): PipelinedStep<string[]> {
  const { pool } = services;
  const { tenant } = context;
  if (input.persona_ids || input.auto_select_personas) {
    const chosen = pipelinedStep(context, 'select-personas', async () => {
      const personas = await listPersonas(pool, tenant, company.id);
      // A run that wrote personas (`reuse_existing: false`, or a company with none) selects among
      // those it wrote, appended after the company's others; picking the first by position took
      // the old ones and archived the new.
      const candidates = written > 0 ? personas.slice(-written) : personas;
      const ids = input.persona_ids ?? candidates.slice(0, personaCaps[company.plan]).map((persona) => persona.id);
      return { ids };
    }, { save: async (transaction, result) => { await selectPersonas(transaction, { tenant, companyId: company.id, plan: company.plan }, result.ids); } });
    const committed = chosen.committed.then((result) => result.ids);
    const value = input.persona_ids ? committed : chosen.value.then((result) => result.ids);
    // The caller awaits one of the two; the other must not surface as an unhandled rejection.
    committed.catch(() => {});
    value.catch(() => {});
    return { value, committed };
  }
  const decided = decidedPersonas(services, context, company, input, report);
  return { value: decided, committed: decided };
}

/** The personas a marketer selects: a gate, and the run waits (without a slot) for the decision. */
async function decidedPersonas(services: ContentServices, context: TaskContext<PipelineInput>, company: Company, input: PipelineInput, report: (percent: number, message: string) => void): Promise<string[]> {
  const { pool } = services;
  const { tenant, taskId } = context;
  await context.step('gate:personas', async (step) => {
    // Said as the other gates say it: the run's progress read "writing 6 personas" while it waited.
    const cap = personaCaps[company.plan];
    const message = `waiting for a marketer to select ${cap > 3 ? `3 to ${cap}` : cap} personas`;
    step.emit('pipeline_stage', { company_id: company.id, stage: 'persona_selection', message });
    report(20, message);
    step.emit('approval_requested', { company_id: company.id, kind: 'personas', id: company.id, version: 1 });
    return null;
  }, { save: (transaction) => openGates(transaction, { runTaskId: taskId, tenant, companyId: company.id, kind: 'personas' }, [{ entityId: null, version: 1 }]) });
  const opened = await context.step('gate:personas:opened', async () => ({ at: Date.now() }));
  const deadline = opened.at + input.approval_timeout_hours * 3_600_000;
  // Selected, not merely closed: the run closes the gate itself (expired) at the deadline.
  const decided = async (): Promise<boolean> => (await runGates(pool, taskId, 'personas'))[0]?.decision?.decision === 'selected';
  const active = async (): Promise<string[]> => (await listPersonas(pool, tenant, company.id, { status: 'active' })).map((persona) => persona.id);
  for (let round = 0; ; round += 1) {
    if (await decided()) return active();
    if (Date.now() >= deadline) {
      // Closed before the run fails, so a selection from now on finds no run waiting (it still
      // selects); one that closed the gate first is the run's.
      await expireGates(pool, taskId, 'personas', input.approval_timeout_hours);
      if (await decided()) return active();
      throw new ApprovalTimedOutError({ run_task_id: taskId, company_id: company.id, gate: 'personas', approval_timeout_hours: input.approval_timeout_hours });
    }
    await context.waitFor(`${decisionWaitPrefix}personas:${round}`, {
      timeoutMs: waitMs(deadline),
      check: async () => ((await decided()) ? { payload: null } : undefined),
    });
  }
}

/**
 * Asks for a decision on each row (a gate per row and version), waits until every gate is
 * decided, regenerating rejected rows that ask for it (then asking again), and returns the
 * approved ids in the order given. With auto_approve the run approves each row itself.
 * `regenerate` answers false when the rewrite failed: the row is not asked about again, unless a
 * person edits and submits it before the phase ends.
 */
async function decideAll(services: ContentServices, context: TaskContext<PipelineInput>, company: Company, input: PipelineInput, kind: Exclude<GateKind, 'personas'>, ids: string[], announce: { stage: string; percent: number; message: string; report: (percent: number, message: string) => void }, regenerate: (id: string, gate: Gate) => Promise<boolean>): Promise<string[]> {
  const { pool } = services;
  const { tenant, taskId } = context;
  /**
   * One step opens the gates of `rowIds` at their current versions. The drafts become decidable
   * (draft -> pending_approval) in the transaction that opens their gates, so no decision on them
   * can come before the gate that hears it; with auto_approve they are approved in it too. A row a
   * person submitted and decided before (a draft can be submitted by hand) has its gate closed
   * with that decision in the same transaction (`closeGatesOfDecidedRows`). One
   * transaction for the phase, not one per row: the run's transactions take the event-order
   * lock one after another, so per-row steps cost a commit each on the critical path.
   */
  const open = (key: string, rowIds: string[], stage?: typeof announce): Promise<{ at: number }> => context.step(key, async (step) => {
    const states = await reviewStates(pool, tenant, kind, rowIds);
    if (stage) {
      step.emit('pipeline_stage', { company_id: company.id, stage: stage.stage, message: stage.message });
      stage.report(stage.percent, stage.message);
    }
    for (const state of states) step.emit('approval_requested', { company_id: company.id, kind, id: state.id, version: state.version });
    // The run's own decisions, as a person's are recorded (gates.ts); rows asked about before are not the run's to decide.
    if (input.auto_approve) for (const state of states.filter((entry) => entry.status === 'draft')) step.emit('approval_decided', { company_id: company.id, kind, id: state.id, decision: 'approved', by: `content_pipeline:${taskId}`, reason: null });
    return { at: Date.now(), rows: states.map((state) => ({ id: state.id, version: state.version, draft: state.status === 'draft' })) };
  }, {
    save: async (transaction, result) => {
      await openGates(transaction, { runTaskId: taskId, tenant, companyId: company.id, kind }, result.rows.map((row) => ({ entityId: row.id, version: row.version })));
      // Only drafts: a row already asked about (a replay of a run from before this step existed) keeps its decision.
      const drafts = result.rows.filter((row) => row.draft);
      await moveStatuses(transaction, tenant, kind, drafts.map((row) => row.id), 'submit');
      if (input.auto_approve) {
        await moveStatuses(transaction, tenant, kind, drafts.map((row) => row.id), 'approve', { actor: `content_pipeline:${taskId}` });
        await approveGates(transaction, taskId, kind, drafts.map((row) => ({ entityId: row.id, version: row.version })));
      }
      await closeGatesOfDecidedRows(transaction, { runTaskId: taskId, tenant, kind }, result.rows.map((row) => row.id));
    },
  });
  // A phase that ended stays ended. The run replays it on every later wake-up, and a row a person
  // submitted again since (a topic rejected, then edited and resubmitted while the posts are
  // written) would open a gate and park the run back in a phase whose result it has acted on.
  const endedKey = `phase:${kind}:ended`;
  const ended = await context.recorded<string[]>(endedKey);
  if (ended) return ended.value;
  const started = await open(`gates:${kind}`, ids, announce);
  const deadline = started.at + input.approval_timeout_hours * 3_600_000;

  /** Each row's newest gate (a regenerated row has one per version, a row submitted again one per round). */
  const latestGates = async (): Promise<Map<string, Gate>> => {
    const latest = new Map<string, Gate>();
    // In the order they were opened: of two gates at one version, the later round wins.
    for (const gate of await runGates(pool, taskId, kind)) if (!latest.has(gate.entity_id!) || latest.get(gate.entity_id!)!.version <= gate.version) latest.set(gate.entity_id!, gate);
    return latest;
  };
  /**
   * A row rejected (without regenerate, or whose rewrite a newer decision overtook) that a person
   * edited and submitted again: one step opens its next round's gate at its version, so its
   * decision reaches this run. Keyed by when the row was last changed, so a later submission gets
   * a step of its own. The save opens the gate only while the row, share-locked, is still
   * pending at that version: a decision that came first is read from the row on the next round.
   */
  const openAgain = (state: ReviewState): Promise<unknown> => context.step(`gate:${kind}:${state.id}:v${state.version}:resubmitted:${Date.parse(state.updated_at)}`, async (step) => {
    const round = 1 + (await runGates(pool, taskId, kind)).filter((gate) => gate.entity_id === state.id && gate.version === state.version).length;
    step.emit('approval_requested', { company_id: company.id, kind, id: state.id, version: state.version });
    return { version: state.version, round };
  }, {
    save: async (transaction, result) => {
      const locked = await lockedReviewState(transaction, tenant, kind, state.id);
      if (locked.status === 'pending_approval' && locked.version === result.version) await openGates(transaction, { runTaskId: taskId, tenant, companyId: company.id, kind }, [{ entityId: state.id, version: result.version, round: result.round }]);
    },
  });
  for (let round = 0; ; round += 1) {
    let current = await latestGates();
    let rewrote = false;
    for (const id of ids) {
      const gate = current.get(id);
      if (gate?.decision?.decision !== 'rejected' || !gate.decision.regenerate) continue;
      // Its approval_decided event was written with the decision (gates.ts).
      // False: the rewrite failed. The row is then read below as after a rejection without
      // regenerate (it is not `pending_approval` again, so it is not asked about again).
      if (!(await regenerate(id, gate))) continue;
      const rewritten = await reviewState(pool, tenant, kind, id);
      // Not rewritten: a person submitted or approved the row while the model wrote, and their
      // newer decision stands. The row is then read below as after a rejection without regenerate.
      if (rewritten.version <= gate.version) continue;
      rewrote = true;
      await open(`gate:${kind}:${id}:v${rewritten.version}`, [id]);
    }
    if (rewrote) current = await latestGates();
    // Rows whose newest gate is a rejection are the run's to read again: submitted again, they get
    // a new gate (before the deadline); approved since (submitted and approved between two of the
    // run's reads, with no gate open to tell it), they count as approved.
    const rejected = ids.filter((id) => current.get(id)?.decision?.decision === 'rejected');
    const approvedSince = new Set<string>();
    let reopened = false;
    for (const state of rejected.length > 0 ? await reviewStates(pool, tenant, kind, rejected) : []) {
      if (state.status === 'approved' || state.status === 'published') approvedSince.add(state.id);
      else if (state.status === 'pending_approval' && Date.now() <= deadline) {
        await openAgain(state);
        reopened = true;
      }
    }
    // Read everything again: a gate the save did not open (the row was decided first) leaves the
    // row to be read as it is now.
    if (reopened) continue;
    const undecided = ids.filter((id) => !current.get(id)?.decided_at);
    // A gate opened before its row's decision was looked for at opening (a run parked across the
    // upgrade that added it): closed here with the row's decision, then everything read again.
    if (undecided.length > 0 && (await withTransaction(pool, (transaction) => closeGatesOfDecidedRows(transaction, { runTaskId: taskId, tenant, kind }, undecided))) > 0) continue;
    if (undecided.length === 0) {
      const approved = ids.filter((id) => current.get(id)?.decision?.decision === 'approved' || approvedSince.has(id));
      return context.step(endedKey, async () => approved);
    }
    if (Date.now() > deadline) {
      // Past the deadline the phase goes on with what was approved. Its open gates close first,
      // so a decision from now on finds no run waiting (a rejection with regenerate gets a job of
      // its own); one that closed a gate first is read on the next round, which then returns
      // (as does every replay: all the phase's gates are closed).
      await expireGates(pool, taskId, kind, input.approval_timeout_hours);
      continue;
    }
    // Registered, then checked: a decision that landed since the read above wakes this round.
    await context.waitFor(`${decisionWaitPrefix}${kind}:${round}`, {
      timeoutMs: waitMs(deadline),
      check: async () => {
        const now = await latestGates();
        return undecided.some((id) => now.get(id)?.decided_at) ? { payload: null } : undefined;
      },
    });
  }
}
