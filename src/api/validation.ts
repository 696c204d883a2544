/**
 * Request validation: one zod schema per shape, the same helper for core routes and route
 * plugins, so every invalid input answers the same `validation_failed` error.
 */
import { z } from 'zod';
import { describeIssues } from '../engine/index.ts';
import { unstorablePart } from '../db/storable.ts';
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
  const unstorable = unstorablePart(value, { maxDepth });
  if (unstorable) {
    throw new ValidationError(`Invalid request ${where}: ${unstorable.path}: ${unstorable.message}`, { location: where, issues: [unstorable] });
  }
}

export { jsonSchema } from '../json-schema.ts';

/** For routes that take no query parameters: an unknown one is a mistake worth reporting. */
export const emptyQuery = z.object({}).strict();

/** For POST routes that take no body: nothing, or an empty JSON object. */
export const emptyBody = z.object({}).strict().optional();
