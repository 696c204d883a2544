/**
 * Runs a task type's `onFailure` once for each of its tasks that ends without success.
 *
 * A `catch` in the handler cannot cover every ending: a task cancelled while it waits for a retry
 * or a waitpoint runs no code, and a task whose worker died on its last attempt is failed as
 * `abandoned` by another worker's claim. Each of those endings appends `task_failed` or
 * `task_cancelled` to the durable event log in the transaction that ends the task, so a consumer
 * of the log (event-consumer.ts) sees every one of them, whichever process ended it, and a crash
 * between the ending and the handler only delays it.
 *
 * Each task type with a handler has its own cursor (`failure-handler:<type>`): a process runs the
 * handlers of the types it registered, and a type registered later starts at the newest event.
 * The handler writes through the transaction that moves the cursor, so its writes and the record
 * that it ran commit together: exactly once.
 */
import { withSavepoint, type Pool, type PoolClient, type Queryable } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { EventConsumer } from './event-consumer.ts';
import type { TaskEvent } from './event-log.ts';
import type { AnyTaskDefinition } from './task-definition.ts';
import type { TaskRegistry } from './task-registry.ts';
import { taskColumns, type TaskRecord } from './task-store.ts';

/** The events that end a task without success. */
export const failureEventTypes = ['task_failed', 'task_cancelled'] as const;

/**
 * Passes a handler may throw on the same task before it is given up (logged as an error, and
 * the cursor goes on): a handler that can never succeed must not hold back every later failure of
 * its type. Passes run at each settle that ends a task without success and at every worker poll.
 */
export const failureHandlerPasses = 5;

/** What a handler's `event_consumers` row is named by, before its task type. */
const cursorPrefix = 'failure-handler:';

/** The `event_consumers` row of a task type's handler. */
export function failureHandlerCursor(taskType: string): string {
  return `${cursorPrefix}${taskType}`;
}

/**
 * Whether the handler of a task that ended without success is behind it: its ending event lies
 * at or before its type's cursor (the handler ran, or was given up). False while it has not ended.
 */
export async function failureHandlerPassed(database: Queryable, taskId: string): Promise<boolean> {
  const result = await database.query<{ passed: boolean }>(
    `SELECT coalesce(ending.id <= consumer.last_event_id, false) AS passed
     FROM tasks
     JOIN task_events ending ON ending.task_id = tasks.id AND ending.type = ANY($2::text[])
     JOIN event_consumers consumer ON consumer.name = $3 || tasks.task_type
     WHERE tasks.id = $1`,
    [taskId, failureEventTypes, cursorPrefix],
  );
  return result.rows.some((row) => row.passed);
}

export interface FailureHandlersOptions {
  pool: Pool;
  registry: TaskRegistry;
  logger: Logger;
  /** Called with each task whose handler ran and committed. Must not throw. */
  onHandled?: (task: TaskRecord) => void;
}

export class FailureHandlers {
  readonly #options: FailureHandlersOptions;
  readonly #consumers: EventConsumer[];
  /** The tasks whose handlers ran in the pass under way, announced once it commits. */
  #inPass: TaskRecord[] = [];
  /** Task ids whose handler threw, with how many passes it has thrown on. */
  readonly #throws = new Map<string, number>();

  constructor(options: FailureHandlersOptions) {
    this.#options = options;
    this.#consumers = options.registry.list().filter((definition) => definition.onFailure !== undefined).map((definition) => new EventConsumer({
      pool: options.pool,
      name: failureHandlerCursor(definition.type),
      types: failureEventTypes,
      batchSize: 100,
      handle: (events, transaction) => this.#handle(definition, events, transaction),
      committed: () => {
        for (const task of this.#inPass.splice(0)) options.onHandled?.(task);
      },
    }));
  }

  /** Whether tasks of `taskType` have a handler here. */
  handles(taskType: string): boolean {
    return this.#options.registry.has(taskType) && this.#options.registry.get(taskType).onFailure !== undefined;
  }

  /** Creates the cursors this process reads: call it at start, before any task can end. */
  async register(): Promise<void> {
    for (const consumer of this.#consumers) await consumer.register();
  }

  /**
   * Runs every pending handler this process knows. Returns how many ran, and how many of its
   * types' cursors it passed over the log for.
   *
   * Only the cursors behind the newest event get a pass (one statement finds them): a pass is a
   * transaction of four statements per type, and a worker asks for one at every poll. An idle
   * worker of the built-in pipelines, five of whose job types have handlers, sent 24 statements a
   * poll, 20 of them these passes; it now sends 5.
   */
  async run(): Promise<{ handled: number; passed: number }> {
    if (this.#consumers.length === 0) return { handled: 0, passed: 0 };
    const names = this.#consumers.map((consumer) => consumer.name);
    // A cursor not created yet counts as behind: its first pass creates it.
    const behind = await this.#options.pool.query<{ name: string }>(
      `SELECT name FROM unnest($1::text[]) AS name
       EXCEPT SELECT name FROM event_consumers WHERE name = ANY($1::text[]) AND last_event_id >= (SELECT coalesce(max(id), 0) FROM task_events)`,
      [names],
    );
    const toPass = new Set(behind.rows.map((row) => row.name));
    let handled = 0;
    for (const consumer of this.#consumers) if (toPass.has(consumer.name)) handled += await consumer.drain();
    return { handled, passed: toPass.size };
  }

  async #handle(definition: AnyTaskDefinition, events: TaskEvent[], transaction: PoolClient): Promise<void> {
    const result = await transaction.query<TaskRecord>(
      `SELECT ${taskColumns} FROM tasks WHERE id = ANY($1::uuid[]) AND task_type = $2 AND status IN ('failed', 'cancelled')`,
      [[...new Set(events.map((event) => event.task_id))], definition.type],
    );
    const tasks = new Map(result.rows.map((task) => [task.id, task]));
    const { logger } = this.#options;
    const handled: TaskRecord[] = [];
    this.#inPass = handled;
    for (const event of events) {
      const task = tasks.get(event.task_id);
      // Another type's task, one deleted since, or one already handled (two endings cannot both
      // be stored, but an old log may hold both a failure and a cancel of one task).
      if (!task) continue;
      tasks.delete(task.id);
      try {
        await withSavepoint(transaction, () => definition.onFailure!({
          task,
          transaction,
          stepResult: async <Result>(key: string) => (await transaction.query<{ result: Result }>('SELECT result FROM task_steps WHERE task_id = $1 AND key = $2', [task.id, key])).rows[0]?.result,
          logger: logger.child({ taskId: task.id, taskType: task.task_type }),
        }));
        this.#throws.delete(task.id);
        handled.push(task);
      } catch (error) {
        const passes = (this.#throws.get(task.id) ?? 0) + 1;
        if (passes < failureHandlerPasses) {
          this.#throws.set(task.id, passes);
          logger.warn({ err: error, taskId: task.id, taskType: task.task_type, passes }, 'a failure handler threw; it runs again at the next pass');
          handled.length = 0;
          throw error;
        }
        this.#throws.delete(task.id);
        logger.error({ err: error, taskId: task.id, taskType: task.task_type, passes }, 'a failure handler threw on every pass; given up, its task\'s records are left as they are');
      }
    }
  }
}
