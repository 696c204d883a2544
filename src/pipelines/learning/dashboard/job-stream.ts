/**
 * The job document of one learning job, live: `WS /ws/jobs/{id}` sends it on every change and at
 * least once a second and closes when the job ends; a dropped socket reconnects after a pause
 * (the document is whole each time, so nothing has to be resumed).
 */
import { apiKey, query, websocketUrl } from '@dashboard/api/client.ts';
// Types only: erased at build, so the page shares the API's shapes without bundling zod.
import type { JobDocument } from '../schemas.ts';

export type { JobDocument };

export const finishedStatuses = new Set(['completed', 'failed', 'cancelled']);

export function followJob(jobId: string, onDocument: (document: JobDocument) => void, onState: (state: 'connecting' | 'live' | 'reconnecting' | 'ended') => void): () => void {
  let socket: WebSocket | undefined;
  let stopped = false;
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connect = (): void => {
    if (stopped) return;
    socket = new WebSocket(websocketUrl(`/ws/jobs/${encodeURIComponent(jobId)}${query({ api_key: apiKey() })}`));
    socket.onopen = () => onState('live');
    socket.onmessage = (message: MessageEvent<string>) => {
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
      timer = setTimeout(connect, 1000);
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
