/**
 * `pipelinedStep`: a checkpointed step whose result the next steps may start from before its
 * checkpoint has committed.
 *
 * `context.step` resolves after its commit, so a model call that needs the previous step's answer
 * (sections after an outline, a regeneration after a rule check) waits one commit first: 10-60 ms
 * when thirty tasks of a stage commit at once, each a durable commit queued behind the others for
 * the same two cores and pool. The next call does not need the commit, only the
 * value; what needs the commit is the next *checkpoint*: a later step stored while an earlier one
 * is not would, after a crash, be replayed beside a fresh answer to the earlier step. So the value
 * comes early, and every step that used it awaits `committed` before it returns (and commits).
 *
 * On replay the stored result comes back as `value` and `committed` alike. If `run` throws, both
 * reject; if the commit fails (a lost lease), `committed` rejects and the later steps waiting for
 * it fail before they commit. The early value is the JSON round trip of what `run` returned, as
 * `context.step` returns it on its first run.
 */
import type { StepOptions, StepScope, TaskContext } from '../engine/index.ts';

export interface PipelinedStep<Result> {
  /** The result as soon as `run` returned (or the stored one): start the next model call from it. */
  value: Promise<Result>;
  /** Resolves once the checkpoint committed. A step that used `value` awaits this before it returns. */
  committed: Promise<Result>;
}

export function pipelinedStep<Result>(context: Pick<TaskContext<unknown>, 'step'>, key: string, run: (scope: StepScope) => Promise<Result>, options?: StepOptions<Result>): PipelinedStep<Result> {
  let early!: (result: Result) => void;
  let failed!: (error: unknown) => void;
  const value = new Promise<Result>((resolve, reject) => {
    early = resolve;
    failed = reject;
  });
  const committed = context.step(key, async (scope) => {
    const result = await run(scope);
    early(result === undefined ? (null as Result) : (JSON.parse(JSON.stringify(result)) as Result));
    return result;
  }, options);
  // Replayed (run never called) or failed before run returned: settle the value from the step.
  committed.then(early, failed);
  // A caller awaits one of the two; the other must not surface as an unhandled rejection.
  value.catch(() => {});
  committed.catch(() => {});
  return { value, committed };
}
