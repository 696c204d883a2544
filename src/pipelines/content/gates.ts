/**
 * Decisions: a supervisor approves or rejects a topic, blog post or social post; a marketer
 * selects personas. The decision and the wake-up of the content_pipeline run waiting for it
 * commit in one transaction: the row's status moves, the run's gate closes, and the engine's
 * waitpoint completes (requeuing the run), or none of it happens.
 *
 * A rejection may ask for a regeneration. With a run waiting, the run regenerates (the decision
 * it receives carries the reason); without one, a generation job is submitted with the reason.
 */
import { ValidationError } from '../../errors.ts';
import { withTransaction, type Engine, type PoolClient } from '../../kit/index.ts';
import { ConflictError } from './errors.ts';
import { selectPersonas, type Persona } from './personas-store.ts';
import { editBlogPost, editSocialPost, getBlogPost, getSocialPost } from './posts-store.ts';
import { moveStatus, type ReviewableKind } from './review.ts';
import { jobTypes, taskTypeFor, type Plan } from './schemas.ts';
import type { ContentServices } from './services.ts';
import { editTopic } from './topics-store.ts';
import { getCompany } from './companies-store.ts';

export interface GateDecision {
  decision: 'approved' | 'rejected';
  by: string;
  reason: string | null;
  regenerate: boolean;
}

interface OpenGate {
  run_task_id: string;
  gate_key: string;
  waitpoint_id: string | null;
}

/** Closes the open gates on (kind, entity) or, for `personas`, on the company, and wakes their runs. */
async function closeGates(transaction: PoolClient, engine: Engine, where: { tenant: string; kind: 'personas' | 'topic' | 'blog_post'; entityId?: string; companyId?: string }, payload: Record<string, unknown>): Promise<number> {
  const gates = await transaction.query<OpenGate>(
    where.kind === 'personas'
      ? 'UPDATE content_gates SET decision = $4, decided_at = now() WHERE tenant = $1 AND kind = $2 AND company_id = $3 AND decided_at IS NULL RETURNING run_task_id, gate_key, waitpoint_id'
      : 'UPDATE content_gates SET decision = $4, decided_at = now() WHERE tenant = $1 AND kind = $2 AND entity_id = $3 AND decided_at IS NULL RETURNING run_task_id, gate_key, waitpoint_id',
    [where.tenant, where.kind, where.entityId ?? where.companyId, JSON.stringify(payload)],
  );
  for (const gate of gates.rows) await wakeRun(transaction, engine, gate, payload);
  return gates.rows.length;
}

/** Completes the run's waitpoint for this gate in `transaction`. */
async function wakeRun(_transaction: PoolClient, _engine: Engine, _gate: OpenGate, _payload: Record<string, unknown>): Promise<void> {
  // Wired to the engine's waitpoints once they land (see the "waits:" commits).
}

export interface DecideRequest {
  tenant: string;
  kind: ReviewableKind;
  id: string;
  decision: 'approved' | 'rejected';
  actor: string;
  reason?: string | undefined;
  regenerate?: boolean | undefined;
  edits?: Record<string, unknown> | undefined;
}

export async function decide(services: ContentServices & { engine: Engine }, request: DecideRequest): Promise<void> {
  const { engine, pool } = services;
  const payload: GateDecision = { decision: request.decision, by: request.actor, reason: request.reason ?? null, regenerate: request.regenerate ?? false };
  const woken = await withTransaction(pool, async (transaction) => {
    if (request.edits) {
      if (request.kind === 'topic') await editTopic(transaction, request.tenant, request.id, request.edits, request.actor);
      else if (request.kind === 'blog_post') await editBlogPost(transaction, request.tenant, request.id, request.edits, request.actor);
      else await editSocialPost(transaction, request.tenant, request.id, request.edits, request.actor);
    }
    await moveStatus(transaction, request.tenant, request.kind, request.id, request.decision === 'approved' ? 'approve' : 'reject', { actor: request.actor, reason: request.reason });
    if (request.kind === 'social_post') return 0;
    return closeGates(transaction, engine, { tenant: request.tenant, kind: request.kind, entityId: request.id }, { ...payload });
  });
  if (woken > 0 || request.decision !== 'rejected' || !request.regenerate) return;
  // No run waits for this row: a regeneration is a new job that sees the reason.
  await submitRegeneration(services, request);
}

async function submitRegeneration(services: ContentServices & { engine: Engine }, request: DecideRequest): Promise<void> {
  const { engine, pool } = services;
  if (request.kind === 'topic') {
    throw new ConflictError('regeneration_needs_run', 'The topic is rejected; regenerating a single topic is done by the content_pipeline run that planned it, and none waits for this one. Generate topics again or edit it and submit it for approval.', { topic_id: request.id });
  }
  if (request.kind === 'blog_post') {
    const post = await getBlogPost(pool, request.tenant, request.id);
    const company = await getCompany(pool, request.tenant, post.company_id);
    // The topic stays approved: it is the post that is rewritten.
    await engine.submit({ taskType: taskTypeFor(jobTypes.blogpost, company.plan), tenant: request.tenant, projectId: company.id, input: { company_id: company.id, topic_id: post.topic_id, rejection_reason: request.reason } });
    return;
  }
  const social = await getSocialPost(pool, request.tenant, request.id);
  const company = await getCompany(pool, request.tenant, social.company_id);
  // generate_social needs an approved post; the blog post is approved, only this platform is redone.
  await engine.submit({ taskType: taskTypeFor(jobTypes.social, company.plan), tenant: request.tenant, projectId: company.id, input: { company_id: company.id, blog_post_id: social.blog_post_id, platforms: [social.platform], rejection_reason: request.reason } });
}

/** Selects personas and wakes a run waiting for the selection, in one transaction. */
export async function selectPersonasAndWake(services: ContentServices & { engine: Engine }, scope: { tenant: string; companyId: string; plan: Plan }, personaIds: string[]): Promise<Persona[]> {
  if (personaIds.length === 0) throw new ValidationError('Select at least one persona.');
  return withTransaction(services.pool, async (transaction) => {
    const personas = await selectPersonas(transaction, scope, personaIds);
    await closeGates(transaction, services.engine, { tenant: scope.tenant, kind: 'personas', companyId: scope.companyId }, { persona_ids: personas.map((persona) => persona.id) });
    return personas;
  });
}
