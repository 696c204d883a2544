/**
 * Data hooks: a request that reloads on an interval (paused while the tab is hidden).
 */
import type { RefObject } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` now, whenever `key` changes, every `intervalMs` (when given) and on reload().
 * Keeps the last good data while a reload is in flight or fails.
 *
 * `key` names what is loaded (a task, a company, a search), so a new key clears the data: another
 * thing's data must not show as the new one's while it loads. To refresh the same thing, call
 * reload() (throttled with useThrottled when events drive it) or pass `intervalMs`; a counter in
 * the key would blank the data on every refresh (the learning page's list did, 17 times a second).
 */
export function useLoader<T>(load: (signal: AbortSignal) => Promise<T>, key: string, intervalMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyRef = useRef(key);

  useEffect(() => {
    if (keyRef.current !== key) {
      // Another thing: its data is not the previous key's (reloads of one key keep theirs).
      keyRef.current = key;
      setData(undefined);
    }
    const controller = new AbortController();
    setLoading(true);
    loadRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(failure instanceof ApiError ? failure : new ApiError(0, 'client_error', (failure as Error).message));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [key, tick]);

  // A thing that is not there will not appear by asking again, nor will a request the server
  // refuses (a bogus cursor or filter in the URL, 400) pass: a 4xx stops the polling, but for a
  // timeout or a rate limit (408, 429), which asking later may pass. A new key starts it again.
  const gone = error !== undefined && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
  useEffect(() => {
    if (!intervalMs || gone) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((value) => value + 1);
    }, intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, key, gone]);

  const reload = useCallback(() => setTick((value) => value + 1), []);
  return { data, error, loading, reload };
}

/** A callback that runs at most once per `delayMs`, trailing (for "refetch after events"). */
export function useThrottled(callback: () => void, delayMs: number): () => void {
  const callbackRef = useRef(callback);
  callbackRef.current = callback;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      callbackRef.current();
    }, delayMs);
  }, [delayMs]);
}

/** Re-renders every `intervalMs` (for "12 s ago" texts). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** The rendered width of an element (charts draw at true pixel size, so text stays readable). */
export function useElementWidth<T extends HTMLElement>(fallback: number): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = (): void => {
      const next = Math.round(element.clientWidth);
      if (next > 0) setWidth(next);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}
