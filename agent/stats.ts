/** Summary of one probe cycle's round-trip times. Pure. */
export interface RttSummary {
  sent: number;
  received: number;
  loss: number;
  rtt_min_ms?: number;
  rtt_avg_ms?: number;
  rtt_max_ms?: number;
  rtt_p95_ms?: number;
  jitter_ms?: number;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Nearest-rank percentile (p in 0..100) of already sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of nothing');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * Jitter as the mean absolute difference of successive RTTs, in the order they were measured
 * (the RFC 3550 idea without its smoothing, since one cycle has few samples).
 */
export function jitter(rtts: readonly number[]): number | undefined {
  if (rtts.length < 2) return undefined;
  let sum = 0;
  for (let i = 1; i < rtts.length; i++) sum += Math.abs(rtts[i]! - rtts[i - 1]!);
  return sum / (rtts.length - 1);
}

/** Summarises the RTTs (ms, in measurement order) of `sent` attempts of which `rtts.length` were answered. */
export function summarizeRtts(rtts: readonly number[], sent: number): RttSummary {
  const received = rtts.length;
  const loss = sent > 0 ? Math.max(0, Math.min(1, (sent - received) / sent)) : 1;
  if (received === 0) return { sent, received, loss };
  const sorted = [...rtts].sort((a, b) => a - b);
  const sum = rtts.reduce((a, b) => a + b, 0);
  const j = jitter(rtts);
  return {
    sent,
    received,
    loss: round3(loss),
    rtt_min_ms: round3(sorted[0]!),
    rtt_avg_ms: round3(sum / received),
    rtt_max_ms: round3(sorted[sorted.length - 1]!),
    rtt_p95_ms: round3(percentile(sorted, 95)),
    ...(j === undefined ? {} : { jitter_ms: round3(j) }),
  };
}
