/**
 * How a refused input is described: a value matching none of a union's shapes is described by
 * the shape it came closest to, instead of zod's bare "Invalid input".
 */
import { expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues } from '../../src/engine/index.ts';

const issuesOf = (schema: z.ZodType, value: unknown): Array<{ path: string; message: string }> => describeIssues(schema.safeParse(value).error!);

const topics = z.union([
  z.object({ company_id: z.uuid(), persona_id: z.uuid(), month: z.number().int().min(1).max(12) }).strict(),
  z.object({ topic_id: z.uuid(), rejection_reason: z.string().min(1) }).strict(),
]);

it('names the fields of the shape an input came closest to', () => {
  expect(issuesOf(topics, { persona_id: 'not a uuid', month: 5 }).map((issue) => issue.path)).toEqual(['company_id', 'persona_id']);
  expect(issuesOf(topics, { topic_id: 'nope', rejection_reason: 'too generic' })).toEqual([{ path: 'topic_id', message: expect.stringMatching(/uuid/i) }]);
  // Keys a shape does not know count each: two wrong values of the second shape are closer to it
  // than one missing field of the first plus two keys it does not know (zod counts those as one).
  const pair = z.union([z.object({ name: z.string() }).strict(), z.object({ width: z.number(), height: z.number() }).strict()]);
  expect(issuesOf(pair, { width: 'wide', height: 'tall' }).map((issue) => issue.path)).toEqual(['width', 'height']);
});

it('takes an object with a wrong field for its object shape, not for a string', () => {
  const either = z.union([z.string(), z.object({ company_id: z.uuid(), month: z.number() })]);
  expect(issuesOf(either, { company_id: 'x', month: 5 }).map((issue) => issue.path)).toEqual(['company_id']);
  expect(issuesOf(either, 42).map((issue) => issue.path)).toEqual(['(root)']);
});
