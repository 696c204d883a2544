/**
 * Submitting a task: validate, record, enqueue, announce, all in one transaction. Either the
 * task exists with its pg-boss job and its `task_queued` event, or nothing was written.
 * Invalid input is rejected before any transaction starts.
 */
import { randomUUID } from 'node:crypto';
import type { DatabaseError } from 'pg';
import { ConcurrencyConflictError, ValidationError } from '../errors.ts';
import { withTransaction, type Pool, type Queryable } from '../db/pool.ts';
import { bossDatabase, type Boss } from './boss.ts';
import { appendEvents } from './event-log.ts';
import { queuePolicy } from './queues.ts';
import { groupOption } from './settle.ts';
import type { AnyTaskDefinition } from './task-definition.ts';
import type { TaskRegistry } from './task-registry.ts';
import { findActiveExclusive, findByIdempotencyKey, insertTasks, type NewTask, type TaskRecord } from './task-store.ts';
import { z } from 'zod';

export interface SubmitRequest {
  taskType: string;
  input: unknown;
  /** @default 'default' */
  tenant?: string;
  /** @default the task type's projectId(input), else input.project_id */
  projectId?: string;
  /** A second submit with the same key (per tenant) returns the first task. */
  idempotencyKey?: string;
  callbackUrl?: string;
  /** @default the task type's priority, else its queue's */
  priority?: number;
  /** The task submitting this one as its child (set by `context.submitChild`). */
  parentTaskId?: string;
}

export interface SubmitResult {
  task: TaskRecord;
  /** false when an idempotency key matched an existing task. */
  created: boolean;
}

/** zod issues as `{path, message}` pairs, the shape every validation error carries. */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
}

export function validateInput(definition: AnyTaskDefinition, input: unknown): unknown {
  const parsed = definition.input.safeParse(input ?? {});
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new ValidationError(
      `Invalid input for task type "${definition.type}": ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      { task_type: definition.type, issues },
    );
  }
  return parsed.data;
}

export function projectIdOf(definition: AnyTaskDefinition, input: unknown): string | null {
  if (definition.projectId) return definition.projectId(input) ?? null;
  const candidate = (input as { project_id?: unknown } | null)?.project_id;
  return typeof candidate === 'string' || typeof candidate === 'number' ? String(candidate) : null;
}

export interface SubmitDependencies {
  pool: Pool;
  boss: Boss;
  registry: TaskRegistry;
}

/** A validated submit, ready to insert. */
interface PreparedSubmit {
  task: NewTask;
  definition: AnyTaskDefinition;
  /** The exclusive key, for reporting a conflict. */
  exclusiveKey: string | null;
}

function prepare(registry: TaskRegistry, request: SubmitRequest): PreparedSubmit {
  const definition = registry.get(request.taskType);
  const input = validateInput(definition, request.input);
  const queue = queuePolicy(definition.queue);
  const key = definition.concurrency?.key(input);
  const exclusiveKey = key !== undefined && definition.concurrency?.onConflict === 'reject' ? key : null;
  return {
    definition,
    exclusiveKey,
    task: {
      id: randomUUID(),
      jobId: randomUUID(),
      tenant: request.tenant ?? 'default',
      projectId: request.projectId ?? projectIdOf(definition, input),
      taskType: definition.type,
      queue: definition.queue,
      priority: request.priority ?? definition.priority ?? queue.priority,
      input,
      maxAttempts: definition.maxAttempts ?? queue.maxAttempts,
      idempotencyKey: request.idempotencyKey ?? null,
      concurrencyKey: key ?? null,
      exclusiveKey,
      callbackUrl: request.callbackUrl ?? definition.callbackUrl?.(input) ?? null,
      parentTaskId: request.parentTaskId ?? null,
    },
  };
}

/**
 * Inserts tasks, their pg-boss jobs and `task_queued` events on `transaction` (the caller
 * commits). Tasks whose idempotency key already exists come back as `created: false` with the
 * existing task, and get no job.
 */
async function insertPrepared(transaction: Queryable, boss: Boss, batch: PreparedSubmit[]): Promise<SubmitResult[]> {
  const created = new Map((await insertTasks(transaction, batch.map((item) => item.task))).map((task) => [task.id, task]));
  const results: SubmitResult[] = [];
  for (const item of batch) {
    const task = created.get(item.task.id);
    if (task) {
      results.push({ task, created: true });
      continue;
    }
    const existing = await findByIdempotencyKey(transaction, item.task.tenant, item.task.idempotencyKey!);
    results.push({ task: existing!, created: false });
  }
  const jobsByQueue = new Map<string, Array<{ id: string; data: { taskId: string }; priority: number; group?: { id: string } }>>();
  for (const item of batch) {
    if (!created.has(item.task.id)) continue;
    const jobs = jobsByQueue.get(item.task.queue) ?? [];
    jobs.push({
      id: item.task.jobId,
      data: { taskId: item.task.id },
      priority: item.task.priority,
      ...groupOption({ tenant: item.task.tenant, task_type: item.task.taskType, concurrency_key: item.task.concurrencyKey }),
    });
    jobsByQueue.set(item.task.queue, jobs);
  }
  for (const [queue, jobs] of jobsByQueue) await boss.insert(queue, jobs, { db: bossDatabase(transaction) });
  await appendEvents(transaction, results.filter((result) => result.created).map(({ task }) => ({
    taskId: task.id,
    tenant: task.tenant,
    projectId: task.project_id,
    type: 'task_queued',
    payload: { task_type: task.task_type, queue: task.queue, priority: task.priority },
  })));
  return results;
}

/** Submits inside the caller's transaction (for example a schedule firing during a claim). */
export async function submitInTransaction(transaction: Queryable, dependencies: Omit<SubmitDependencies, 'pool'>, request: SubmitRequest): Promise<SubmitResult> {
  const [result] = await insertPrepared(transaction, dependencies.boss, [prepare(dependencies.registry, request)]);
  return result!;
}

interface PendingSubmit {
  prepared: PreparedSubmit;
  resolve: (result: SubmitResult) => void;
  reject: (error: unknown) => void;
}

/** Largest group committed together. */
const maxBatch = 500;

/**
 * Group commit for submits: requests arriving while a transaction is in flight are written
 * together in the next one. One submit alone costs one transaction as before; under load a
 * transaction carries many, so the event-order lock and the commit are paid once per batch.
 * A batch that fails as a whole (one task's exclusive key is taken) is retried one request per
 * transaction, so only the conflicting request fails.
 */
export class SubmitBatcher {
  readonly #dependencies: SubmitDependencies;
  #pending: PendingSubmit[] = [];
  #flushing = false;

  constructor(dependencies: SubmitDependencies) {
    this.#dependencies = dependencies;
  }

  /** Validates at once (throwing before anything is written), then joins the next commit. */
  submit(request: SubmitRequest): Promise<SubmitResult> {
    const prepared = prepare(this.#dependencies.registry, request);
    return new Promise((resolve, reject) => {
      this.#pending.push({ prepared, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        void this.#flushLoop();
      }
    });
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, maxBatch);
        try {
          const results = await withTransaction(this.#dependencies.pool, (transaction) => insertPrepared(transaction, this.#dependencies.boss, batch.map((item) => item.prepared)));
          batch.forEach((item, index) => item.resolve(results[index]!));
        } catch (error) {
          if (batch.length === 1) {
            batch[0]!.reject(await this.#explain(batch[0]!.prepared, error));
            continue;
          }
          for (const item of batch) {
            try {
              const [result] = await withTransaction(this.#dependencies.pool, (transaction) => insertPrepared(transaction, this.#dependencies.boss, [item.prepared]));
              item.resolve(result!);
            } catch (singleError) {
              item.reject(await this.#explain(item.prepared, singleError));
            }
          }
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Turns a clash on the exclusive-key index into a conflict naming the active task. */
  async #explain(prepared: PreparedSubmit, error: unknown): Promise<unknown> {
    const databaseError = error as DatabaseError;
    if (databaseError.code === '23505' && databaseError.constraint === 'tasks_exclusive_key' && prepared.exclusiveKey !== null) {
      const active = await findActiveExclusive(this.#dependencies.pool, prepared.task.tenant, prepared.task.taskType, prepared.exclusiveKey).catch(() => undefined);
      return new ConcurrencyConflictError(prepared.task.taskType, prepared.exclusiveKey, active?.id ?? 'unknown');
    }
    return error;
  }
}
