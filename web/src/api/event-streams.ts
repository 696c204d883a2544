/**
 * Resumable event streams. Every event has a monotonically increasing id, so a client that
 * remembers the last id it saw can reconnect with `?after=<id>` (or Last-Event-ID) and get
 * exactly the events it missed: nothing lost, nothing twice (ids at or below the last one are
 * dropped, should a server replay overlap).
 *
 * - TaskEventStream: one task over SSE (EventSource, which also reconnects by itself with
 *   Last-Event-ID). When EventSource gives up (a 204 after the terminal event, an error status,
 *   the server restarting), the stream reads what it missed as JSON and reconnects unless the
 *   task has finished.
 * - ProjectEventStream: every event of a project's tasks over WebSocket, reconnecting with
 *   `?after=` whenever the socket closes.
 */
import { ApiError, apiKey, query, request, websocketUrl } from './client.ts';
import { terminalStatuses, type Task, type TaskEvent } from './types.ts';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface StreamHandlers {
  onEvents: (events: TaskEvent[]) => void;
  onState?: (state: StreamState) => void;
}

export const terminalEventTypes = new Set(['task_completed', 'task_failed', 'task_cancelled']);

const maxBackoffMs = 10_000;

/** Before the next frame is drawn; a hidden page draws none, so it gets a slow timer instead. */
function nextFrame(callback: () => void): void {
  if (document.visibilityState === 'visible') requestAnimationFrame(callback);
  else setTimeout(callback, 250);
}

abstract class ResumableStream {
  protected lastId: number;
  protected disposed = false;
  protected state: StreamState = 'connecting';
  protected failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pending: TaskEvent[] = [];
  #flushScheduled = false;
  readonly #handlers: StreamHandlers;

  constructor(afterId: number, handlers: StreamHandlers) {
    this.lastId = afterId;
    this.#handlers = handlers;
  }

  get lastEventId(): number {
    return this.lastId;
  }

  protected setState(state: StreamState): void {
    if (this.state === state) return;
    this.state = state;
    this.#handlers.onState?.(state);
  }

  /**
   * Accepts events in id order and hands them on once per animation frame. Each SSE or WebSocket
   * message is a task of its own, so handing them on per message (or per microtask) re-rendered
   * the page once per event: a replay of a log of n events cost n renders of up to n rows.
   */
  protected accept(events: TaskEvent[]): void {
    for (const event of events) {
      if (typeof event.id !== 'number' || event.id <= this.lastId) continue;
      this.lastId = event.id;
      this.#pending.push(event);
    }
    if (this.#pending.length === 0 || this.#flushScheduled) return;
    this.#flushScheduled = true;
    nextFrame(() => {
      this.#flushScheduled = false;
      const batch = this.#pending;
      this.#pending = [];
      if (!this.disposed && batch.length > 0) this.#handlers.onEvents(batch);
    });
  }

  protected scheduleReconnect(): void {
    if (this.disposed || this.state === 'ended') return;
    this.setState('reconnecting');
    this.failures += 1;
    const delay = Math.min(maxBackoffMs, 250 * 2 ** Math.min(this.failures, 6)) * (0.75 + Math.random() * 0.5);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.connect(), delay);
  }

  abstract connect(): void;

  close(): void {
    this.disposed = true;
    clearTimeout(this.#timer);
  }
}

export class TaskEventStream extends ResumableStream {
  readonly #taskId: string;
  #source: EventSource | undefined;
  #sawTerminal = false;

  constructor(taskId: string, afterId: number, handlers: StreamHandlers) {
    super(afterId, handlers);
    this.#taskId = taskId;
  }

  override connect(): void {
    if (this.disposed) return;
    this.#source?.close();
    const url = `/api/v1/tasks/${encodeURIComponent(this.#taskId)}/events${query({ after: this.lastId, api_key: apiKey() })}`;
    const source = new EventSource(url);
    this.#source = source;
    source.onopen = () => {
      this.failures = 0;
      this.setState('live');
    };
    source.onmessage = (message: MessageEvent<string>) => {
      let event: TaskEvent;
      try {
        event = JSON.parse(message.data) as TaskEvent;
      } catch {
        return;
      }
      this.accept([event]);
      if (terminalEventTypes.has(event.type)) {
        // The terminal event is a task's last: the server ends the stream after it.
        this.#sawTerminal = true;
        source.close();
        this.setState('ended');
      }
    };
    source.onerror = () => {
      if (this.disposed) return;
      if (source.readyState === EventSource.CLOSED) {
        void this.#recover(source);
      } else {
        // EventSource is retrying by itself, with Last-Event-ID.
        this.setState('reconnecting');
      }
    };
  }

  /** EventSource gave up: fill the gap from the stored log, then end or reconnect. */
  async #recover(source: EventSource): Promise<void> {
    source.close();
    if (this.#source !== source || this.disposed) return;
    try {
      for (;;) {
        const page = await request<{ events: TaskEvent[]; next_after: number | null }>(`/api/v1/tasks/${encodeURIComponent(this.#taskId)}/events${query({ after: this.lastId })}`);
        for (const event of page.events) if (terminalEventTypes.has(event.type)) this.#sawTerminal = true;
        this.accept(page.events);
        if (page.next_after === null) break;
      }
      const task = await request<Task>(`/api/v1/tasks/${encodeURIComponent(this.#taskId)}`);
      if (this.disposed) return;
      if (this.#sawTerminal || terminalStatuses.includes(task.status)) {
        this.setState('ended');
        return;
      }
    } catch (error) {
      // A task that is not there (or not this key's) will not appear by asking again.
      if (error instanceof ApiError && error.status === 404) {
        this.setState('ended');
        return;
      }
      // The server is unreachable or restarting: try again later.
    }
    this.scheduleReconnect();
  }

  override close(): void {
    super.close();
    this.#source?.close();
  }
}

export class ProjectEventStream extends ResumableStream {
  readonly #projectId: string;
  #socket: WebSocket | undefined;

  constructor(projectId: string, afterId: number, handlers: StreamHandlers) {
    super(afterId, handlers);
    this.#projectId = projectId;
  }

  override connect(): void {
    if (this.disposed) return;
    const url = websocketUrl(`/ws/projects/${encodeURIComponent(this.#projectId)}${query({ after: this.lastId, api_key: apiKey() })}`);
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.onopen = () => {
      this.failures = 0;
      this.setState('live');
    };
    socket.onmessage = (message: MessageEvent<string>) => {
      try {
        this.accept([JSON.parse(message.data) as TaskEvent]);
      } catch {
        // Not an event: ignore.
      }
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.scheduleReconnect();
    };
  }

  override close(): void {
    super.close();
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000, 'page closed');
  }
}

/**
 * The events already seen of a task, kept in sessionStorage so a reload shows them at once and
 * resumes the stream after the last one instead of replaying the whole log.
 */
export const eventCache = {
  maxEvents: 2000,

  read(taskId: string): TaskEvent[] {
    try {
      const text = sessionStorage.getItem(`taskloom.events.${taskId}`);
      const events = text ? (JSON.parse(text) as TaskEvent[]) : [];
      return Array.isArray(events) ? events : [];
    } catch {
      return [];
    }
  },

  write(taskId: string, events: TaskEvent[]): void {
    const kept = events.length > this.maxEvents ? [] : events;
    const key = `taskloom.events.${taskId}`;
    try {
      sessionStorage.setItem(key, JSON.stringify(kept));
    } catch {
      // Storage full: forget the other tasks' logs (they resume from the server) and retry once.
      for (let index = sessionStorage.length - 1; index >= 0; index -= 1) {
        const name = sessionStorage.key(index);
        if (name?.startsWith('taskloom.events.') && name !== key) sessionStorage.removeItem(name);
      }
      try {
        sessionStorage.setItem(key, JSON.stringify(kept));
      } catch {
        sessionStorage.removeItem(key);
      }
    }
  },
};
