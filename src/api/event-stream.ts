/**
 * Pumps a subscription (replay after a cursor, then live) into a transport, for SSE and
 * WebSocket alike.
 */
import { SlowSubscriberError, type Engine, type SubscribeOptions, type TaskEvent } from '../engine/index.ts';
import { taskloomMetrics } from '../metrics.ts';
import { eventJson, terminalEventTypes } from './schemas.ts';

export type StreamEnd = 'terminal' | 'aborted' | 'slow' | 'closed';

export interface PumpOptions {
  engine: Engine;
  subscription: SubscribeOptions & { signal: AbortSignal };
  transport: 'sse' | 'websocket';
  /** Writes one event; resolves when the transport can take more. */
  send(event: TaskEvent, json: string): Promise<void> | void;
  /** End after the task's terminal event (task streams). */
  endAfterTerminal: boolean;
}

export async function pumpEvents(options: PumpOptions): Promise<StreamEnd> {
  const metrics = taskloomMetrics();
  const openedAt = Date.now();
  try {
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
