/**
 * One webhook POST: signed, with a deadline, to an address the target policy allows. Redirects
 * are not followed (a redirect could lead anywhere the policy refuses); a 3xx counts as failed.
 */
import http from 'node:http';
import https from 'node:https';
import type { TaskEvent } from '../../engine/index.ts';
import { signWebhook } from './signature.ts';
import { guardedLookup, refuseUrl, TargetRefusedError, type TargetPolicy } from './target-policy.ts';

export interface SendOptions {
  url: string;
  secret: string;
  event: TaskEvent;
  attempt: number;
  timeoutMs: number;
  policy: TargetPolicy;
}

export type SendResult =
  | { outcome: 'delivered'; statusCode: number; durationMs: number }
  | { outcome: 'failed'; statusCode: number | null; error: string; durationMs: number }
  | { outcome: 'refused'; error: string; durationMs: number };

/** The JSON body of a delivery: the stored event, as every stream shows it. */
export function webhookBody(event: TaskEvent): string {
  return JSON.stringify({
    id: event.id,
    task_id: event.task_id,
    project_id: event.project_id,
    type: event.type,
    payload: event.payload,
    created_at: event.created_at,
  });
}

const responseSampleBytes = 512;

/**
 * An event type as a header value: visible ASCII stays as it is, anything else (and `%`) is
 * percent-encoded UTF-8. Event types are a pipeline's own strings, and a header cannot carry every
 * character: Node refused `schritt→fertig` before sending, so the task's webhooks stalled on it.
 * The body's `type` is always exact.
 */
export function eventTypeHeader(type: string): string {
  return type.replace(/[^\x21-\x24\x26-\x7e]/gu, (character) => encodeURIComponent(character));
}

export async function sendWebhook(options: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const refusal = refuseUrl(options.url, options.policy);
  if (refusal) return { outcome: 'refused', error: refusal, durationMs: elapsed() };
  const body = webhookBody(options.event);
  const timestamp = Math.floor(Date.now() / 1000);
  const url = new URL(options.url);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: SendResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    let request: http.ClientRequest;
    try {
      request = transport.request(url, {
        method: 'POST',
        lookup: guardedLookup(options.policy),
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'taskloom-webhooks/1',
          'x-taskloom-event-id': String(options.event.id),
          'x-taskloom-event-type': eventTypeHeader(options.event.type),
          'x-taskloom-task-id': options.event.task_id,
          'x-taskloom-attempt': String(options.attempt),
          'x-taskloom-timestamp': String(timestamp),
          'x-taskloom-signature': signWebhook(options.secret, timestamp, body),
        },
      }, (response) => {
        const status = response.statusCode ?? 0;
        // A 2xx status is the receiver's acknowledgement: delivered at once, whatever its body
        // does after (one that trickled or sent gigabytes was recorded as "no answer", retried
        // and dropped though acknowledged). Its body is not read.
        if (status >= 200 && status < 300) {
          finish({ outcome: 'delivered', statusCode: status, durationMs: elapsed() });
          response.destroy();
          return;
        }
        // A refusal's reason: its first bytes, not its whole body.
        let sample = '';
        const failed = (): void => finish({ outcome: 'failed', statusCode: status, error: `receiver answered ${status}${sample ? `: ${sample.trim()}` : ''}`, durationMs: elapsed() });
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          sample += chunk.slice(0, responseSampleBytes - sample.length);
          if (sample.length < responseSampleBytes) return;
          failed();
          response.destroy();
        });
        response.on('error', () => finish({ outcome: 'failed', statusCode: status, error: 'response stream failed', durationMs: elapsed() }));
        response.on('end', failed);
      });
    } catch (error) {
      // Refused before sending (a header Node will not write): a failed attempt like any other,
      // recorded and retried, never an exception that leaves the delivery leased and unrecorded.
      resolve({ outcome: 'failed', statusCode: null, error: `request not sent: ${(error as Error).message}`, durationMs: elapsed() });
      return;
    }
    const timer = setTimeout(() => {
      request.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    request.on('error', (error) => {
      if (error instanceof TargetRefusedError) finish({ outcome: 'refused', error: error.reason, durationMs: elapsed() });
      else finish({ outcome: 'failed', statusCode: null, error: error.message, durationMs: elapsed() });
    });
    request.end(body);
  });
}
