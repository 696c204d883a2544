import { expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/engine/task-definition.ts';
import { TaskRegistry } from '../../src/engine/task-registry.ts';

const definition = (type: string, aliases?: string[]) => defineTask({ type, ...(aliases ? { aliases } : {}), description: `${type} task`, queue: 'default', input: z.object({}), run: async () => null });

it('finds a type by its aliases, and lists it under its own name only', () => {
  const registry = new TaskRegistry().register(definition('nightly_backfill', ['nightly_backfill_v1']), definition('other'));
  expect(registry.has('nightly_backfill_v1')).toBe(true);
  expect(registry.get('nightly_backfill_v1').type).toBe('nightly_backfill');
  expect(registry.types()).toEqual(['nightly_backfill', 'other']);
  expect(() => registry.get('nightly')).toThrow(/Unknown task_type "nightly". Valid task types: nightly_backfill, other/);
});

it('refuses a name that is already a type or an alias, in either order', () => {
  expect(() => new TaskRegistry().register(definition('a', ['b']), definition('b'))).toThrow('task type "b" is registered twice');
  expect(() => new TaskRegistry().register(definition('b'), definition('a', ['b']))).toThrow('task type "b" is registered twice');
  expect(() => new TaskRegistry().register(definition('a', ['c']), definition('b', ['c']))).toThrow('task type "c" is registered twice');
  expect(() => new TaskRegistry().register(definition('a', ['a']))).toThrow('task type "a" is registered twice');
});

it('refuses two schedules of one type under one key, which would leave only the last', () => {
  const twice = (keys: Array<string | undefined>) => defineTask({
    ...definition('nightly'),
    schedules: keys.map((key, index) => ({ cron: `0 ${index} * * *`, input: {}, ...(key === undefined ? {} : { key }) })),
  });
  expect(() => new TaskRegistry().register(twice([undefined, undefined]))).toThrow('task type "nightly" declares two schedules with the key "default"');
  expect(() => new TaskRegistry().register(twice(['eu', 'eu']))).toThrow('the key "eu"');
  expect(new TaskRegistry().register(twice(['eu', 'us'])).has('nightly')).toBe(true);
});

it('refuses settings a task could not run with: no attempt, or a timeout past Node\'s longest timer', () => {
  const withPolicy = (policy: Record<string, number>) => defineTask({ ...definition('policy'), ...policy });
  expect(() => new TaskRegistry().register(withPolicy({ maxAttempts: 0 }))).toThrow('task type "policy" cannot run as defined: maxAttempts 0: at least 1');
  expect(() => new TaskRegistry().register(withPolicy({ hardTimeoutMs: 30 * 24 * 3_600_000 }))).toThrow('hardTimeoutMs 2592000000: from 1 to 2147483647 ms');
  expect(() => new TaskRegistry().register(withPolicy({ softTimeoutMs: 0 }))).toThrow('softTimeoutMs 0');
  expect(new TaskRegistry().register(withPolicy({ maxAttempts: 1, hardTimeoutMs: 2_147_483_647 })).has('policy')).toBe(true);
});
