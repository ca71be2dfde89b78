import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../lib/backoff.js';

const policy = { min_ms: 1000, max_ms: 15_000 };

describe('backoffDelay', () => {
  it.each([
    [1, 0, 500], [1, 1, 1000],
    [2, 0, 1000], [2, 1, 2000],
    [3, 0.5, 3000],
    [4, 1, 8000],
    [5, 0, 7500], [5, 1, 15_000],
    [40, 0, 7500], [40, 1, 15_000],
  ])('retry %i with random %f waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, random)).toBe(expected);
  });

  it('spreads 150 agents that lost the broker together over the whole window instead of one instant', () => {
    // A deterministic spread of random numbers, as 150 independent agents would draw them.
    const delays = Array.from({ length: 150 }, (_, i) => backoffDelay(5, policy, (i + 0.5) / 150));
    const perSecond = new Map<number, number>();
    for (const d of delays) perSecond.set(Math.floor(d / 1000), (perSecond.get(Math.floor(d / 1000)) ?? 0) + 1);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(7500);
    expect(Math.max(...delays)).toBeLessThanOrEqual(15_000);
    // At most a fifth of the province in any one second.
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(30);
  });

  it('never waits longer than the ceiling, however long the outage', () => {
    for (let a = 1; a < 1000; a += 37) expect(backoffDelay(a, policy, 1)).toBeLessThanOrEqual(policy.max_ms);
  });
});
