/**
 * Why a task's signal aborted. The signal's `reason` is a TaskAbortedError whose `reason` field
 * is one of these strings, so handlers can tell a cancel from a timeout or a shutdown.
 */
export type AbortReason = 'cancelled' | 'soft_timeout' | 'hard_timeout' | 'shutdown' | 'lease_lost';

export class TaskAbortedError extends Error {
  readonly reason: AbortReason;

  constructor(reason: AbortReason) {
    super(`task aborted: ${reason}`);
    this.name = 'TaskAbortedError';
    this.reason = reason;
  }
}

/** The abort reason of a task signal, or undefined while it has not aborted. */
export function abortReason(signal: AbortSignal): AbortReason | undefined {
  if (!signal.aborted) return undefined;
  return signal.reason instanceof TaskAbortedError ? signal.reason.reason : 'cancelled';
}
