/**
 * One task: status, progress, live event log, result and error as readable views, attempts and
 * timings, its LLM calls and tokens (from `llm_calls`, re-read while it runs), what it waits for
 * (with a completion form for inputs), its parent and its child tasks as a tree, and a cancel
 * button.
 *
 * The event log is resumable: the events seen so far are kept in sessionStorage, and the SSE
 * stream is (re)opened with `?after=<last id>` after a reload or a dropped connection, so no
 * event is lost or shown twice. Status and progress follow the events at once; the task record
 * is re-read after lifecycle events for the fields events do not carry. Waitpoints and children
 * are re-read when an event says they changed (a wait began or resolved, the task was queued
 * again or settled), and the children every 3 s while one of them is unsettled.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, query, request } from '../api/client.ts';
import { eventCache, TaskEventStream, type StreamState } from '../api/event-streams.ts';
import { terminalStatuses, type Task, type TaskEvent, type TaskStatus, type Waitpoint } from '../api/types.ts';
import { EventLog } from '../components/event-log.tsx';
import { JsonView } from '../components/json-view.tsx';
import { Link } from '../components/link.tsx';
import { LlmCallTable, LlmTotalsPanel, useTaskLlmCalls } from '../components/llm-calls.tsx';
import { ProgressBar } from '../components/progress-bar.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { ChildTaskTree, useTaskChildren } from '../components/task-tree.tsx';
import { WaitingPanel } from '../components/waitpoints.tsx';
import { between, formatDuration, formatTime } from '../lib/format.ts';
import { useLoader, useNow, useThrottled } from '../lib/hooks.ts';
import { pipelineWaitView } from '../lib/pipeline-pages.ts';
import { ErrorNotice } from './shared.tsx';

const statusByEvent: Record<string, TaskStatus> = {
  task_queued: 'queued',
  task_started: 'running',
  task_retrying: 'retrying',
  task_waiting: 'waiting',
  task_completed: 'completed',
  task_failed: 'failed',
  task_cancelled: 'cancelled',
};

/** The task record with the events applied that are newer than it. */
function applyEvents(task: Task, events: TaskEvent[]): Task {
  let next = task;
  for (const event of events) {
    if (Date.parse(event.created_at) < Date.parse(task.updated_at) - 1) continue;
    const status = statusByEvent[event.type];
    if (status && !terminalStatuses.includes(next.status)) next = { ...next, status };
    if (event.type === 'task_progress' && !terminalStatuses.includes(next.status)) {
      const progress = event.payload.progress;
      const message = event.payload.message;
      next = { ...next, progress: typeof progress === 'number' ? progress : next.progress, progress_message: typeof message === 'string' ? message : next.progress_message };
    }
    if (event.type === 'task_completed') next = { ...next, progress: 100, result: event.payload.result ?? next.result };
  }
  return next;
}

/** Events after which the task's waitpoints or children may have changed. */
const waitEvents = new Set(['task_waiting', 'waitpoint_completed', 'waitpoint_timed_out', 'task_queued', 'task_completed', 'task_failed', 'task_cancelled']);

interface Attempt {
  number: number;
  startedAt: string;
  endedAt: string | null;
  outcome: string;
  error?: unknown;
  resumed: boolean;
}

function attemptsOf(events: TaskEvent[]): Attempt[] {
  const attempts: Attempt[] = [];
  let current: Attempt | undefined;
  for (const event of events) {
    if (event.type === 'task_started') {
      if (current && !current.endedAt) current.outcome = 'abandoned';
      current = { number: Number(event.payload.attempt ?? attempts.length + 1), startedAt: event.created_at, endedAt: null, outcome: 'running', resumed: event.payload.resumed === true };
      attempts.push(current);
    } else if (current && !current.endedAt && event.type === 'task_waiting') {
      // Parked: the run ends here, and the task resumes in a new run that spends no attempt.
      current.endedAt = event.created_at;
      current.outcome = `parked on ${String(event.payload.key ?? 'a wait')}`;
    } else if (current && !current.endedAt && ['task_retrying', 'task_completed', 'task_failed', 'task_cancelled'].includes(event.type)) {
      current.endedAt = event.created_at;
      current.outcome = event.type.replace('task_', '');
      if (event.payload.error) current.error = event.payload.error;
    }
  }
  return attempts;
}

function ErrorView({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const record = (typeof error === 'object' ? error : { message: String(error) }) as { code?: unknown; message?: unknown; retryable?: unknown; [key: string]: unknown };
  const { code, message, retryable, ...rest } = record;
  return (
    <section class="panel panel-error" aria-labelledby="error-title">
      <h2 id="error-title"><span aria-hidden="true">✕ </span>Error</h2>
      <p class="error-message">
        {typeof code === 'string' ? <code class="error-code">{code}</code> : null} {typeof message === 'string' ? message : null}
      </p>
      {typeof retryable === 'boolean' ? <p class="muted small">{retryable ? 'retryable' : 'not retryable'}</p> : null}
      {Object.keys(rest).length > 0 ? <JsonView value={rest} label="error details" /> : null}
    </section>
  );
}

export function TaskPage({ taskId }: { taskId: string }) {
  const [task, setTask] = useState<Task | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [events, setEvents] = useState<TaskEvent[]>(() => eventCache.read(taskId));
  const [streamState, setStreamState] = useState<StreamState>('connecting');
  const [cancelState, setCancelState] = useState<{ busy: boolean; message?: string; error?: ApiError }>({ busy: false });
  const eventsRef = useRef(events);
  const now = useNow(1000);

  const load = async (): Promise<void> => {
    try {
      setTask(await request<Task>(`/api/v1/tasks/${encodeURIComponent(taskId)}`));
      setLoadError(null);
    } catch (error) {
      setLoadError(error as ApiError);
    }
  };
  const reloadTask = useThrottled(() => void load(), 250);
  const waitpoints = useLoader((signal) => request<{ waitpoints: Waitpoint[] }>(`/api/v1/waitpoints${query({ task_id: taskId, limit: 100 })}`, { signal }), taskId);
  const children = useTaskChildren(taskId);
  const reloadWaits = useThrottled(() => {
    waitpoints.reload();
    children.reload();
  }, 250);

  useEffect(() => {
    const cached = eventCache.read(taskId);
    eventsRef.current = cached;
    setEvents(cached);
    void load();
    const stream = new TaskEventStream(taskId, cached[cached.length - 1]?.id ?? 0, {
      onEvents: (batch) => {
        const next = [...eventsRef.current, ...batch];
        eventsRef.current = next;
        setEvents(next);
        eventCache.write(taskId, next);
        if (batch.some((event) => event.type in statusByEvent)) reloadTask();
        if (batch.some((event) => waitEvents.has(event.type))) reloadWaits();
      },
      onState: setStreamState,
    });
    stream.connect();
    // A backstop for fields no event carries (and for a stream that cannot connect).
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, 10_000);
    return () => {
      stream.close();
      clearInterval(timer);
    };
  }, [taskId]);

  const view = useMemo(() => (task ? applyEvents(task, events) : null), [task, events]);
  const attempts = useMemo(() => attemptsOf(events), [events]);
  // Before the early returns below: hooks run in the same order on every render.
  const terminal = view !== null && terminalStatuses.includes(view.status);
  const llmCalls = useTaskLlmCalls(taskId, view?.status);

  if (loadError && !task) {
    return (
      <div class="page">
        <h1>Task <code>{taskId}</code></h1>
        <ErrorNotice error={loadError} action={loadError.status === 404 ? 'Not found' : 'Could not load the task'} />
        <Link href="/tasks">All tasks</Link>
      </div>
    );
  }
  if (!view) return <div class="page"><p class="muted">Loading task…</p></div>;

  const cancel = async (): Promise<void> => {
    if (!window.confirm(`Cancel this ${view.task_type} task?`)) return;
    setCancelState({ busy: true });
    try {
      const answer = await request<{ previous_state: string; status: string; message: string }>(`/api/v1/tasks/${encodeURIComponent(taskId)}/cancel`, { method: 'POST' });
      setCancelState({ busy: false, message: answer.message });
      reloadTask();
    } catch (error) {
      setCancelState({ busy: false, error: error as ApiError });
    }
  };

  return (
    <div class="page">
      <div class="page-header task-header">
        <div>
          <p class="breadcrumb">
            <Link href="/tasks">Tasks</Link> / <Link href={`/tasks${query({ task_type: view.task_type })}`}>{view.task_type}</Link>
            {view.parent_task_id ? <> · child of <Link href={`/tasks/${encodeURIComponent(view.parent_task_id)}`} data-testid="parent-link">task <code>{view.parent_task_id.slice(0, 8)}</code></Link></> : null}
          </p>
          <h1><span class="visually-hidden">Task </span>{view.task_type} <code class="task-id">{view.id}</code></h1>
        </div>
        <div class="header-actions">
          <StatusBadge status={view.status} large />
          {!terminal ? (
            <button type="button" class="button button-danger" onClick={() => void cancel()} disabled={cancelState.busy || view.cancel_requested_at !== null}>
              {cancelState.busy ? 'Cancelling…' : view.cancel_requested_at ? 'Cancel requested' : 'Cancel task'}
            </button>
          ) : null}
        </div>
      </div>
      {cancelState.message ? <p class="notice" role="status">{cancelState.message}</p> : null}
      <ErrorNotice error={cancelState.error} action="Cancel failed" />

      <section class="panel" aria-labelledby="progress-title">
        <h2 id="progress-title" class="visually-hidden">Progress</h2>
        <ProgressBar value={view.progress} label="Task progress" status={view.status} />
        <p class="progress-message" aria-live="polite" data-testid="progress-message">{view.progress_message ?? (terminal ? '' : view.status === 'waiting' ? 'parked: no worker slot is held until the wait below resolves' : 'waiting for progress…')}</p>
        {view.task_type === 'automated_gather_creation' && view.project_id ? (
          <p><Link href={`/projects/${encodeURIComponent(view.project_id)}/gather`}>Open the automated gather view of project {view.project_id} →</Link></p>
        ) : null}
      </section>

      <WaitingPanel waitpoints={waitpoints.data?.waitpoints ?? []} children={children.data?.children} now={now} decidedElsewhere={(waitpoint) => pipelineWaitView(waitpoint, view)} onChanged={reloadWaits} />
      <ChildTaskTree answer={children.data} />

      <div class="grid-2">
        <section class="panel" aria-labelledby="timings-title">
          <h2 id="timings-title">Attempts and timings</h2>
          <dl class="facts">
            <div><dt>Attempts</dt><dd data-testid="attempts">{view.attempts} of {view.max_attempts}</dd></div>
            <div><dt>Queue</dt><dd><code>{view.queue}</code>, priority {view.priority}</dd></div>
            {view.parent_task_id ? <div><dt>Parent task</dt><dd><Link href={`/tasks/${encodeURIComponent(view.parent_task_id)}`}><code>{view.parent_task_id}</code></Link></dd></div> : null}
            <div><dt>Project</dt><dd>{view.project_id ? <Link href={`/tasks${query({ project_id: view.project_id })}`}>{view.project_id}</Link> : '–'}</dd></div>
            <div><dt>Created</dt><dd><time dateTime={view.created_at}>{formatTime(view.created_at)}</time></dd></div>
            <div><dt>Started</dt><dd>{view.started_at ? <time dateTime={view.started_at}>{formatTime(view.started_at)}</time> : '–'}</dd></div>
            <div><dt>Finished</dt><dd>{view.completed_at ? <time dateTime={view.completed_at}>{formatTime(view.completed_at)}</time> : '–'}</dd></div>
            <div><dt>Waited</dt><dd>{formatDuration(between(view.created_at, view.started_at, now))}</dd></div>
            <div><dt>{terminal ? 'Ran for' : view.status === 'waiting' || view.status === 'retrying' ? 'Open for' : 'Running for'}</dt><dd>{formatDuration(between(view.started_at, view.completed_at, now))}</dd></div>
            {view.next_attempt_at && view.status === 'retrying' ? <div><dt>Next attempt</dt><dd>{formatTime(view.next_attempt_at)}</dd></div> : null}
            {view.cancel_requested_at ? <div><dt>Cancel requested</dt><dd>{formatTime(view.cancel_requested_at)}</dd></div> : null}
            {view.idempotency_key ? <div><dt>Idempotency key</dt><dd><code>{view.idempotency_key}</code></dd></div> : null}
            {view.callback_url ? <div><dt>Callback</dt><dd><code>{view.callback_url}</code></dd></div> : null}
          </dl>
          {attempts.length > 0 ? (
            <div class="table-scroll">
              <table class="data-table">
                <caption class="visually-hidden">Attempts</caption>
                <thead><tr><th scope="col">#</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col">Outcome</th></tr></thead>
                <tbody>
                  {attempts.map((attempt, index) => (
                    <tr key={index}>
                      <td>{attempt.number}{attempt.resumed ? ' (resumed)' : ''}</td>
                      <td>{formatTime(attempt.startedAt)}</td>
                      <td>{formatDuration(between(attempt.startedAt, attempt.endedAt, now))}</td>
                      <td>{attempt.outcome}{attempt.error && typeof (attempt.error as { message?: unknown }).message === 'string' ? `: ${(attempt.error as { message: string }).message}` : ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </section>
        <LlmTotalsPanel loaded={llmCalls} finished={terminal} />
      </div>
      <LlmCallTable calls={llmCalls.data} />

      <ErrorView error={view.error} />
      {view.result !== null && view.result !== undefined ? (
        <section class="panel" aria-labelledby="result-title">
          <h2 id="result-title"><span aria-hidden="true">✓ </span>Result</h2>
          <JsonView value={view.result} label="the result" />
        </section>
      ) : null}

      <EventLog events={events} state={streamState} />

      <section class="panel" aria-labelledby="input-title">
        <h2 id="input-title">Input</h2>
        <JsonView value={view.task_data} label="the input" />
      </section>
    </div>
  );
}
