/**
 * Time-ordered UUIDs (version 7), the ids of new tasks: the time they were made in their first 48
 * bits, so that ids made later sort after, as strings and as PostgreSQL `uuid` values, and
 * random bits after it, so that ids made in the same millisecond still differ.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { timeOrderedUuid } from '../../src/db/time-ordered-uuid.ts';
import { Engine } from '../../src/engine/index.ts';
import { stepsTask } from '../fixtures/task-types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testLogger } from '../support/engine.ts';

const versionSeven = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

it('puts the time first, then the version and variant of RFC 9562 version 7', () => {
  const made = Date.UTC(2026, 11, 4, 8, 30);
  const id = timeOrderedUuid(made);
  expect(id).toMatch(versionSeven);
  expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(made);
  expect(timeOrderedUuid(0)).toMatch(/^00000000-0000-7/);
  expect(timeOrderedUuid(2 ** 48 - 1)).toMatch(/^ffffffff-ffff-7/);
});

it('makes distinct ids within one millisecond', () => {
  const ids = Array.from({ length: 10_000 }, () => timeOrderedUuid(1_000));
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(versionSeven);
});

it('sorts ids made in later milliseconds after, in PostgreSQL as in JavaScript', async () => {
  const times = [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_255, 1_700_000_000_256, 1_800_000_000_000];
  const ids = times.map((time) => timeOrderedUuid(time));
  expect([...ids].reverse().sort()).toEqual(ids);
  const sorted = await database.pool.query<{ id: string }>('SELECT id FROM unnest($1::uuid[]) AS id ORDER BY id', [[...ids].reverse()]);
  expect(sorted.rows.map((row) => row.id)).toEqual(ids);
});

it('is what a submit gives a new task', async () => {
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: testLogger, taskTypes: [stepsTask], maintenance: false, schedules: false });
  try {
    const before = Date.now();
    const first = (await engine.submit({ taskType: stepsTask.type, input: { steps: 1 } })).task;
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = (await engine.submit({ taskType: stepsTask.type, input: { steps: 1 } })).task;
    for (const task of [first, second]) expect(task.id).toMatch(versionSeven);
    expect(Number.parseInt(first.id.replaceAll('-', '').slice(0, 12), 16)).toBeGreaterThanOrEqual(before);
    const inOrder = await database.pool.query<{ id: string }>('SELECT id FROM tasks WHERE id = ANY($1::uuid[]) ORDER BY id', [[second.id, first.id]]);
    expect(inOrder.rows.map((row) => row.id)).toEqual([first.id, second.id]);
  } finally {
    await engine.stop();
  }
});
