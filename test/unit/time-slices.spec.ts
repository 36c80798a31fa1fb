import { jest } from '@jest/globals';
import { TimeSlices } from '../../lib/stores/memory/time-slices.js';

describe('TimeSlices', () => {
  afterEach(() => jest.restoreAllMocks());

  it('reads the clock once per 128 entries, whether counted one by one or in batches', () => {
    const now = 0;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    const slices = new TimeSlices();
    clock.mockClear();
    for (let i = 0; i < 127; i++) expect(slices.spent()).toBe(false);
    expect(clock).not.toHaveBeenCalled();
    expect(slices.spent()).toBe(false);
    expect(clock).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) expect(slices.spent(32)).toBe(false);
    expect(clock).toHaveBeenCalledTimes(1);
    expect(slices.spent(32)).toBe(false);
    expect(clock).toHaveBeenCalledTimes(2);
  });

  it('tells a slice is spent at the first check past its budget, and starts anew after a yield', async () => {
    let now = 0;
    jest.spyOn(performance, 'now').mockImplementation(() => now);
    const slices = new TimeSlices();
    now = 2;
    expect(slices.spent(128)).toBe(false);
    now = 4;
    // Past the budget, but the next check is 100 entries away.
    expect(slices.spent(100)).toBe(false);
    expect(slices.spent(28)).toBe(true);
    await slices.yield();
    expect(slices.spent(128)).toBe(false);
    now = 8;
    expect(slices.spent(200)).toBe(true);
  });
});
