/**
 * Request validation: one zod schema per shape, the same helper for core routes and route
 * plugins, so every invalid input answers the same `validation_failed` error.
 */
import { z } from 'zod';
import { describeIssues } from '../engine/index.ts';
import { ValidationError } from '../errors.ts';

export type RequestPart = 'body' | 'query' | 'params';

/**
 * Parses `value` with `schema` or throws the API's ValidationError (400 `validation_failed`,
 * `details: {location, issues: [{path, message}]}`).
 */
export function parseOrThrow<Schema extends z.ZodType>(schema: Schema, value: unknown, where: RequestPart): z.output<Schema> {
  const parsed = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (parsed.success) return parsed.data;
  const issues = describeIssues(parsed.error);
  throw new ValidationError(
    `Invalid request ${where}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
    { location: where, issues },
  );
}

/** Deepest JSON nesting accepted in a body (PostgreSQL's jsonb and our walkers stay far from limits). */
const maxDepth = 64;

/**
 * Rejects values PostgreSQL cannot store: NUL characters and lone UTF-16 surrogates in any
 * string or key (text and jsonb refuse them, which would otherwise surface as a 5xx), and
 * nesting deeper than 64 levels. Iterative, so a hostile body cannot overflow the stack.
 */
export function assertStorable(value: unknown, where: RequestPart): void {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  const fail = (path: string, message: string): never => {
    throw new ValidationError(`Invalid request ${where}: ${path || '(root)'}: ${message}`, { location: where, issues: [{ path: path || '(root)', message }] });
  };
  const badString = (text: string): boolean => text.includes('\u0000') || !text.isWellFormed();
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string') {
      if (badString(item.value)) fail(item.path, 'strings may not contain NUL characters or unpaired surrogates');
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= maxDepth) fail(item.path, `nesting deeper than ${maxDepth} levels is not accepted`);
    if (Array.isArray(item.value)) {
      item.value.forEach((child, index) => stack.push({ value: child, depth: item.depth + 1, path: item.path ? `${item.path}.${index}` : String(index) }));
      continue;
    }
    for (const [key, child] of Object.entries(item.value)) {
      if (badString(key)) fail(item.path, 'keys may not contain NUL characters or unpaired surrogates');
      stack.push({ value: child, depth: item.depth + 1, path: item.path ? `${item.path}.${key}` : key });
    }
  }
}

export { jsonSchema } from '../json-schema.ts';

/** For routes that take no query parameters: an unknown one is a mistake worth reporting. */
export const emptyQuery = z.object({}).strict();

/** For POST routes that take no body: nothing, or an empty JSON object. */
export const emptyBody = z.object({}).strict().optional();
