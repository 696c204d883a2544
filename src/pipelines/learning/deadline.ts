/**
 * A learning job's deadline, the one implementation every mode (big, quick, deep) uses.
 *
 * The deadline is first start + budget, stored with the job's `plan` checkpoint, so it counts
 * every wait after it: model latency, provider slots, retry backoff, a dead worker's recovery.
 * Two things enforce it:
 * - the job looks at the clock (`beforeDeadline`) before every step and, once it has passed,
 *   finishes the step in hand, saves it and completes;
 * - the source call in hand gets until the deadline plus a grace (`deadlineGraceMs`, 5 s): the
 *   `cutOff` signal aborts it then. A model call may take the gateway's timeout (120 s) and
 *   retries and fallbacks minutes more, which the clock check cannot stop. A call cut off writes
 *   nothing (a step saves only after its source answered) and the job completes with what its
 *   committed steps learned.
 */

/** How long past the deadline the source call in hand may still finish and be saved. */
export const defaultDeadlineGraceMs = 5000;

export interface JobDeadline {
  /** Epoch milliseconds of the deadline. */
  readonly deadline: number;
  /** When the source call in hand is aborted: the deadline plus the grace. Word claims last until then. */
  readonly cutOffAt: Date;
  /** Aborts at the cut-off or when the task's own signal aborts (cancel, timeouts, shutdown). */
  readonly cutOff: AbortSignal;
  /** True while `at` (default the deadline) has not passed. */
  beforeDeadline(at?: number): boolean;
  /** True once the cut-off, not the task's own signal, aborted the call in hand. */
  cutOffFired(): boolean;
  /** Milliseconds past the deadline now (0 before it). */
  pastDeadlineMs(): number;
  /** Clears the cut-off's timer; call when the attempt ends. */
  dispose(): void;
}

/** Watches `deadline` for one attempt of a job whose task signal is `signal`. */
export function watchDeadline(deadline: number, graceMs: number, signal: AbortSignal): JobDeadline {
  // An own timer rather than AbortSignal.timeout, so it is cleared when the attempt ends.
  const deadlinePassed = new AbortController();
  const timer = setTimeout(() => deadlinePassed.abort(new DOMException(`the job's deadline passed ${graceMs} ms ago`, 'TimeoutError')), Math.max(0, deadline + graceMs - Date.now()));
  return {
    deadline,
    cutOffAt: new Date(deadline + graceMs),
    cutOff: AbortSignal.any([signal, deadlinePassed.signal]),
    beforeDeadline: (at = deadline) => Date.now() < at,
    cutOffFired: () => deadlinePassed.signal.aborted,
    pastDeadlineMs: () => Math.max(0, Date.now() - deadline),
    dispose: () => clearTimeout(timer),
  };
}

/**
 * The hard timeout of a job type whose budgets are at most `budgetSeconds`: the job ends itself at
 * its deadline plus the grace, so the hard timeout only catches an attempt that hangs; it leaves
 * room for one more model call and the completion.
 */
export function hardTimeoutFor(budgetSeconds: number, graceMs: number, llmTimeoutMs: number): number {
  return budgetSeconds * 1000 + graceMs + llmTimeoutMs + 60_000;
}
