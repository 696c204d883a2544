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
