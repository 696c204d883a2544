/**
 * The HTTP client: every call carries the session's API key as `X-API-Key`; errors become
 * ApiError with the API's stable `code` and its field issues.
 */
import type { ApiErrorBody } from './types.ts';

const storageKey = 'taskloom.apiKey';

/** The key lives in sessionStorage: it is gone when the tab closes. */
export function apiKey(): string | null {
  try {
    return sessionStorage.getItem(storageKey);
  } catch {
    return null;
  }
}

export function storeApiKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(storageKey);
  else sessionStorage.setItem(storageKey, key);
}

export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: FieldIssue[];
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.issues = Array.isArray(details.issues) ? (details.issues as FieldIssue[]) : [];
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when the API answers 401 (the key was revoked or is wrong): the app signs out. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Overrides the stored key (sign-in checks a key before storing it). */
  key?: string;
  headers?: Record<string, string>;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const key = options.key ?? apiKey();
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (key) headers['x-api-key'] = key;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'network_error', `The server could not be reached (${(error as Error).message}).`);
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    const body = parsed as Partial<ApiErrorBody> | undefined;
    const error = body?.error;
    const apiError = new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? `The server answered ${response.status} ${response.statusText}.`,
      (error?.details as Record<string, unknown> | undefined) ?? {},
    );
    if (response.status === 401 && options.key === undefined) for (const listener of unauthorizedListeners) listener();
    throw apiError;
  }
  return parsed as T;
}

/** Query string from the defined entries of `values`. */
export function query(values: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Absolute ws:// or wss:// URL of a stream path on this origin. */
export function websocketUrl(path: string): string {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
