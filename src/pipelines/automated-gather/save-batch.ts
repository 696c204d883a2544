/**
 * One iteration's "deduplicate, save and index" step, in two phases:
 *
 * - `planBatch` runs outside any transaction: it reads the department's hashes and vectors, makes
 *   the embedding call (and the judge and Brain-service calls), and decides which items to keep,
 *   giving each its id up front.
 * - `insertPlannedItems` runs in the step's commit transaction, so the items (and any stored
 *   vectors the plan embedded again) and the checkpoint commit together (the built-in brain's
 *   index is the rows themselves).
 *
 * The Brain service is indexed by a step of its own after the save (`indexInBrainService`): it is
 * HTTP, and no transaction may stay open across it.
 *
 * LLM calls: one embedding call for the whole batch, one more when stored items need embedding
 * again (another embedding made their vectors), plus at most one judge call when the judge is on
 * and some pair falls in the borderline band.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from '../../kit/index.ts';
import { serializeError, TaskloomError } from '../../errors.ts';
import type { Brain } from '../../integrations/brain/index.ts';
import { refuseOfflineFallback, resolveDuplicateThreshold, type LlmGateway } from '../../llm/index.ts';
import { contentHash, semanticDuplicates, type StoredVector } from './dedup.ts';
import { departmentEmbeddings, departmentHashes, insertItems, replaceEmbeddings, staleEmbeddingItems, type AutomationMetadata, type EmbeddingIdentity, type NewGatherItem } from './items-store.ts';
import { judgeInstructions, judgePrompt } from './prompts.ts';
import { judgeOutput, type GeneratedItem } from './schemas.ts';

export interface SaveBatchOptions {
  pool: Pool;
  llm: LlmGateway;
  brain: Brain;
  scope: { tenant: string; projectId: string; department: string };
  items: GeneratedItem[];
  metadata: AutomationMetadata;
  createdBy: string | null;
  taskId: string;
  stepKey: string;
  signal: AbortSignal;
  /**
   * Cosine at or above which an item is a duplicate.
   * @default the embedding model's measured threshold (src/llm/duplicate-thresholds.ts)
   */
  threshold?: number | undefined;
  /**
   * The similarity the Brain service's duplicate search is asked for: its own scores, on its own
   * embeddings, so not `threshold` (tuned for the local model: 0.75 for `offline:embedding`).
   */
  brainThreshold: number;
  /** `lowerBound` @default 0.1 below the duplicate threshold */
  judge: { enabled: boolean; lowerBound?: number | undefined };
  /** Called for problems that do not stop the run (Brain unavailable); recorded as warnings. */
  warn: (code: string, message: string, details?: Record<string, unknown>) => void;
  /**
   * The department's stored vectors for the embedding model, when the caller already knows them
   * (from the previous save of this attempt); undefined: read them from the database.
   */
  knownVectors?: KnownVectors | undefined;
}

/** A department's vectors and the embedding that made them. */
export interface KnownVectors {
  embedding: EmbeddingIdentity;
  vectors: StoredVector[];
}

function sameEmbedding(left: EmbeddingIdentity, right: EmbeddingIdentity): boolean {
  return left.model === right.model && left.version === right.version && left.dimensions === right.dimensions;
}

export interface SaveBatchResult {
  generated: number;
  created: number;
  itemIds: string[];
  exactDuplicates: number;
  semanticDuplicates: number;
  judgedDuplicates: number;
  brainDuplicates: number;
  indexed: number;
  /** Stored items embedded again because another embedding (an older model) made their vectors. */
  reembedded?: number;
  /** The threshold the semantic pass used (absent in results checkpointed before it was recorded). */
  duplicateThreshold?: number;
  llmCalls: { embed: number; judge: number };
}

export interface BatchPlan {
  /** The step's result (what later attempts read back). */
  result: SaveBatchResult;
  /** The rows to insert at the commit, ids chosen. */
  items: NewGatherItem[];
  /** Stored items' new vectors (another embedding made the old ones), written at the commit. */
  reembedded?: { embedding: EmbeddingIdentity; vectors: StoredVector[] } | undefined;
  /** The department's vectors once these items are in (stored + new), for the next iteration. */
  vectors: KnownVectors | undefined;
}

export async function planBatch(options: SaveBatchOptions): Promise<BatchPlan> {
  const { pool, llm, brain, scope } = options;
  const result: SaveBatchResult = { generated: options.items.length, created: 0, itemIds: [], exactDuplicates: 0, semanticDuplicates: 0, judgedDuplicates: 0, brainDuplicates: 0, indexed: 0, reembedded: 0, llmCalls: { embed: 0, judge: 0 } };

  // 1. Exact: normalised hash against the department and the batch itself.
  const seen = await departmentHashes(pool, scope);
  const candidates: Array<{ item: GeneratedItem; hash: string }> = [];
  for (const item of options.items) {
    const hash = contentHash(item.content);
    if (seen.has(hash)) {
      result.exactDuplicates += 1;
      continue;
    }
    seen.add(hash);
    candidates.push({ item, hash });
  }
  if (candidates.length === 0) return { result, items: [], vectors: options.knownVectors };

  // 2. Semantic: one batched embedding call, cosine against stored vectors and the batch.
  const embedded = await llm.embedTexts({ texts: candidates.map((candidate) => candidate.item.content), signal: options.signal, context: { taskId: options.taskId, step: options.stepKey } });
  result.llmCalls.embed += 1;
  const embedding: EmbeddingIdentity = { model: embedded.model, version: embedded.version, dimensions: embedded.embeddings[0]?.length ?? 0 };
  // Reading a department's vectors back costs ~10 ms per iteration (real[] parsing); within one
  // attempt the previous save's vectors are reused. Only this run writes the department meanwhile
  // (one gather per project at a time), so they are exactly what the table holds.
  let stored: StoredVector[];
  let reembedded: BatchPlan['reembedded'];
  if (options.knownVectors && sameEmbedding(options.knownVectors.embedding, embedding)) {
    stored = options.knownVectors.vectors;
  } else {
    stored = await departmentEmbeddings(pool, scope, embedding);
    // Items an older embedding made (another model, or `offline:embedding` before it was word
    // vectors) are embedded again, once, rather than compared across embeddings or ignored; the
    // new vectors are written with the step's commit.
    const stale = await staleEmbeddingItems(pool, scope, embedding);
    if (stale.length > 0) {
      const again = await llm.embedTexts({ model: embedding.model, texts: stale.map((item) => item.content), signal: options.signal, context: { taskId: options.taskId, step: options.stepKey } });
      result.llmCalls.embed += 1;
      if (again.version === embedding.version) {
        const vectors = stale.map((item, index) => ({ id: item.id, embedding: again.embeddings[index] ?? [] })).filter((item) => item.embedding.length === embedding.dimensions);
        reembedded = { embedding, vectors };
        result.reembedded = vectors.length;
        stored = [...stored, ...vectors];
      }
    }
  }
  const resolvedThreshold = resolveDuplicateThreshold(options.threshold, embedding);
  const threshold = resolvedThreshold.duplicate;
  result.duplicateThreshold = threshold;
  const borderlineFrom = options.judge.enabled ? options.judge.lowerBound ?? threshold - 0.1 : undefined;
  // Start-up refuses an empty band only when both bounds are set; a model's own threshold is
  // known here, once its vectors are.
  if (borderlineFrom !== undefined && borderlineFrom >= threshold) {
    options.warn('judge_band_empty', `The judge is on but never asked: TASKLOOM_GATHER_JUDGE_LOWER_BOUND=${borderlineFrom} is not below the duplicate threshold ${threshold} of ${embedding.model} (${resolvedThreshold.basis}). Lower the bound, or set TASKLOOM_GATHER_DUPLICATE_THRESHOLD above it.`, { lower_bound: borderlineFrom, threshold });
  }
  const storedText = async (id: string): Promise<string> => {
    const row = await pool.query<{ content: string }>('SELECT content FROM gather_items WHERE id = $1', [id]);
    return row.rows[0]?.content ?? '';
  };
  const verdicts = semanticDuplicates(
    candidates.map((_, index) => ({ index, embedding: embedded.embeddings[index] ?? [] })),
    stored,
    { threshold, ...(borderlineFrom === undefined ? {} : { borderlineFrom }) },
  );
  const dropped = new Set<number>();
  for (const verdict of verdicts) {
    if (verdict.status === 'duplicate') {
      dropped.add(verdict.index);
      result.semanticDuplicates += 1;
    }
  }

  // 3. Borderline pairs (judge on only): one call for all of them.
  const borderline = verdicts.filter((verdict) => verdict.status === 'borderline' && verdict.bestMatch !== null);
  if (borderline.length > 0) {
    const textOf = async (reference: string): Promise<string> => (reference.startsWith('batch:') ? candidates[Number(reference.slice(6))]?.item.content ?? '' : storedText(reference));
    const pairs = await Promise.all(borderline.map(async (verdict, position) => ({ pair: position + 1, index: verdict.index, newText: candidates[verdict.index]!.item.content, existingText: await textOf(verdict.bestMatch!) })));
    const judged = await llm.generateStructured({
      purpose: 'judging',
      schema: judgeOutput,
      instructions: judgeInstructions,
      prompt: judgePrompt(pairs),
      signal: options.signal,
      context: { taskId: options.taskId, step: options.stepKey },
    });
    // A template verdict would drop or keep items at random: the provider failed.
    refuseOfflineFallback(judged, llm.resolveModel('judging'), 'is not a judgement of these items');
    result.llmCalls.judge += 1;
    for (const verdict of judged.object.verdicts) {
      const pair = pairs[verdict.pair - 1];
      if (pair && verdict.duplicate && !dropped.has(pair.index)) {
        dropped.add(pair.index);
        result.judgedDuplicates += 1;
      }
    }
  }

  // The Brain service may know nodes taskloom does not (made by other tools): ask it too.
  if (brain.kind === 'service') {
    const survivors = candidates.map((candidate, index) => ({ candidate, index })).filter(({ index }) => !dropped.has(index));
    try {
      const matches = await Promise.all(survivors.map(({ candidate }) => brain.searchDuplicates({
        tenant: scope.tenant, projectId: scope.projectId, content: candidate.item.content, threshold: options.brainThreshold, limit: 1, type: 'gather', department: scope.department, signal: options.signal,
      })));
      matches.forEach((found, position) => {
        if (found.length > 0) {
          dropped.add(survivors[position]!.index);
          result.brainDuplicates += 1;
        }
      });
    } catch (error) {
      if (options.signal.aborted) throw error;
      options.warn('brain_unavailable', `Brain duplicate search failed; kept the items the local check passed: ${serializeError(error).message}`, { operation: 'search_duplicates' });
    }
  }

  const scoreOf = new Map(verdicts.map((verdict) => [verdict.index, verdict.bestScore]));
  const toInsert: NewGatherItem[] = candidates
    .map((candidate, index) => ({ candidate, index }))
    .filter(({ index }) => !dropped.has(index))
    .map(({ candidate, index }) => ({
      id: randomUUID(),
      department: scope.department,
      content: candidate.item.content,
      summary: candidate.item.summary,
      context: candidate.item.context,
      isAutomated: true,
      createdBy: options.createdBy,
      duplicateCheckScore: scoreOf.get(index) ?? 0,
      automationMetadata: options.metadata,
      contentHash: candidate.hash,
      embedding: embedded.embeddings[index] ?? null,
      embeddingModel: embedded.model,
      embeddingVersion: embedded.version,
      taskId: options.taskId,
    }));
  result.created = toInsert.length;
  result.itemIds = toInsert.map((item) => item.id!);
  // Builtin: the rows are the index. The service is indexed by its own step after the commit.
  result.indexed = brain.kind === 'service' ? 0 : toInsert.length;
  return {
    result,
    items: toInsert,
    reembedded,
    vectors: {
      embedding,
      vectors: [...stored, ...toInsert.flatMap((item) => (item.embedding ? [{ id: item.id!, embedding: item.embedding }] : []))],
    },
  };
}

/** A concurrent writer stored one of the planned items first; the step runs again from its reads. */
export class ItemsChangedError extends TaskloomError {
  constructor(planned: number, inserted: number) {
    super('items_changed', `${planned - inserted} of ${planned} planned gather items were stored by someone else meanwhile; the save step runs again.`, { retryable: true });
  }
}

/** The save phase: inserts exactly what the plan chose, or nothing, and writes the vectors it embedded again. */
export async function insertPlannedItems(transaction: PoolClient, scope: { tenant: string; projectId: string }, plan: Pick<BatchPlan, 'items' | 'reembedded'> | undefined): Promise<void> {
  if (!plan) return;
  if (plan.reembedded) await replaceEmbeddings(transaction, plan.reembedded.embedding, plan.reembedded.vectors);
  const inserted = await insertItems(transaction, scope, plan.items);
  if (inserted.length !== plan.items.length) throw new ItemsChangedError(plan.items.length, inserted.length);
}

/**
 * Indexes saved items in the Brain service with their taskloom ids (so a replay is recognisable
 * there). A failure is a warning: the items stay saved in taskloom.
 *
 * The call does not take the task's signal: the items are saved, and a cancel or soft timeout
 * arriving during it would leave them out of the Brain for good (no later attempt runs this step,
 * and later runs' context, duplicate search and coverage read the Brain). The client's timeout
 * per request (10 s) bounds how long it can hold the stop.
 */
export async function indexInBrainService(
  options: { brain: Brain; pool: Pool; scope: { tenant: string; projectId: string; department: string }; itemIds: string[]; metadata: AutomationMetadata; warn: SaveBatchOptions['warn'] },
): Promise<number> {
  const { brain, pool, scope } = options;
  if (options.itemIds.length === 0) return 0;
  const rows = await pool.query<{ id: string; content: string; summary: string; context: string; content_hash: string }>(
    'SELECT id, content, summary, context, content_hash FROM gather_items WHERE id = ANY($1::uuid[]) ORDER BY created_at, id',
    [options.itemIds],
  );
  try {
    const indexed = await brain.indexItems(
      { tenant: scope.tenant, projectId: scope.projectId },
      rows.rows.map((item) => ({ id: item.id, department: scope.department, content: item.content, summary: item.summary, context: item.context, properties: { ...options.metadata, contentHash: item.content_hash } })),
      pool,
    );
    return indexed.indexed;
  } catch (error) {
    options.warn('brain_unavailable', `Brain indexing failed; the items are saved in taskloom only: ${serializeError(error).message}`, { operation: 'index', items: rows.rows.length });
    return 0;
  }
}
