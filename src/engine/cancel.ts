/**
 * Cancellation from any process. A queued, retrying or waiting task, or a running one no attempt
 * holds (no lease), is cancelled at once (a waiting task's pending waitpoints with it). A running
 * task
 * is marked `cancel_requested_at` and its worker, wherever it is, hears a NOTIFY and aborts the
 * task's signal; the worker then records the outcome. A worker that dies before hearing it still
 * sees the mark when the task is next claimed.
 *
 * Lock order: a claim locks queue rows, then task rows. Cancel holds the task row, so it removes
 * the task's queue row only if no claim holds it (see ready-queue.ts); a claim that holds it
 * finds the task cancelled and discards the row itself, so the task never runs whichever side
 * gets there first.
 *
 * Children: cancelling a task cancels its unfinished child tasks, each in a transaction of its
 * own after the parent's commits (a child settling locks the child, then its parent; taking the
 * parent first here and then the children would deadlock against it). A child submitted after
 * that listing, by a handler that had not heard of the cancel yet, is cancelled when its parent's
 * attempt ends cancelled (settle.ts).
 */
import { withTransaction, type Pool } from '../db/pool.ts';
import { NotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { appendEvents } from './event-log.ts';
import { dequeueUnlessClaimed } from './ready-queue.ts';
import { cancelPendingWaitpoints, resolveChildWaits } from './waitpoints.ts';
import { taskColumns, type TaskRecord, type TaskStatus } from './task-store.ts';

export const cancelChannel = 'taskloom_cancel';

export interface CancelResult {
  task_id: string;
  previous_state: TaskStatus;
  status: TaskStatus;
  message: string;
}

export async function cancelTask(dependencies: { pool: Pool; logger: Logger }, taskId: string, options: { tenant?: string; reason?: string } = {}): Promise<CancelResult> {
  const result = await withTransaction(dependencies.pool, async (transaction): Promise<CancelResult> => {
    const found = await transaction.query<TaskRecord>(
      `SELECT ${taskColumns} FROM tasks WHERE id = $1 ${options.tenant === undefined ? '' : 'AND tenant = $2'} FOR NO KEY UPDATE`,
      options.tenant === undefined ? [taskId] : [taskId, options.tenant],
    );
    const task = found.rows[0];
    if (!task) throw new NotFoundError('Task', taskId);
    const previous = task.status;
    if (previous === 'completed' || previous === 'failed' || previous === 'cancelled') {
      return { task_id: taskId, previous_state: previous, status: previous, message: `Task already ${previous}; nothing to cancel.` };
    }
    // A running task that no attempt holds (its worker died and it waits to be resumed, or a
    // claim's clean-up failed) has no one to hear a request: it is cancelled here, as queued.
    if (previous === 'running' && task.lease !== null) {
      await transaction.query(`UPDATE tasks SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now() WHERE id = $1`, [taskId]);
      await transaction.query(`SELECT pg_notify('${cancelChannel}', $1)`, [taskId]);
      return { task_id: taskId, previous_state: previous, status: 'running', message: 'Cancellation requested; the running task is being stopped.' };
    }
    await transaction.query(
      `UPDATE tasks SET status = 'cancelled', cancel_requested_at = now(), completed_at = now(), updated_at = now(), next_attempt_at = NULL WHERE id = $1`,
      [taskId],
    );
    await dequeueUnlessClaimed(transaction, taskId);
    await cancelPendingWaitpoints(transaction, [taskId]);
    if (task.parent_task_id !== null) await resolveChildWaits(transaction, [task.parent_task_id]);
    await appendEvents(transaction, [{ taskId, tenant: task.tenant, projectId: task.project_id, type: 'task_cancelled', payload: { previous_state: previous, reason: options.reason ?? 'requested' } }]);
    return { task_id: taskId, previous_state: previous, status: 'cancelled', message: 'Task cancelled.' };
  });
  if (result.previous_state !== result.status || result.status === 'running') await cancelChildren(dependencies, taskId, options);
  return result;
}

/**
 * Cancels the unfinished children of a task (and theirs) that no cancel has reached yet, best
 * effort: a child's failure is logged; a failure to list them is the caller's. Also run by the
 * settler when a task ends cancelled (settle.ts), for children submitted after the first listing.
 */
export async function cancelChildren(dependencies: { pool: Pool; logger: Logger }, parentId: string, options: { tenant?: string }): Promise<void> {
  const children = await dependencies.pool.query<{ id: string }>(
    `SELECT id FROM tasks WHERE parent_task_id = $1 AND status IN ('queued', 'running', 'retrying', 'waiting') AND cancel_requested_at IS NULL`,
    [parentId],
  );
  for (const child of children.rows) {
    await cancelTask(dependencies, child.id, { ...options, reason: 'parent_cancelled' }).catch((error: unknown) => {
      dependencies.logger.warn({ err: error, taskId: child.id, parentId }, 'could not cancel a child of a cancelled task');
    });
  }
}
