/**
 * Webhook signatures. Every delivery carries
 *
 *   X-Taskloom-Timestamp: 1767225600
 *   X-Taskloom-Signature: t=1767225600,v1=<hex HMAC-SHA256(tenant secret, "1767225600.<raw body>")>
 *
 * A receiver recomputes the HMAC over `timestamp + "." + raw body` with its tenant's webhook
 * secret, compares in constant time, and rejects timestamps too far from its clock (replays).
 * `verifyWebhookSignature` does all three.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const signatureHeader = 'x-taskloom-signature';
export const timestampHeader = 'x-taskloom-timestamp';

export function computeSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `X-Taskloom-Signature` header value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${computeSignature(secret, timestamp, body)}`;
}

export interface VerifyOptions {
  secret: string;
  /** The raw request body, exactly as received. */
  body: string;
  /** The `X-Taskloom-Signature` header value. */
  header: string | undefined;
  /** Largest accepted distance between the signed timestamp and now. @default 300 */
  toleranceSeconds?: number;
  /** Current unix time in seconds. @default Date.now() / 1000 */
  now?: number;
}

/** True when `header` is a valid signature of `body` with `secret`, made within the tolerance. */
export function verifyWebhookSignature(options: VerifyOptions): boolean {
  if (!options.header) return false;
  const parts = new Map<string, string[]>();
  for (const part of options.header.split(',')) {
    const separator = part.indexOf('=');
    if (separator <= 0) continue;
    const key = part.slice(0, separator).trim();
    const values = parts.get(key) ?? [];
    values.push(part.slice(separator + 1).trim());
    parts.set(key, values);
  }
  const timestamp = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(timestamp)) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(computeSignature(options.secret, timestamp, options.body), 'hex');
  // Several v1 values may be present while a secret is rotated; any match is enough.
  return (parts.get('v1') ?? []).some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
