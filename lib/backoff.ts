/**
 * Reconnect delays: exponential with jitter, so a province of agents that lost its broker at the same moment does not
 * come back in lockstep. Pure; the caller supplies the random number.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  min_ms: number;
  /** Ceiling of the delay, in ms. */
  max_ms: number;
}

/**
 * The delay before retry number `attempt` (1 = the first retry after a failure): the exponential step
 * `min · 2^(attempt−1)`, capped at `max`, then drawn uniformly from its upper half ("equal jitter"). Half the step is
 * kept so that a retry never comes sooner than the schedule implies; the other half spreads the retries of many
 * clients over a window as wide as the step.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: number): number {
  const n = Math.max(1, Math.floor(attempt));
  const step = Math.min(policy.max_ms, policy.min_ms * 2 ** Math.min(n - 1, 30));
  const r = Math.min(Math.max(random, 0), 1);
  return Math.round(step / 2 + (step / 2) * r);
}
