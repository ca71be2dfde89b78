/**
 * Revising the past: a station cut off by its own LAN, ISP or VPN cannot reach the broker, so it is judged `offline`
 * / `silent` in real time; its agent keeps measuring into the outbox and backfills the reports once it is back. These
 * pure functions find the health points such late reports contradict and replay the verdicts of those periods with
 * the same `verdictFor`, period by period, from only the reports measured up to each period's end. Pure: no I/O.
 */
import { verdictFor } from './decide.js';
import type { Rules, Thresholds } from './rules.js';
import type { Cause, Cycle, PreviousHealth, State, Verdict } from './types.js';

/** A `health` point as stored, as much of it as a revision compares. */
export interface StoredHealth {
  ts: number;
  state: State;
  cause: Cause;
  since: number;
  last_seen?: number;
  outage_start: boolean;
}

/** First index in ascending `xs` whose value is greater than `v`. */
function firstAbove(xs: readonly number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! > v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The oldest silent point that a report now stored contradicts: one measured after the point's `last_seen` and at or
 * before its time, so it was not there when the point was written. `silent` and `reportTimes` oldest first. A power
 * cut leaves no such report (the agent was not measuring), so its silent points are never stale.
 */
export function firstStaleSilent(silent: ReadonlyArray<{ ts: number; last_seen?: number }>, reportTimes: readonly number[]): number | undefined {
  for (const p of silent) {
    const i = firstAbove(reportTimes, p.last_seen ?? -Infinity);
    if (i < reportTimes.length && reportTimes[i]! <= p.ts) return p.ts;
  }
  return undefined;
}

/**
 * Where to look closer, from per-chunk counts: chunks (start times) holding late reports whose own chunk or the next
 * holds silent points (a late report near a chunk's end can contradict silence just after it). Oldest first.
 */
export function candidateChunks(late: ReadonlySet<number>, silent: ReadonlySet<number>, chunkMs: number): number[] {
  return [...late].filter((c) => silent.has(c) || silent.has(c + chunkMs)).sort((a, b) => a - b);
}

/** Everything known now of one station over the periods to replay. */
export interface ReplayInput {
  station: string;
  /** Aligned times of the health points to replay, oldest first. */
  periods: readonly number[];
  /** The evaluator's report look-back: the verdict at `T` sees the reports of `(T − lookback, T]`. */
  lookbackMs: number;
  /** Reports of `(periods[0] − lookback, last period]`, oldest first. */
  cycles: readonly Cycle[];
  /** The newest report measured before `cycles` (silence is measured from it when no newer one exists). */
  before?: { ts: number; interval_s: number };
  /** Status messages (last will), oldest first, from the newest one at or before `periods[0]`. */
  statuses: ReadonlyArray<{ state: 'online' | 'offline'; ts: number }>;
  /** The maintenance window open at `at`, if any. */
  maintenance?: (at: number) => { start: number } | undefined;
  /** The health point before `periods[0]`: the seed of the hysteresis, as the live evaluation would read it. */
  prev?: PreviousHealth;
}

/**
 * The verdicts of `periods` as the live evaluator would have written them had every report now stored been there:
 * each period sees only the reports measured up to its end and is seeded by the verdict of the period before, so
 * `since` and `outage_start` run on across the replayed span exactly as they do live.
 */
export function replayVerdicts(input: ReplayInput, th: Thresholds, rules: Rules): Array<{ at: number; verdict: Verdict }> {
  const out: Array<{ at: number; verdict: Verdict }> = [];
  const { cycles, statuses } = input;
  let prev = input.prev;
  let lo = 0;
  let hi = 0;
  let st = -1;
  for (const at of input.periods) {
    while (hi < cycles.length && cycles[hi]!.ts <= at) hi++;
    while (lo < hi && cycles[lo]!.ts <= at - input.lookbackMs) lo++;
    while (st + 1 < statuses.length && statuses[st + 1]!.ts <= at) st++;
    const newest = hi > 0 ? cycles[hi - 1]! : undefined;
    const last = newest ? { ts: newest.ts, interval_s: newest.interval_s } : input.before;
    const window = input.maintenance?.(at);
    const verdict = verdictFor(
      {
        station: input.station,
        at,
        cycles: cycles.slice(lo, hi),
        ...(last ? { last_seen: last.ts, last_interval_s: last.interval_s } : {}),
        ...(st >= 0 ? { status: statuses[st]! } : {}),
        ...(window ? { maintenance: window } : {}),
        ...(prev ? { prev } : {}),
      },
      th,
      rules,
    );
    out.push({ at, verdict });
    prev = { ts: at, state: verdict.state, cause: verdict.cause, since: verdict.since };
  }
  return out;
}

/** A health point whose replayed verdict differs from the stored one. */
export interface Revision {
  at: number;
  old: StoredHealth;
  verdict: Verdict;
}

/** The replayed verdicts that differ from the stored points (state, cause, since, outage start or last seen). */
export function revisionsOf(replayed: ReadonlyArray<{ at: number; verdict: Verdict }>, stored: ReadonlyMap<number, StoredHealth>): Revision[] {
  const out: Revision[] = [];
  for (const { at, verdict: v } of replayed) {
    const old = stored.get(at);
    if (!old) continue;
    if (old.state !== v.state || old.cause !== v.cause || old.since !== v.since || old.outage_start !== v.outage_start || old.last_seen !== v.last_seen) {
      out.push({ at, old, verdict: v });
    }
  }
  return out;
}

/**
 * One log line's worth of a station's revision: its span, the points rewritten, and how many went from which
 * state/cause to which (points whose state and cause held but whose `since`, outage start or last seen moved are
 * counted in `points` only).
 */
export function summarizeRevisions(revisions: readonly Revision[]): { from: number; to: number; points: number; changes: Record<string, number> } {
  const changes: Record<string, number> = {};
  for (const r of revisions) {
    const before = `${r.old.state}/${r.old.cause}`;
    const after = `${r.verdict.state}/${r.verdict.cause}`;
    if (before !== after) changes[`${before} → ${after}`] = (changes[`${before} → ${after}`] ?? 0) + 1;
  }
  return { from: revisions[0]?.at ?? 0, to: revisions[revisions.length - 1]?.at ?? 0, points: revisions.length, changes };
}

/**
 * Points an overwrite alone cannot fix: InfluxDB merges the fields of a point written again at the same time, so a
 * field the new verdict lacks (`outage_start`, or `avail` going into maintenance) would survive. These are deleted
 * before being written again.
 */
export function needsDelete(r: Revision): boolean {
  return (r.old.outage_start && !r.verdict.outage_start) || (r.old.state !== 'maintenance' && r.verdict.state === 'maintenance');
}
