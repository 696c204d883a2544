/**
 * JSON Schema of a zod schema: for OpenAPI, the task types' input forms, pipelines' event docs
 * and waitpoints' completion payloads. One schema, one conversion.
 */
import { z } from 'zod';

/** `io: 'input'` describes what a client sends; `'output'` what it reads back. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  try {
    const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
    return rest;
  } catch {
    return {};
  }
}
