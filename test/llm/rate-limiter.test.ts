/**
 * The per-provider limiter: concurrency, requests per sliding minute (time moved by an injected
 * clock), first-come-first-served order and cancellable waits.
 */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/llm/index.ts';
import { retryAfterMs } from '../../src/llm/retry-policy.ts';
import { httpError } from './helpers.ts';

describe('RateLimiter', () => {
  it('keeps at most `concurrency` slots in use and serves waiters in order', async () => {
    const limiter = new RateLimiter({ concurrency: 2, requestsPerMinute: 1000 });
    const first = await limiter.acquire();
    const second = await limiter.acquire();
    const order: number[] = [];
    const third = limiter.acquire().then((release) => { order.push(3); return release; });
    const fourth = limiter.acquire().then((release) => { order.push(4); return release; });
    await Promise.resolve();
    expect(limiter.state).toMatchObject({ active: 2, waiting: 2 });
    first();
    first(); // releasing twice is harmless
    (await third)();
    second();
    (await fourth)();
    expect(order).toEqual([3, 4]);
    expect(limiter.state).toMatchObject({ active: 0, waiting: 0 });
  });

  it('holds requests past the per-minute budget until the window moves', async () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ concurrency: 10, requestsPerMinute: 2 }, () => now);
    (await limiter.acquire())();
    (await limiter.acquire())();
    let started = false;
    const third = limiter.acquire().then((release) => { started = true; return release; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toBe(false);
    expect(limiter.state.waiting).toBe(1);
    now += 60_001;
    limiter.setLimits({ concurrency: 10, requestsPerMinute: 2 }); // re-evaluates the queue now
    (await third)();
    expect(started).toBe(true);
  });

  it('drops a waiter whose signal aborts', async () => {
    const limiter = new RateLimiter({ concurrency: 1, requestsPerMinute: 1000 });
    const held = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(limiter.state.waiting).toBe(0);
    held();
    await expect(limiter.acquire(controller.signal)).rejects.toThrow('gone');
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs(httpError(429, { 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(httpError(429, { 'Retry-After': '2' }))).toBe(2000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs(httpError(503, { 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(httpError(500))).toBeUndefined();
    expect(retryAfterMs(new Error('plain'))).toBeUndefined();
  });
});
