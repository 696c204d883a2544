/**
 * The job document of one learning job, live: `WS /ws/jobs/{id}` sends it on every change and at
 * least once a second and closes when the job ends; a dropped socket reconnects after a pause
 * (the document is whole each time, so nothing has to be resumed).
 *
 * A socket closed before its first document may have been refused: a job that is not there
 * (another tenant's, a stale id, a database reset) or a key that no longer signs in. The
 * browser does not show the upgrade's answer, so the job is asked for over HTTP, and a 404 or 401
 * ends the stream instead of asking again every second for as long as the page is open. Other
 * failures reconnect, waiting longer after each failure in a row (up to 30 s).
 */
import { apiKey, ApiError, query, request, websocketUrl } from '@dashboard/api/client.ts';
// Types only: erased at build, so the page shares the API's shapes without bundling zod.
import type { JobDocument } from '../schemas.ts';

export type { JobDocument };

export const finishedStatuses = new Set(['completed', 'failed', 'cancelled']);

/** Longest pause between reconnections, after failures in a row. */
const maxReconnectDelayMs = 30_000;

export function followJob(jobId: string, onDocument: (document: JobDocument) => void, onState: (state: 'connecting' | 'live' | 'reconnecting' | 'ended') => void, onGone?: (error: ApiError) => void): () => void {
  let socket: WebSocket | undefined;
  let stopped = false;
  let finished = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Whether to connect again: false once the job answers 404, or the key 401. */
  const stillThere = async (): Promise<boolean> => {
    try {
      await request<JobDocument>(`/jobs/${encodeURIComponent(jobId)}`);
      return true;
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 401)) return true;
      onGone?.(error);
      return false;
    }
  };
  const connect = (): void => {
    if (stopped) return;
    let received = false;
    socket = new WebSocket(websocketUrl(`/ws/jobs/${encodeURIComponent(jobId)}${query({ api_key: apiKey() })}`));
    socket.onopen = () => onState('live');
    socket.onmessage = (message: MessageEvent<string>) => {
      received = true;
      failures = 0;
      const document = JSON.parse(message.data) as JobDocument;
      if (finishedStatuses.has(document.status)) finished = true;
      onDocument(document);
    };
    socket.onclose = () => {
      if (stopped) return;
      if (finished) {
        onState('ended');
        return;
      }
      onState('reconnecting');
      if (!received) failures += 1;
      void (received ? Promise.resolve(true) : stillThere()).then((again) => {
        if (stopped) return;
        if (!again) {
          stopped = true;
          onState('ended');
          return;
        }
        timer = setTimeout(connect, Math.min(maxReconnectDelayMs, 1000 * 2 ** Math.max(0, failures - 1)));
      });
    };
  };
  onState('connecting');
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
  };
}
