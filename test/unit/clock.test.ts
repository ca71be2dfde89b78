import { describe, expect, it } from 'vitest';
import { stampTime } from '../../agent/agent.js';
import { ClockEstimator } from '../../agent/clock.js';

describe('clock offset from acks', () => {
  it.each([
    // sent, received (local), collector time in the ack, expected offset
    ['in step', 1000, 1200, 1100, 0],
    ['90 s ahead', 91_000, 91_400, 1200, 90_000],
    ['an hour behind', 1000, 1600, 3_601_300, -3_600_000],
  ])('reads a station %s', (_what, sent, received, t, expected) => {
    const c = new ClockEstimator();
    c.add(sent, received, t);
    expect(c.offsetMs(received)).toBe(expected);
  });

  it('trusts the narrowest round trip seen recently', () => {
    const c = new ClockEstimator();
    c.add(0, 2000, 500); // wide: offset in [-500, 1500]
    c.add(10_000, 10_100, 10_000); // narrow: offset in [0, 100]
    c.add(20_000, 23_000, 19_000); // wide again
    expect(c.offsetMs(23_000)).toBe(50);
  });

  it('forgets samples older than its window and ignores a clock that stepped back', () => {
    const c = new ClockEstimator(60_000);
    c.add(0, 100, 0);
    expect(c.offsetMs(100)).toBe(50);
    expect(c.offsetMs(100_000)).toBeUndefined();
    c.add(5000, 4000, 4500);
    expect(c.offsetMs(5000)).toBeUndefined();
  });
});

describe('measurement time stamped on a wrong clock', () => {
  it.each([
    ['no estimate yet', 1_000_000, undefined, 1_000_000],
    ['noise of the estimate', 1_000_000, 800, 1_000_000],
    ['10 minutes behind', 1_000_000, -600_000, 1_600_000],
    ['an hour ahead', 5_000_000, 3_600_000, 1_400_000],
  ])('%s', (_what, local, offset, expected) => expect(stampTime(local, offset)).toBe(expected));
});
