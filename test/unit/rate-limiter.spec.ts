import { jest } from '@jest/globals';
import { RateLimiter } from '../../lib/index.js';

const T0 = Date.UTC(2026, 0, 1);

describe('RateLimiter', () => {
  let limiter: RateLimiter;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
  });

  afterEach(async () => {
    await limiter?.close();
    jest.useRealTimers();
  });

  it('allows maxRequests per window, then denies with retryAfter in seconds', async () => {
    limiter = new RateLimiter({ maxRequests: 3, windowMs: 10_000 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.checkLimit('svc'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    expect(results[0].resetTime).toEqual(new Date(T0 + 10_000));
    expect(results[3].retryAfter).toBe(10);
    expect(results[0].retryAfter).toBeUndefined();
  });

  it('keeps keys apart', async () => {
    limiter = new RateLimiter({ maxRequests: 1, windowMs: 1000 });
    expect((await limiter.checkLimit('a')).allowed).toBe(true);
    expect((await limiter.checkLimit('b')).allowed).toBe(true);
    expect((await limiter.checkLimit('a')).allowed).toBe(false);
  });

  it('opens a new window after windowMs', async () => {
    limiter = new RateLimiter({ maxRequests: 1, windowMs: 1000 });
    await limiter.checkLimit('svc');
    expect((await limiter.checkLimit('svc')).allowed).toBe(false);
    jest.advanceTimersByTime(1000);
    expect((await limiter.checkLimit('svc')).allowed).toBe(true);
  });

  it('blocks for blockDuration once over the limit', async () => {
    limiter = new RateLimiter({ maxRequests: 1, windowMs: 1000, blockDuration: 5000 });
    await limiter.checkLimit('svc');
    const denied = await limiter.checkLimit('svc');
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfter).toBe(5);
    jest.advanceTimersByTime(2000);
    expect((await limiter.checkLimit('svc')).allowed).toBe(false);
    jest.advanceTimersByTime(3000);
    expect((await limiter.checkLimit('svc')).allowed).toBe(true);
  });

  it('forgets a key on reset', async () => {
    limiter = new RateLimiter({ maxRequests: 1, windowMs: 1000 });
    await limiter.checkLimit('svc');
    await limiter.reset('svc');
    expect((await limiter.checkLimit('svc')).allowed).toBe(true);
  });

  it.each([
    [{ maxRequests: 0, windowMs: 1000 }, 'maxRequests'],
    [{ maxRequests: 1, windowMs: 0 }, 'windowMs'],
    [{ maxRequests: 1, windowMs: 10, blockDuration: -1 }, 'blockDuration'],
  ])('rejects %p with a TypeError naming %s', (options, name) => {
    expect(() => new RateLimiter(options)).toThrow(TypeError);
    expect(() => new RateLimiter(options)).toThrow(`"${name}"`);
  });

  it('close() clears the per-key timers of the memory backend and forgets the counts', async () => {
    limiter = new RateLimiter({ maxRequests: 5, windowMs: 60_000 });
    await limiter.checkLimit('a');
    await limiter.checkLimit('b');
    const clear = jest.spyOn(globalThis, 'clearTimeout');
    await limiter.close();
    expect(clear).toHaveBeenCalledTimes(2);
    clear.mockRestore();
    expect((await limiter.checkLimit('a')).remaining).toBe(4);
  });
});
