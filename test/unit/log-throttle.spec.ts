import { jest } from '@jest/globals';
import { LogThrottle } from '../../lib/core/log-throttle.js';

function recorder(): { lines: string[]; logger: { warn(m: string): void; log(m: string): void } } {
  const lines: string[] = [];
  return {
    lines,
    logger: { warn: (m) => lines.push(`warn ${m}`), log: (m) => lines.push(`log ${m}`) },
  };
}

const messages = {
  first: (d: string) => `first: ${d}`,
  summary: (n: number, s: number, d: string) => `${n} more in ${s} s: ${d}`,
  end: (total: number) => `over after ${total}`,
};

describe('LogThrottle', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('logs the first occurrence, then one summary per interval, then the end', () => {
    const { lines, logger } = recorder();
    const throttle = new LogThrottle(logger, 10_000, messages);
    for (let i = 0; i < 1_000; i++) throttle.record(`error ${i}`);
    expect(lines).toEqual(['warn first: error 0']);
    jest.advanceTimersByTime(10_000);
    expect(lines).toEqual(['warn first: error 0', 'warn 999 more in 10 s: error 999']);
    for (let i = 0; i < 3; i++) throttle.record('again');
    jest.advanceTimersByTime(9_999);
    expect(lines).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(lines[2]).toBe('warn 3 more in 10 s: again');
    throttle.resolve();
    expect(lines[3]).toBe('log over after 1003');
    expect(throttle.active).toBe(false);
  });

  it('keeps an incident open across a quiet interval until it is resolved', () => {
    const { lines, logger } = recorder();
    const throttle = new LogThrottle(logger, 10_000, messages);
    throttle.record('a');
    jest.advanceTimersByTime(30_000);
    throttle.record('b');
    throttle.record('c');
    expect(lines).toEqual(['warn first: a']);
    throttle.resolve();
    expect(lines).toEqual(['warn first: a', 'warn 2 more in 10 s: c', 'log over after 3']);
  });

  it('starts a new burst after a quiet interval when there is no end line', () => {
    const { lines, logger } = recorder();
    const throttle = new LogThrottle(logger, 10_000, {
      first: messages.first,
      summary: messages.summary,
    });
    throttle.record('a');
    throttle.record('b');
    jest.advanceTimersByTime(10_000);
    jest.advanceTimersByTime(10_000);
    throttle.record('c');
    expect(lines).toEqual(['warn first: a', 'warn 1 more in 10 s: b', 'warn first: c']);
  });

  it('writes at most 2 + duration / interval lines for an incident of any rate', () => {
    for (const perSecond of [1, 100, 10_000]) {
      const { lines, logger } = recorder();
      const throttle = new LogThrottle(logger, 10_000, messages);
      for (let second = 0; second < 60; second++) {
        for (let i = 0; i < perSecond; i++) throttle.record('down');
        jest.advanceTimersByTime(1_000);
      }
      throttle.resolve();
      expect(lines.length).toBeLessThanOrEqual(2 + 60 / 10);
    }
  });
});
