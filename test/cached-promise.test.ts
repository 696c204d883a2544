/**
 * cachedPromise: one load shared by concurrent callers, its value kept, a rejection not kept.
 * sharedWhilePending: one load shared by the callers that overlap it, nothing kept after.
 */
import { expect, it } from 'vitest';
import { cachedPromise, sharedWhilePending } from '../src/cached-promise.ts';

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

it('shares a load only while it is in flight: a later caller reads afresh', async () => {
  const pending = new Map<string, Promise<number>>();
  let loads = 0;
  const load = async (): Promise<number> => {
    loads += 1;
    return loads;
  };
  const overlapping = await Promise.all([sharedWhilePending(pending, 'post', load), sharedWhilePending(pending, 'post', load), sharedWhilePending(pending, 'other', load)]);
  expect(overlapping).toEqual([1, 1, 2]);
  expect(pending.size).toBe(0);
  await expect(sharedWhilePending(pending, 'post', load)).resolves.toBe(3);
});

it('forgets a load that failed, and hands its failure to every caller that shared it', async () => {
  const pending = new Map<string, Promise<string>>();
  const failing = async (): Promise<string> => {
    throw new Error('connection lost');
  };
  const shared = [sharedWhilePending(pending, 'post', failing), sharedWhilePending(pending, 'post', async () => 'not called')];
  await expect(shared[0]).rejects.toThrow('connection lost');
  await expect(shared[1]).rejects.toThrow('connection lost');
  expect(pending.size).toBe(0);
  await expect(sharedWhilePending(pending, 'post', async () => 'read again')).resolves.toBe('read again');
});
