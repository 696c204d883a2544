/**
 * Pumps a subscription (replay after a cursor, then live) into a transport, for SSE and
 * WebSocket alike.
 */
import { SlowSubscriberError, type Engine, type SubscribeOptions, type TaskEvent } from '../engine/index.ts';
import { taskloomMetrics } from '../metrics.ts';
import { BadRequestError } from './errors.ts';
import { eventJson, terminalEventTypes } from './schemas.ts';

/** The `Last-Event-ID` header an EventSource sends on reconnect, as an event id. */
export function lastEventId(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\d{1,15}$/.test(value.trim())) throw new BadRequestError('Last-Event-ID must be an event id (a whole number).', { last_event_id: value });
  return Number(value.trim());
}

export type StreamEnd = 'terminal' | 'aborted' | 'slow' | 'closed';

export interface PumpOptions {
  engine: Engine;
  subscription: SubscribeOptions & { signal: AbortSignal };
  transport: 'sse' | 'websocket';
  /** Writes one event; resolves when the transport can take more. */
  send(event: TaskEvent, json: string): Promise<void> | void;
  /** End after the task's terminal event (task streams). */
  endAfterTerminal: boolean;
  /**
   * The task had finished when the stream opened: send what is stored after the cursor and end.
   * Nothing live is to come, and a finished task's log can go on after its terminal event (a
   * decision on what it made, a failure handler's record): waiting for a terminal event after
   * the cursor held such streams open for good.
   */
  finished?: boolean;
}

/** Events per read of a finished task's replay. */
const finishedPageSize = 500;

export async function pumpEvents(options: PumpOptions): Promise<StreamEnd> {
  const metrics = taskloomMetrics();
  const openedAt = Date.now();
  try {
    if (options.finished) {
      const { tenant, taskId, signal } = options.subscription;
      let afterId = options.subscription.afterId ?? 0;
      for (;;) {
        const page = await options.engine.readEvents({ tenant, taskId, afterId, limit: finishedPageSize });
        for (const event of page) {
          if (signal.aborted) return 'aborted';
          await options.send(event, eventJson(event));
          afterId = event.id;
        }
        if (page.length < finishedPageSize) return 'terminal';
      }
    }
    for await (const event of options.engine.subscribe(options.subscription)) {
      await options.send(event, eventJson(event));
      const createdAt = Date.parse(event.created_at);
      // Events created after the stream opened are live fan-out; older ones are replay.
      if (createdAt >= openedAt) metrics.fanoutLatency.observe({ transport: options.transport }, Math.max(0, Date.now() - createdAt) / 1000);
      if (options.endAfterTerminal && terminalEventTypes.has(event.type)) return 'terminal';
    }
    return 'aborted';
  } catch (error) {
    if (options.subscription.signal.aborted) return 'aborted';
    if (error instanceof SlowSubscriberError) return 'slow';
    return 'closed';
  }
}
