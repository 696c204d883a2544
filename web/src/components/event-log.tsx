/**
 * A task's events, oldest first, each with its id (the resume point), time, type and a one-line
 * summary of its payload; the whole payload opens below it. Follows new events while scrolled
 * to the bottom.
 */
import { memo } from 'preact/compat';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import type { TaskEvent } from '../api/types.ts';
import type { StreamState } from '../api/event-streams.ts';
import { formatTime, humanize } from '../lib/format.ts';

function summary(event: TaskEvent): string {
  const payload = event.payload ?? {};
  if (event.type === 'task_progress') {
    const progress = payload.progress;
    const message = payload.message ?? payload.progress_message;
    return [typeof progress === 'number' ? `${Math.round(progress)} %` : null, typeof message === 'string' ? message : null].filter(Boolean).join(' · ');
  }
  const parts: string[] = [];
  for (const [key, value] of Object.entries(payload)) {
    if (['type', 'task_id', 'project_id', 'timestamp', 'summary', 'breakdown', 'missing_aspects'].includes(key)) continue;
    if (value === null || typeof value === 'object') continue;
    parts.push(`${humanize(key)}: ${String(value)}`);
    if (parts.length >= 5) break;
  }
  return parts.join(' · ');
}

const stateLabels: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting… (resumes after the last event)',
  ended: 'finished: all events received',
};

export function StreamIndicator({ state }: { state: StreamState }) {
  return (
    <span class={`stream-state stream-${state}`} data-stream-state={state} aria-live="polite">
      <span aria-hidden="true">{state === 'live' ? '●' : state === 'ended' ? '■' : '○'}</span> {stateLabels[state]}
    </span>
  );
}

/**
 * One event, rendered once: an event never changes, and its page re-renders every second for its
 * clocks (a log of hundreds of events, each with its payload's JSON, was re-made each time).
 */
const EventRow = memo(function EventRow({ event }: { event: TaskEvent }) {
  return (
    <li class={`event event-${event.type}`} data-event-id={event.id} data-event-type={event.type}>
      <details>
        <summary>
          <span class="event-id">#{event.id}</span>
          <time dateTime={event.created_at} class="event-time">{formatTime(event.created_at)}</time>
          <span class="event-type">{event.type}</span>
          <span class="event-summary">{summary(event)}</span>
        </summary>
        <pre class="raw-json">{JSON.stringify(event.payload, null, 2)}</pre>
      </details>
    </li>
  );
});

export function EventLog({ events, state, label = 'Event log' }: { events: TaskEvent[]; state: StreamState; label?: string }) {
  const container = useRef<HTMLOListElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const onScroll = (): void => {
      stick.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
    };
    element.addEventListener('scroll', onScroll, { passive: true });
    return () => element.removeEventListener('scroll', onScroll);
  }, []);

  useLayoutEffect(() => {
    const element = container.current;
    if (element && stick.current) element.scrollTop = element.scrollHeight;
  }, [events.length]);

  return (
    <section class="panel" aria-labelledby="event-log-title">
      <div class="panel-header">
        <h2 id="event-log-title">{label} <span class="count">({events.length})</span></h2>
        <StreamIndicator state={state} />
      </div>
      {events.length === 0 ? <p class="muted">No event yet.</p> : null}
      <ol class="event-log" ref={container} tabIndex={0} aria-label={label} data-testid="event-log">
        {events.map((event) => <EventRow key={event.id} event={event} />)}
      </ol>
    </section>
  );
}
