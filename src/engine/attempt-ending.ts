/**
 * What an attempt that threw comes to: the engine's one rule, which the worker records and a
 * pipeline can ask (a job that must put its rows back only when it ends without success, not
 * when another attempt will go on from its checkpoints).
 */
import { isDatabaseConnectionError, isSocketError } from '../db/connection-errors.ts';
import { HardTimeoutError, isTaskloomError, LeaseLostError, PermanentError } from '../errors.ts';
import { abortReason, TaskAbortedError } from './abort.ts';
import { SnoozeRequested, TaskSuspended } from './control-flow.ts';

export type AttemptEnding =
  /** Handed back without spending the attempt (shutdown, the database went away). */
  | { kind: 'released' }
  | { kind: 'cancelled' }
  /** Another worker holds the task now; this attempt records nothing. */
  | { kind: 'lease_lost' }
  | { kind: 'waiting'; waitpointId: string }
  | { kind: 'snoozed'; delayMs: number }
  /** A failure another attempt will retry, or the task's last: `cause` is what is recorded. */
  | { kind: 'retry' | 'failed'; cause: unknown };

export function attemptEnding(attempt: { taskId: string; signal: AbortSignal; willRetry: boolean; databaseAnswered?: boolean }, error: unknown): AttemptEnding {
  // The database went away under this attempt (a restart, a failover, a cut): its work up to the
  // last committed step is safe, so it is handed back rather than charged as a failed attempt.
  // A bare socket error is the database's only when the database did not answer (needsDatabaseProbe).
  if (!isTaskloomError(error) && isDatabaseConnectionError(error, { followCauses: false }) && !(needsDatabaseProbe(error) && attempt.databaseAnswered === true)) return { kind: 'released' };
  const reason = abortReason(attempt.signal);
  if (reason === 'cancelled') return { kind: 'cancelled' };
  if (reason === 'shutdown') return { kind: 'released' };
  // After a hard timeout the engine settles the task without waiting for the handler, so a write
  // the handler makes then finds its lease gone: the attempt still ended by timing out.
  if (reason === 'lease_lost' || (error instanceof LeaseLostError && reason !== 'hard_timeout')) return { kind: 'lease_lost' };
  if (error instanceof TaskSuspended) return { kind: 'waiting', waitpointId: error.waitpointId };
  if (error instanceof SnoozeRequested) return { kind: 'snoozed', delayMs: error.delayMs };
  const cause = reason === 'hard_timeout' && !(error instanceof HardTimeoutError)
    ? new HardTimeoutError(attempt.taskId, 0)
    : reason === 'soft_timeout' && error instanceof TaskAbortedError
      ? new PermanentError(`Task ${attempt.taskId} stopped at its soft timeout without returning a partial result.`, { code: 'soft_timeout' })
      : error;
  const retryable = isTaskloomError(cause) ? cause.retryable : true;
  return { kind: retryable && attempt.willRetry ? 'retry' : 'failed', cause };
}

/**
 * Whether the worker must ask the database before it takes `error` for the database going away.
 * Only a raw driver error says so: a provider's refused connection arrives wrapped in a
 * TaskloomError (LlmError, DependencyError), and a handler's own `fetch` throws
 * `TypeError('fetch failed')` with the socket error as its cause. A SQLSTATE of the connection
 * classes, or the driver's own "Connection terminated", are the database's. A bare socket error
 * is not sure: a handler's `node:http` call, or a client of another service, throws it shaped
 * like the driver's, so the worker asks the database (`databaseAnswered`) first. Taken for the
 * database's, a refused address requeued its task at once, hundreds of times a second, never
 * spending an attempt.
 */
export function needsDatabaseProbe(error: unknown): boolean {
  return !isTaskloomError(error) && isSocketError(error);
}

/** Whether an attempt that threw ends its task without success: cancelled, or failed for good. */
export function endsWithoutSuccess(attempt: { taskId: string; signal: AbortSignal; willRetry: boolean }, error: unknown): boolean {
  const { kind } = attemptEnding(attempt, error);
  return kind === 'cancelled' || kind === 'failed';
}
