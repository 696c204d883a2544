/**
 * A promise kept per key while it is pending or fulfilled, so callers that arrive while the first
 * load is in flight share it and later ones get its value. A rejection is not kept: the next
 * caller loads again (a package that failed to import, a model that could not be built).
 */
export interface PromiseCache<Key, Value> {
  get(key: Key): Promise<Value> | undefined;
  set(key: Key, value: Promise<Value>): unknown;
  delete(key: Key): unknown;
}

/** The promise `cache` holds for `key`, or `load()`'s, kept until it rejects. */
export function cachedPromise<Key, Value>(cache: PromiseCache<Key, Value>, key: Key, load: () => Promise<Value>): Promise<Value> {
  const kept = cache.get(key);
  if (kept) return kept;
  const loading = load();
  cache.set(key, loading);
  loading.catch(() => {
    if (cache.get(key) === loading) cache.delete(key);
  });
  return loading;
}

/**
 * The promise `pending` holds for `key` while it is in flight, or `load()`'s: callers that arrive
 * while a load is pending share it, and the next caller after it settles loads afresh. For reads
 * of rows that change, where sharing one read among concurrent callers is as current as each
 * making its own, and a settled value must not be served later.
 */
export function sharedWhilePending<Key, Value>(pending: Map<Key, Promise<Value>>, key: Key, load: () => Promise<Value>): Promise<Value> {
  const kept = pending.get(key);
  if (kept) return kept;
  const loading = load();
  pending.set(key, loading);
  const forget = (): void => {
    if (pending.get(key) === loading) pending.delete(key);
  };
  loading.then(forget, forget);
  return loading;
}
