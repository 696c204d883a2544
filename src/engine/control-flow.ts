/**
 * Errors a handler throws (through the context) to steer the engine rather than to fail: the
 * worker turns them into outcomes, and they never reach `tasks.error`.
 */

const marker = Symbol.for('taskloom.control-flow');

/** The task parks on a waitpoint: its slot frees and it resumes when the waitpoint resolves. */
export class TaskSuspended extends Error {
  readonly [marker] = true;
  readonly waitpointId: string;

  constructor(waitpointId: string, key: string) {
    super(`task suspended on waitpoint "${key}" (${waitpointId})`);
    this.name = 'TaskSuspended';
    this.waitpointId = waitpointId;
  }
}

/** The task is handed back to run again after `delayMs`, without spending an attempt. */
export class SnoozeRequested extends Error {
  readonly [marker] = true;
  readonly delayMs: number;

  constructor(delayMs: number) {
    super(`task snoozed for ${delayMs} ms`);
    this.name = 'SnoozeRequested';
    this.delayMs = delayMs;
  }
}
