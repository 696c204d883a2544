/**
 * Holding a wait for child tasks in the attempt, for a while, before parking.
 *
 * A task whose wait is pending parks: its attempt ends, its slot is freed, and when the wait
 * resolves it is queued again, claimed, and its handler replays its checkpoints up to the wait.
 * That is what lets a run wait days for a person without a slot. Children that end in a second
 * or two (a content month's posts and platforms) make it a detour: on bench:content a wake-up and
 * a replay cost 15-25 ms per stage of children, at every stage, on the run's critical path.
 *
 * So a worker with a slot to spare lets such an attempt listen for its waitpoint's resolution
 * (the `waitpoint_completed` or `waitpoint_timed_out` event the resolver appends to the task's
 * log, heard through the engine's event hub, whichever process settled the children) for up to
 * TASKLOOM_CHILD_WAIT_HOLD_MS. Resolved in time, the handler goes on where it was; otherwise, or
 * when its signal aborts (cancel, timeout, shutdown), it parks as before. Nothing durable changes:
 * the waitpoint is stored before the hold starts, the attempt keeps its lease by the heartbeat,
 * and a crash while holding resumes from the checkpoints like a crash at any other point.
 */
import type { Queryable } from '../db/pool.ts';
import type { EventHub } from './event-hub.ts';
import { latestEventId } from './event-log.ts';
import { getWaitpoint, type WaitpointRecord } from './waitpoints.ts';

const resolutionEvents = new Set(['waitpoint_completed', 'waitpoint_timed_out']);

/**
 * Resolves true once `waitpoint` is resolved, false when `holdMs` passes or `signal` aborts
 * first. Follows only events after the log's newest, read first, and then reads the waitpoint
 * once: a resolution committed before that read is seen there, and one committed after it has a
 * later event id (ids follow commit order, decision 0003). So a parent with a long history does
 * not read it all again at every hold.
 */
export async function holdUntilResolved(events: EventHub, database: Queryable, waitpoint: WaitpointRecord, options: { holdMs: number; signal: AbortSignal }): Promise<boolean> {
  if (options.holdMs <= 0 || options.signal.aborted) return false;
  const afterId = await latestEventId(database);
  if ((await getWaitpoint(database, waitpoint.id))?.status !== 'pending') return true;
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const timer = setTimeout(stop, options.holdMs);
  options.signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const event of events.subscribe({ taskId: waitpoint.task_id, tenant: waitpoint.tenant, afterId, signal: controller.signal })) {
      if (resolutionEvents.has(event.type) && event.payload.waitpoint_id === waitpoint.id) return true;
    }
    return false;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', stop);
  }
}
