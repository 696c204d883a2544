/**
 * Payload CMS client: the departments flagged for gathering, in codeDepNumber order.
 *
 * `GET {PAYLOAD_API_URL}/departments?where[gatherCheck][equals]=true&where[isActive][equals]=true&sort=codeDepNumber&limit=1000`
 * with Payload's API-key authorization (`Authorization: users API-Key {PAYLOAD_API_KEY}`; a key
 * that already contains "API-Key" or "Bearer" is sent as it is, for other auth collections).
 *
 * Failures never turn into made-up departments: a network error, a non-2xx answer or a body that
 * is not a Payload list raises a DependencyError naming Payload, the URL and the status.
 */
import { z } from 'zod';
import { DependencyError } from '../errors.ts';

/** The seed's exact query string. */
export const departmentsQuery = 'where[gatherCheck][equals]=true&where[isActive][equals]=true&sort=codeDepNumber&limit=1000';

export interface PayloadClientOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  /** Per-request timeout. @default 15000 */
  timeoutMs?: number;
  /** Quick retries of network errors, 5xx and 429 within one call. @default 2 */
  retries?: number;
  fetch?: typeof fetch;
}

/**
 * An optional number a CMS field holds: a number, or a number written as text; null, undefined
 * and blank text are absent. Anything else (a boolean, other text) does not fit.
 */
function optionalNumber(number: z.ZodNumber) {
  return z.union([
    number,
    z.string().trim().regex(/^$|^-?\d+(\.\d+)?$/, 'a number').transform((value) => (value === '' ? null : Number(value))).pipe(number.nullable()),
  ]).nullish();
}

/** A department's number (`codeDepNumber`): its place in the cascade, as every gather input takes it. */
export const departmentNumber = z.number().int().min(0).max(100_000);

/** A department as Payload returns it (ids may be numbers on SQL adapters). */
export const payloadDepartment = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  slug: z.string().min(1),
  name: z.string().min(1),
  description: z.string().nullish().transform((value) => value ?? ''),
  // A number, or digits as text (some adapters send numbers as strings). Not coerced: null, "" and
  // booleans would become 0 or 1 and put a department with no number first in the cascade. In
  // the range the gather takes (`departmentNumber`): one outside it failed the run at its first
  // department's end, when that department's evaluation was submitted, after it was paid for.
  codeDepNumber: z.union([z.number(), z.string().trim().regex(/^\d+$/, 'a whole number').transform(Number)]).pipe(departmentNumber),
  gatherCheck: z.boolean().nullish().transform((value) => value ?? true),
  isActive: z.boolean().nullish().transform((value) => value ?? true),
  defaultModel: z.string().nullish().transform((value) => (value && value.trim().length > 0 ? value.trim() : null)),
  coordinationSettings: z.object({
    // As for the number above, not coerced: a cleared field ("") or a boolean became 0 or 1, a
    // threshold every department reached at once. Blank is absent (the default applies).
    minQualityThreshold: optionalNumber(z.number().min(0).max(100)),
    maxRetries: optionalNumber(z.number().int().min(0)),
  }).loose().nullish(),
}).loose();
export type PayloadDepartment = z.infer<typeof payloadDepartment>;

const payloadList = z.object({ docs: z.array(z.unknown()) }).loose();

export function payloadAuthorization(apiKey: string): string {
  return /API-Key|^Bearer\s/i.test(apiKey) ? apiKey : `users API-Key ${apiKey}`;
}

export interface PayloadClient {
  readonly baseUrl: string;
  fetchGatherDepartments(signal?: AbortSignal): Promise<PayloadDepartment[]>;
}

export function createPayloadClient(options: PayloadClientOptions): PayloadClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retries = options.retries ?? 2;

  const request = async (url: string, signal: AbortSignal | undefined): Promise<unknown> => {
    let lastError: DependencyError | undefined;
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 200 * 4 ** (attempt - 1)));
      signal?.throwIfAborted();
      const combined = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await doFetch(url, {
          headers: { accept: 'application/json', ...(options.apiKey ? { authorization: payloadAuthorization(options.apiKey) } : {}) },
          signal: combined,
        });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        lastError = new DependencyError('Payload CMS', `GET ${url} failed: ${(error as Error).message}`, { details: { url }, cause: error });
        continue;
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // The answer broke off after its status line (the timeout, a reset): the call failed. Read
        // as an empty body it became "not JSON", a failure that is never retried.
        lastError = new DependencyError('Payload CMS', `GET ${url} answered ${response.status}, then its body broke off: ${(error as Error).message}`, {
          details: { url, status: response.status },
          cause: error,
        });
        continue;
      }
      if (!response.ok) {
        const retryable = response.status === 429 || response.status >= 500;
        lastError = new DependencyError('Payload CMS', `GET ${url} answered ${response.status}${text ? `: ${text.slice(0, 300)}` : ''}`, {
          details: { url, status: response.status },
          retryable,
        });
        if (!retryable) throw lastError;
        continue;
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new DependencyError('Payload CMS', `GET ${url} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`, { details: { url, status: response.status }, retryable: false });
      }
    }
    throw lastError!;
  };

  return {
    baseUrl,
    async fetchGatherDepartments(signal) {
      const url = `${baseUrl}/departments?${departmentsQuery}`;
      const body = await request(url, signal);
      const list = payloadList.safeParse(body);
      if (!list.success) {
        throw new DependencyError('Payload CMS', `GET ${url} did not answer a Payload list (expected {docs: [...]})`, { details: { url }, retryable: false });
      }
      const departments: PayloadDepartment[] = [];
      for (const [index, document] of list.data.docs.entries()) {
        const parsed = payloadDepartment.safeParse(document);
        if (!parsed.success) {
          const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
          throw new DependencyError('Payload CMS', `department ${index} of GET ${url} is invalid (${issues})`, { details: { url, index }, retryable: false });
        }
        departments.push(parsed.data);
      }
      // Payload already sorts; sorting again keeps the order right if a proxy or an older Payload ignores `sort`.
      return departments
        .filter((department) => department.gatherCheck && department.isActive)
        .sort((left, right) => left.codeDepNumber - right.codeDepNumber);
    },
  };
}
