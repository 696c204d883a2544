/**
 * What PostgreSQL refuses in text and jsonb: NUL characters and lone UTF-16 surrogates, in any
 * string or key. A value holding one fails the statement that writes it, as an opaque driver
 * error; callers find it first and say where it is (the API's 400, a step's `step_not_stored`).
 */

export interface UnstorablePart {
  /** Dotted path to the string or key (`items.2.content`), `(root)` for the value itself. */
  path: string;
  message: string;
}

/**
 * The first part of `value` PostgreSQL cannot store, or undefined. `maxDepth` bounds nesting too
 * (the API's limit for bodies). Iterative, so a hostile value cannot overflow the stack.
 */
export function unstorablePart(value: unknown, options: { maxDepth?: number } = {}): UnstorablePart | undefined {
  const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  const badString = (text: string): boolean => text.includes('\u0000') || !text.isWellFormed();
  while (stack.length > 0) {
    const item = stack.pop()!;
    const path = item.path || '(root)';
    if (typeof item.value === 'string') {
      if (badString(item.value)) return { path, message: 'strings may not contain NUL characters or unpaired surrogates' };
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= maxDepth) return { path, message: `nesting deeper than ${maxDepth} levels is not accepted` };
    if (Array.isArray(item.value)) {
      item.value.forEach((child, index) => stack.push({ value: child, depth: item.depth + 1, path: item.path ? `${item.path}.${index}` : String(index) }));
      continue;
    }
    for (const [key, child] of Object.entries(item.value)) {
      if (badString(key)) return { path, message: 'keys may not contain NUL characters or unpaired surrogates' };
      stack.push({ value: child, depth: item.depth + 1, path: item.path ? `${item.path}.${key}` : key });
    }
  }
  return undefined;
}

/**
 * `value` as PostgreSQL can store it: NUL characters removed, and each unpaired surrogate replaced
 * with U+FFFD, in every string and key. For text from outside that is stored as it came (a model's
 * answer): a stray control character there carries no meaning, and refusing the whole answer for
 * it failed work that had been paid for. Values are copied only where something changes.
 */
export function storableCopy<Value>(value: Value): Value {
  const clean = (text: string): string => {
    const withoutNul = text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
    return withoutNul.isWellFormed() ? withoutNul : withoutNul.toWellFormed();
  };
  const copy = (item: unknown): unknown => {
    if (typeof item === 'string') return clean(item);
    if (typeof item !== 'object' || item === null) return item;
    if (Array.isArray(item)) {
      const mapped = item.map(copy);
      return mapped.some((child, index) => child !== item[index]) ? mapped : item;
    }
    const entries = Object.entries(item);
    const mapped = entries.map(([key, child]) => [clean(key), copy(child)] as const);
    return mapped.some(([key, child], index) => key !== entries[index]![0] || child !== entries[index]![1]) ? Object.fromEntries(mapped) : item;
  };
  return copy(value) as Value;
}
