/**
 * A task type's `admit`: asked before every submit of the type, whatever path submits it; a
 * refusal records nothing; what it took is given back when the submit did not create the task
 * (a submit that failed). A repeat whose idempotency key names an older task gets that task
 * without being asked again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { TaskloomError } from '../../src/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine } from '../support/engine.ts';

let database: TestDatabase;
let engine: Engine;
/** The slots the admitted task type holds, by tenant: one each. */
const held = new Set<string>();
const admitted: Array<{ tenant: string; input: { label: string } }> = [];

const gated = defineTask({
  type: 'gated',
  description: 'A task type whose admission takes one slot per tenant.',
  queue: 'default',
  // Trimmed by the schema: `admit` sees the validated input.
  input: z.object({ label: z.string().trim().min(1) }).strict(),
  // Two `exclusive` tasks are never active together: the second submit fails after admission.
  concurrency: { key: (input) => (input.label === 'exclusive' ? 'exclusive' : undefined), onConflict: 'reject' },
  async admit({ tenant, input }) {
    admitted.push({ tenant, input });
    if (held.has(tenant)) throw new TaskloomError('slot_taken', `Tenant ${tenant} holds its slot.`, { httpStatus: 429, retryable: false });
    held.add(tenant);
    return async () => {
      held.delete(tenant);
    };
  },
  async run() {
    return null;
  },
});

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [gated]);
});

afterAll(async () => {
  await engine?.stop({ graceMs: 0 });
  await database?.drop();
});

const count = async (): Promise<number> => (await database.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM tasks WHERE task_type = 'gated'")).rows[0]!.count;

it('admits a first task, refuses the next one with the admission\'s error, and records nothing for it', async () => {
  const first = await engine.submit({ taskType: 'gated', input: { label: '  first ' }, tenant: 'alpha', idempotencyKey: 'alpha-1' });
  expect(first.created).toBe(true);
  expect(admitted.at(-1)).toEqual({ tenant: 'alpha', input: { label: 'first' } });
  await expect(engine.submit({ taskType: 'gated', input: { label: 'second' }, tenant: 'alpha' })).rejects.toMatchObject({ code: 'slot_taken' });
  expect(await count()).toBe(1);
  // Another tenant has its own slot.
  expect((await engine.submit({ taskType: 'gated', input: { label: 'other' }, tenant: 'beta' })).created).toBe(true);
});

it('answers a repeat with the task its key names, without asking the admission again', async () => {
  // The slot is still held by the first task: a new submit would be refused, its repeat is not.
  expect(held.has('alpha')).toBe(true);
  const before = admitted.length;
  const again = await engine.submit({ taskType: 'gated', input: { label: 'first' }, tenant: 'alpha', idempotencyKey: 'alpha-1' });
  expect(again).toMatchObject({ created: false, task: { tenant: 'alpha', input: { label: 'first' } } });
  expect(admitted.length).toBe(before);
  expect(held.has('alpha')).toBe(true);
  expect(await count()).toBe(2);
});

it('gives back what it took when the submit fails', async () => {
  // Refused after admission (no worker runs here, so the first `exclusive` task stays active):
  // given back too.
  expect((await engine.submit({ taskType: 'gated', input: { label: 'exclusive' }, tenant: 'gamma' })).created).toBe(true);
  held.delete('gamma');
  await expect(engine.submit({ taskType: 'gated', input: { label: 'exclusive' }, tenant: 'gamma' })).rejects.toMatchObject({ code: 'concurrency_conflict' });
  expect(held.has('gamma')).toBe(false);
  // Bad input is refused by validation before any admission.
  const before = admitted.length;
  await expect(engine.submit({ taskType: 'gated', input: { label: ' ' }, tenant: 'alpha' })).rejects.toMatchObject({ code: 'validation_failed' });
  expect(admitted.length).toBe(before);
});
