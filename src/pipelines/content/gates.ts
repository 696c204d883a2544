/**
 * Decisions, and how a waiting content_pipeline run hears of them.
 *
 * A run opens a gate (a content_gates row) for each decision it needs: the persona selection,
 * each topic's approval, each blog post's approval. It then waits on the engine's waitpoint
 * `decisions:<phase>:<round>` without a worker slot. A decision (a supervisor approving or
 * rejecting, a marketer selecting personas) moves the row's status, closes its gate with the
 * decision, and completes the run's pending waitpoint: all in the engine's completion
 * transaction (`completeWaitpoint(..., beforeCommit)`), so the decision and the run's wake-up
 * commit together or not at all. A woken run reads every gate of the phase again (the gates, not
 * the waitpoint payload, are the source of truth) and waits for the next round while any is open.
 *
 * A decision can land while the run is between two waitpoints (it has just woken and has not
 * parked again). Then there is no pending waitpoint: the decision commits on its own, and the
 * route looks once more after the commit and completes the run's new waitpoint if there is one.
 * The run registers each wait before it checks the gates (`waitFor`'s `check`), so no
 * interleaving loses the decision: either the run's check reads it (and the run does not park),
 * or the check read before the decision committed, which was after the waitpoint existed, and the
 * route's second look finds it. Only a deciding process dying between its commit and that second
 * look leaves the run to its hourly re-read (pipeline-task.ts).
 *
 * A gate whose run can no longer act on it must not swallow a decision. A phase that passes its
 * deadline closes its open gates as `expired` before it goes on (the persona selection's before
 * the run fails), in an UPDATE that locks the gate rows as a decision's does: a decision that
 * closed a gate first is the run's, which reads it on its next round; one after finds no open
 * gate. A run cancelled or failed while it waited leaves its gates open (none of its code runs
 * then), so a rejection with `regenerate` reads the runs whose gates it closed, in its deciding
 * transaction, and counts only those still active and not being cancelled. A decision no run will
 * act on is one with no run waiting: a rejection with `regenerate` gets a job of its own, submitted
 * before the rejection commits (regeneration.ts). A run cancelled after that read, like one
 * cancelled after the commit but before it woke, never reads the decision.
 *
 * A gate is keyed by the row's version, and a row asked about again at the same version (a
 * rejection without `regenerate`, then a person's edit and a new submit) gets the next round's
 * gate at that version (`:r2`, `:r3`): the run opens it when it finds the row submitted again
 * (pipeline-task.ts).
 */
import { activeStatuses, appendEvents, isUuid, withTransaction, WaitpointResolvedError, type Engine, type PoolClient } from '../../kit/index.ts';
import { NotFoundError } from '../../errors.ts';
import { decisionPhaseOf } from './decision-waits.ts';
import { selectPersonas, type Persona } from './personas-store.ts';
import { editBlogPost, editSocialPost, getBlogPost, getSocialPost, type BlogPost, type SocialPost } from './posts-store.ts';
import { submitRegeneration } from './regeneration.ts';
import { moveStatus, reviewStates, type ReviewableKind } from './review.ts';
import type { Plan } from './schemas.ts';
import type { ContentServices } from './services.ts';
import { editTopic, getTopic, type Topic } from './topics-store.ts';

export type GateKind = 'personas' | 'topic' | 'blog_post';

export interface GateDecision {
  /** `expired`: closed by the run when its phase passed approval_timeout_hours with no decision. */
  decision: 'approved' | 'rejected' | 'selected' | 'expired';
  by: string;
  reason: string | null;
  regenerate: boolean;
}

export interface Gate {
  run_task_id: string;
  gate_key: string;
  kind: GateKind;
  entity_id: string | null;
  version: number;
  decision: GateDecision | null;
  decided_at: string | null;
}

/** `round`: the gate's place among the run's gates on the row at this version (a row submitted again). @default 1 */
export function gateKey(kind: GateKind, entityId: string | null, version: number, round = 1): string {
  return `${kind}:${entityId ?? 'company'}:v${version}${round > 1 ? `:r${round}` : ''}`;
}

/**
 * What names a rejection in the keys of the steps and children that act on it: the gate's version
 * and round (`v3`, `v3:r2`), so a row rejected again at the same version is acted on again.
 */
export function rejectionKey(gate: Pick<Gate, 'gate_key'>): string {
  return gate.gate_key.slice(gate.gate_key.lastIndexOf(':v') + 1);
}

/** Opens gates, one statement for all (idempotent: a replay finds the rows it inserted). Run in a step's save. */
export async function openGates(transaction: PoolClient, scope: { runTaskId: string; tenant: string; companyId: string; kind: GateKind }, gates: Array<{ entityId: string | null; version: number; round?: number }>): Promise<void> {
  await transaction.query(
    `INSERT INTO content_gates (run_task_id, gate_key, tenant, company_id, kind, entity_id, version)
     SELECT $1, gate.key, $2, $3, $4, gate.entity_id, gate.version FROM unnest($5::text[], $6::uuid[], $7::int[]) AS gate (key, entity_id, version)
     ON CONFLICT DO NOTHING`,
    [scope.runTaskId, scope.tenant, scope.companyId, scope.kind, gates.map((gate) => gateKey(scope.kind, gate.entityId, gate.version, gate.round)), gates.map((gate) => gate.entityId), gates.map((gate) => gate.version)],
  );
}

/** The run deciding gates itself (auto_approve): closes them as approved by the run. */
export async function approveGates(transaction: PoolClient, runTaskId: string, kind: GateKind, gates: Array<{ entityId: string; version: number }>): Promise<void> {
  await transaction.query('UPDATE content_gates SET decision = $3, decided_at = now() WHERE run_task_id = $1 AND gate_key = ANY($2::text[])',
    [runTaskId, gates.map((gate) => gateKey(kind, gate.entityId, gate.version)), JSON.stringify({ decision: 'approved', by: `content_pipeline:${runTaskId}`, reason: null, regenerate: false })]);
}

/**
 * Closes the run's open gates on rows a person decided before the gates opened, with the row's
 * decision. A stage's rows wait as drafts until the last is written, and a draft may be submitted
 * and approved (or rejected) meanwhile: a gate opened after that decision would wait for one
 * already made, until the phase's deadline. Run in the save that opens the gates, after it: the
 * rows are read share-locked, so a decision committing meanwhile is waited for and seen here, and
 * one that starts later waits for this commit and finds the gate open.
 */
export async function closeGatesOfDecidedRows(transaction: PoolClient, scope: { runTaskId: string; tenant: string; kind: Exclude<GateKind, 'personas'> }, entityIds: string[]): Promise<number> {
  let closed = 0;
  for (const state of await reviewStates(transaction, scope.tenant, scope.kind, entityIds, { lock: true })) {
    const decision: GateDecision | undefined = state.status === 'approved' || state.status === 'published'
      ? { decision: 'approved', by: state.approved_by ?? 'unknown', reason: null, regenerate: false }
      // A rejection with `regenerate` that found no run waiting got a job of its own (regeneration.ts).
      : state.status === 'rejected' ? { decision: 'rejected', by: state.rejected_by ?? 'unknown', reason: state.rejection_reason, regenerate: false } : undefined;
    if (!decision) continue;
    const updated = await transaction.query('UPDATE content_gates SET decision = $4, decided_at = now() WHERE run_task_id = $1 AND kind = $2 AND entity_id = $3 AND decided_at IS NULL',
      [scope.runTaskId, scope.kind, state.id, JSON.stringify(decision)]);
    closed += updated.rowCount ?? 0;
  }
  return closed;
}

/**
 * Closes the run's open gates of `kind` as expired (its phase passed approval_timeout_hours).
 * Idempotent, and harmless from an attempt that lost its lease (the deadline has passed whoever
 * notices), so not a step: a step's key would have to be new on each replay that finds gates
 * still open.
 */
export async function expireGates(database: PoolClient | ContentServices['pool'], runTaskId: string, kind: GateKind, hours: number): Promise<void> {
  const decision: GateDecision = { decision: 'expired', by: `content_pipeline:${runTaskId}`, reason: `no decision within ${hours} hours (approval_timeout_hours)`, regenerate: false };
  await database.query('UPDATE content_gates SET decision = $3, decided_at = now() WHERE run_task_id = $1 AND kind = $2 AND decided_at IS NULL', [runTaskId, kind, JSON.stringify(decision)]);
}

export async function runGates(database: PoolClient | ContentServices['pool'], runTaskId: string, kind: GateKind): Promise<Gate[]> {
  const result = await database.query<Gate>('SELECT run_task_id, gate_key, kind, entity_id, version, decision, decided_at FROM content_gates WHERE run_task_id = $1 AND kind = $2 ORDER BY created_at, gate_key', [runTaskId, kind]);
  return result.rows;
}

/** Closes the open gates on the entity (or the company's persona gate) with `decision`; returns their runs. */
async function closeGates(transaction: PoolClient, where: { tenant: string; kind: GateKind; entityId?: string; companyId?: string }, decision: GateDecision): Promise<string[]> {
  const closed = await transaction.query<{ run_task_id: string }>(
    `UPDATE content_gates SET decision = $4, decided_at = now()
     WHERE tenant = $1 AND kind = $2 AND ${where.kind === 'personas' ? 'company_id' : 'entity_id'} = $3 AND decided_at IS NULL RETURNING run_task_id`,
    [where.tenant, where.kind, where.kind === 'personas' ? where.companyId : where.entityId, JSON.stringify(decision)],
  );
  return [...new Set(closed.rows.map((row) => row.run_task_id))];
}

/** The open gates' runs for the entity, read before deciding (to find their waitpoints). */
async function openGateRuns(services: ContentServices, where: { tenant: string; kind: GateKind; entityId?: string; companyId?: string }): Promise<string[]> {
  const result = await services.pool.query<{ run_task_id: string }>(
    `SELECT DISTINCT run_task_id FROM content_gates WHERE tenant = $1 AND kind = $2 AND ${where.kind === 'personas' ? 'company_id' : 'entity_id'} = $3 AND decided_at IS NULL`,
    [where.tenant, where.kind, where.kind === 'personas' ? where.companyId : where.entityId],
  );
  return result.rows.map((row) => row.run_task_id);
}

async function pendingDecisionWait(engine: Engine, tenant: string, runTaskId: string): Promise<string | undefined> {
  const waits = await engine.listWaitpoints({ tenant, taskId: runTaskId, status: 'pending' });
  return waits.find((waitpoint) => decisionPhaseOf(waitpoint.key) !== null)?.id;
}

/**
 * The runs among `runTaskIds` that will still read their gates: active and not being cancelled.
 * Read through the deciding transaction, which holds a connection already.
 */
async function activeRuns(engine: Engine, transaction: PoolClient, tenant: string, runTaskIds: string[]): Promise<string[]> {
  const runs: Array<Awaited<ReturnType<Engine['getTask']>> | undefined> = [];
  for (const id of runTaskIds) runs.push(await engine.getTask(id, { tenant, database: transaction }).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }));
  return runs.flatMap((run) => (run && activeStatuses.includes(run.status) && run.cancel_requested_at === null ? [run.id] : []));
}

/**
 * Runs `work` (the decision's writes), closes the gates, then runs `afterClose` with the runs
 * whose gates it closed, all in the transaction that completes the waiting run's waitpoint; without
 * a waiting run, in a transaction of its own. Returns the runs whose gates the decision closed.
 */
async function decideAndWake(services: ContentServices & { engine: Engine }, where: { tenant: string; kind: GateKind; entityId?: string; companyId?: string }, decision: GateDecision, work: (transaction: PoolClient) => Promise<void>, afterClose?: (transaction: PoolClient, runs: string[]) => Promise<void>): Promise<{ runs: string[] }> {
  const { engine } = services;
  // Gates are keyed by uuid columns: an id that is none names no row (not a database error).
  const key = where.kind === 'personas' ? where.companyId : where.entityId;
  if (key === undefined || !isUuid(key)) throw new NotFoundError(where.kind === 'personas' ? 'company' : where.kind.replace('_', ' '), key ?? '');
  const [run] = await openGateRuns(services, where);
  const waitpointId = run ? await pendingDecisionWait(engine, where.tenant, run) : undefined;
  let runs: string[] = [];
  const decideIn = async (transaction: PoolClient): Promise<void> => {
    await work(transaction);
    runs = await closeGates(transaction, where, decision);
    await afterClose?.(transaction, runs);
  };
  // After the commit: the runs whose gates the decision closed and that it has not woken (the one
  // whose wait it completed, if any). A run may have registered its wait between our look and our
  // commit, and a decision on a company's personas closes the gates of every run waiting for it.
  // The decision has committed by then: a failure to wake a run is logged, never answered as the
  // decision's failure (a client retrying it would be told it was already made).
  const wakeOthers = async (woken: string | undefined): Promise<void> => {
    for (const runTaskId of runs) {
      if (runTaskId === woken) continue;
      try {
        const registered = await pendingDecisionWait(engine, where.tenant, runTaskId);
        if (registered) await engine.completeWaitpoint({ id: registered, tenant: where.tenant, payload: { ...where, decision: decision.decision }, completedBy: decision.by });
      } catch (error) {
        // Resolved by now (the run's check saw the decision, or another decision woke it): done.
        if (error instanceof WaitpointResolvedError) continue;
        services.logger.warn({ err: error, runTaskId }, 'a decision committed but could not wake its run; the run re-reads its gates within the hour');
      }
    }
  };
  if (waitpointId) {
    try {
      await engine.completeWaitpoint({ id: waitpointId, tenant: where.tenant, payload: { ...where, decision: decision.decision }, completedBy: decision.by }, (transaction) => decideIn(transaction));
      await wakeOthers(run);
      return { runs };
    } catch (error) {
      // Another decision woke the run first: ours commits alone and the run reads it on its round.
      if (!(error instanceof WaitpointResolvedError)) throw error;
    }
  }
  await withTransaction(services.pool, decideIn);
  await wakeOthers(undefined);
  return { runs };
}

/** How `decide` edits and reads back a row of each kind, in its deciding transaction. */
const decidable: Record<ReviewableKind, {
  edit(transaction: PoolClient, tenant: string, id: string, changes: Record<string, unknown>, by: string): Promise<unknown>;
  read(transaction: PoolClient, tenant: string, id: string): Promise<Topic | BlogPost | SocialPost>;
}> = {
  topic: { edit: editTopic, read: getTopic },
  blog_post: { edit: editBlogPost, read: getBlogPost },
  social_post: { edit: editSocialPost, read: getSocialPost },
};

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

/**
 * Approves or rejects a row; a waiting run hears it in the same transaction. A rejection with
 * `regenerate` is rewritten by the run that asked, or, with no run that will act on it (none
 * asked, the run ended, or its phase passed the deadline), by a new job that sees the reason,
 * submitted before the rejection commits (regeneration.ts: a process dying in between loses
 * nothing). Returns the row as the decision left it, read in the deciding transaction (the run or
 * job that rewrites it may have done so by the time the caller answers), and the job that rewrites
 * it (the run or the new job), else null.
 */
export async function decide(services: ContentServices & { engine: Engine }, request: DecideRequest): Promise<{ decided: Topic | BlogPost | SocialPost; regenerationJobId: string | null }> {
  const decision: GateDecision = { decision: request.decision, by: request.actor, reason: request.reason ?? null, regenerate: request.regenerate ?? false };
  let decided!: Topic | BlogPost | SocialPost;
  let regenerationJobId: string | null = null;
  const work = async (transaction: PoolClient): Promise<void> => {
    const rows = decidable[request.kind];
    if (request.edits) await rows.edit(transaction, request.tenant, request.id, request.edits, request.actor);
    await moveStatus(transaction, request.tenant, request.kind, request.id, request.decision === 'approved' ? 'approve' : 'reject', { actor: request.actor, reason: request.reason });
    decided = await rows.read(transaction, request.tenant, request.id);
  };
  const regenerate = request.decision === 'rejected' && request.regenerate === true;
  /**
   * The decision's `approval_decided` event, in the deciding transaction: in the log of each run
   * that will read it (`readers`: active, not being cancelled), else of the job that wrote the row,
   * so a decision no run waits for is recorded too, and a run's live stream shows it as it lands,
   * not when the run wakes.
   */
  const announce = async (transaction: PoolClient, readers: string[]): Promise<void> => {
    const taskIds = readers.length > 0 ? readers : decided.task_id === null ? [] : [decided.task_id];
    const payload = { company_id: decided.company_id, kind: request.kind, id: request.id, decision: request.decision, by: request.actor, reason: request.reason ?? null };
    await appendEvents(transaction, taskIds.map((taskId) => ({ taskId, tenant: request.tenant, projectId: decided.company_id, type: 'approval_decided', payload })));
  };
  // In the deciding transaction, after the gates closed: a run that will read its gate rewrites
  // the row itself (it reads the reason from the gate); with none, the row's own job is submitted
  // before the rejection commits.
  const assignRegeneration = async (transaction: PoolClient, readers: string[]): Promise<void> => {
    if (!regenerate) return;
    regenerationJobId = readers[0] ?? await submitRegeneration(services, transaction, { tenant: request.tenant, kind: request.kind, id: request.id, reason: request.reason ?? '' });
  };
  if (request.kind === 'social_post') {
    await withTransaction(services.pool, async (transaction) => {
      await work(transaction);
      await assignRegeneration(transaction, []);
      await announce(transaction, []);
    });
  } else {
    await decideAndWake(services, { tenant: request.tenant, kind: request.kind, entityId: request.id }, decision, work, async (transaction, runs) => {
      // Which of the runs whose gates closed will read them: asked once, for both uses.
      const readers = runs.length > 0 ? await activeRuns(services.engine, transaction, request.tenant, runs) : [];
      await assignRegeneration(transaction, readers);
      await announce(transaction, readers);
    });
  }
  return { decided, regenerationJobId };
}

/** Selects personas and wakes a run waiting for the selection, in one transaction. */
export async function selectPersonasAndWake(services: ContentServices & { engine: Engine }, scope: { tenant: string; companyId: string; plan: Plan }, personaIds: string[], actor: string): Promise<Persona[]> {
  let personas: Persona[] = [];
  await decideAndWake(services, { tenant: scope.tenant, kind: 'personas', companyId: scope.companyId }, { decision: 'selected', by: actor, reason: null, regenerate: false }, async (transaction) => {
    personas = await selectPersonas(transaction, scope, personaIds);
  });
  return personas;
}
