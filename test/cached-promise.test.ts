/**
 * cachedPromise: one load shared by concurrent callers, its value kept, a rejection not kept.
 */
import { expect, it } from 'vitest';
import { cachedPromise } from '../src/cached-promise.ts';

it('shares one load between callers and keeps its value', async () => {
  const cache = new Map<string, Promise<number>>();
  let loads = 0;
  const load = async (): Promise<number> => {
    loads += 1;
    return 42;
  };
  const [first, second] = await Promise.all([cachedPromise(cache, 'a', load), cachedPromise(cache, 'a', load)]);
  expect([first, second, await cachedPromise(cache, 'a', load)]).toEqual([42, 42, 42]);
  expect(loads).toBe(1);
});

it('forgets a rejected load, so the next caller loads again', async () => {
  const cache = new Map<string, Promise<string>>();
  let attempt = 0;
  const load = async (): Promise<string> => {
    attempt += 1;
    if (attempt === 1) throw new Error('import failed');
    return 'loaded';
  };
  await expect(cachedPromise(cache, 'a', load)).rejects.toThrow('import failed');
  expect(cache.has('a')).toBe(false);
  await expect(cachedPromise(cache, 'a', load)).resolves.toBe('loaded');
  expect(attempt).toBe(2);
});
