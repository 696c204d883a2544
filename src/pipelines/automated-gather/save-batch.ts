/**
 * One iteration's "deduplicate, save and index" step, run inside the step's transaction so the
 * items, their index entries (built-in brain) and the checkpoint commit together.
 *
 * LLM calls: one embedding call for the whole batch, plus at most one judge call when the judge
 * is on and some pair falls in the borderline band.
 */
import type { PoolClient } from '../../db/pool.ts';
import { serializeError } from '../../errors.ts';
import type { Brain } from '../../integrations/brain/index.ts';
import type { LlmGateway } from '../../llm/index.ts';
import { contentHash, semanticDuplicates, type StoredVector } from './dedup.ts';
import { departmentEmbeddings, departmentHashes, insertItems, type AutomationMetadata, type NewGatherItem } from './items-store.ts';
import { judgeInstructions, judgePrompt } from './prompts.ts';
import { judgeOutput, type GeneratedItem } from './schemas.ts';

export interface SaveBatchOptions {
  transaction: PoolClient;
  llm: LlmGateway;
  brain: Brain;
  scope: { tenant: string; projectId: string; department: string };
  items: GeneratedItem[];
  metadata: AutomationMetadata;
  createdBy: string | null;
  taskId: string;
  stepKey: string;
  signal: AbortSignal;
  threshold: number;
  judge: { enabled: boolean; lowerBound: number };
  /** Called for problems that do not stop the run (Brain unavailable); appended as warnings. */
  warn: (code: string, message: string, details?: Record<string, unknown>) => Promise<void>;
  /**
   * The department's stored vectors for the embedding model, when the caller already knows them
   * (from the previous save of this attempt); undefined: read them from the database.
   */
  knownVectors?: { model: string; vectors: StoredVector[] } | undefined;
  /** Receives the department's vectors after the insert (stored + new), for the next iteration. */
  onVectors?: (known: { model: string; vectors: StoredVector[] }) => void;
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
  llmCalls: { embed: number; judge: number };
}

export async function saveBatch(options: SaveBatchOptions): Promise<SaveBatchResult> {
  const { transaction, llm, brain, scope } = options;
  const result: SaveBatchResult = { generated: options.items.length, created: 0, itemIds: [], exactDuplicates: 0, semanticDuplicates: 0, judgedDuplicates: 0, brainDuplicates: 0, indexed: 0, llmCalls: { embed: 0, judge: 0 } };

  // 1. Exact: normalised hash against the department and the batch itself.
  const seen = await departmentHashes(transaction, scope);
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
  if (candidates.length === 0) return result;

  // 2. Semantic: one batched embedding call, cosine against stored vectors and the batch.
  const embedded = await llm.embedTexts({ texts: candidates.map((candidate) => candidate.item.content), signal: options.signal, context: { taskId: options.taskId, step: options.stepKey } });
  result.llmCalls.embed += 1;
  // Reading a department's vectors back costs ~10 ms per iteration (real[] parsing); within one
  // attempt the previous save's vectors are reused. Only this run writes the department meanwhile
  // (one gather per project at a time), so they are exactly what the table holds.
  const stored: StoredVector[] = options.knownVectors?.model === embedded.model
    ? options.knownVectors.vectors
    : await departmentEmbeddings(transaction, scope, embedded.model);
  const storedText = async (id: string): Promise<string> => {
    const row = await transaction.query<{ content: string }>('SELECT content FROM gather_items WHERE id = $1', [id]);
    return row.rows[0]?.content ?? '';
  };
  const verdicts = semanticDuplicates(
    candidates.map((_, index) => ({ index, embedding: embedded.embeddings[index] ?? [] })),
    stored,
    { threshold: options.threshold, ...(options.judge.enabled ? { borderlineFrom: options.judge.lowerBound } : {}) },
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
        tenant: scope.tenant, projectId: scope.projectId, content: candidate.item.content, threshold: options.threshold, limit: 1, type: 'gather', department: scope.department, signal: options.signal,
      })));
      matches.forEach((found, position) => {
        if (found.length > 0) {
          dropped.add(survivors[position]!.index);
          result.brainDuplicates += 1;
        }
      });
    } catch (error) {
      if (options.signal.aborted) throw error;
      await options.warn('brain_unavailable', `Brain duplicate search failed; kept the items the local check passed: ${serializeError(error).message}`, { operation: 'search_duplicates' });
    }
  }

  const scoreOf = new Map(verdicts.map((verdict) => [verdict.index, verdict.bestScore]));
  const toInsert: NewGatherItem[] = candidates
    .map((candidate, index) => ({ candidate, index }))
    .filter(({ index }) => !dropped.has(index))
    .map(({ candidate, index }) => ({
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
      taskId: options.taskId,
    }));
  const inserted = await insertItems(transaction, scope, toInsert);
  result.created = inserted.length;
  result.itemIds = inserted.map((item) => item.id);
  const vectorOf = new Map(toInsert.map((item) => [item.contentHash, item.embedding]));
  options.onVectors?.({
    model: embedded.model,
    vectors: [...stored, ...inserted.flatMap((item) => {
      const embedding = vectorOf.get(item.contentHash);
      return embedding ? [{ id: item.id, embedding }] : [];
    })],
  });

  // Index in the Brain in this same step: built in, that is the rows above; the service gets them
  // with their taskloom ids, so a replayed step can be recognised there.
  if (inserted.length > 0) {
    try {
      const indexed = await brain.indexItems(
        { tenant: scope.tenant, projectId: scope.projectId },
        inserted.map((item) => ({ id: item.id, department: scope.department, content: item.content, summary: item.summary, context: item.context, properties: { ...options.metadata, contentHash: item.contentHash } })),
        transaction,
        options.signal,
      );
      result.indexed = indexed.indexed;
    } catch (error) {
      if (options.signal.aborted) throw error;
      await options.warn('brain_unavailable', `Brain indexing failed; the items are saved in taskloom only: ${serializeError(error).message}`, { operation: 'index', items: inserted.length });
    }
  }
  return result;
}
