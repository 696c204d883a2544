/**
 * The pipeline kit: everything a pipeline folder needs from the rest of taskloom, in one entry.
 * Pipelines import the engine and the API's route helpers from here (plus `llm/`, `config.ts`,
 * `errors.ts`, `logger.ts` and `integrations/`), and write SQL only on their own tables.
 *
 * Terms, as the engine uses them:
 * - task: one durable unit of work of a task type, a row in `tasks`, with status and events.
 * - attempt: one run of a task's handler by a worker; a crash or retryable error starts another.
 * - lease: the attempt's fence token; a write by an attempt that lost its task is refused.
 * - claim / settle: a worker taking queued tasks into its slots / recording how attempts ended.
 * - step: a checkpointed unit of a handler; its result is stored once and replayed afterwards.
 * - waitpoint: a durable wait (a person's decision, a timer, children) during which the task
 *   holds no worker slot; resolving it requeues the task in the same transaction.
 */
export { definePipeline, type Pipeline, type PipelineDefinition, type PipelineRouteServices, type PipelineServices } from './pipeline.ts';
export { pipelinedStep, type PipelinedStep } from './pipelined-step.ts';
export {
  abortReason,
  activeStatuses,
  appendEvents,
  attemptEnding,
  endsWithoutSuccess,
  type AttemptEnding,
  countActiveTasks,
  defineQueue,
  defineTask,
  describeIssues,
  TaskAbortedError,
  type AbortReason,
  type AnyTaskDefinition,
  type ChildOptions,
  type ChildOutcome,
  type Engine,
  type NewEvent,
  type QueuePolicy,
  type StepOptions,
  type StepScope,
  type TaskContext,
  type TaskDefinition,
  type TaskFailure,
  type TaskTypeSummary,
  type TaskEvent,
  type TaskRecord,
  type TaskStatus,
  type WaitForOptions,
  type WaitOutcome,
  type WaitpointRecord,
  WaitpointExpiredError,
  WaitpointResolvedError,
} from '../engine/index.ts';
export { withTransaction, type Pool, type PoolClient, type Queryable } from '../db/pool.ts';
export { isoTimestamp, isUuid } from '../db/sql.ts';
// From the modules themselves, not the API's index: that loads Fastify and every route, which a
// CLI command that only lists task types should not pay for.
export { emptyBody, emptyQuery, jsonSchema, parseOrThrow } from '../api/validation.ts';
export { requireAdminKey, requireKeyForSubmit, requireRole, tenantOf } from '../api/auth.ts';
export { holdStream, holdWebSocket } from '../api/held-streams.ts';
export { lastEventId } from '../api/event-stream.ts';
export { securityRequirement } from '../api/context.ts';
export { ForbiddenError } from '../api/errors.ts';
export type { ApiKeyRole } from '../api/keys.ts';
