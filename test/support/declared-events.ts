/**
 * Checks stored events against a pipeline's declared payload schemas (its `events`, which
 * GET /api/v1/event-types publishes): what clients are told a payload holds is what it holds.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import type { TaskEvent } from '../../src/engine/index.ts';

/**
 * Asserts every event of a declared type parses with its schema, and holds no top-level field
 * the schema does not name (published as JSON Schema, the payload object allows no other
 * property: a client validating against it refuses the event); returns the types seen. Nested
 * objects are checked as zod parses them, extra fields passing.
 */
export function expectDeclaredPayloads(events: readonly TaskEvent[], declared: Record<string, z.ZodType>): Set<string> {
  const seen = new Set<string>();
  for (const event of events) {
    const schema = declared[event.type];
    if (!schema) continue;
    seen.add(event.type);
    const checked = (schema instanceof z.ZodObject ? schema.strict() : schema).safeParse(event.payload);
    expect(checked.success, `${event.type} ${JSON.stringify(event.payload)}: ${checked.error?.message}`).toBe(true);
  }
  return seen;
}
