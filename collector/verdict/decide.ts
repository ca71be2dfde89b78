/**
 * Verdicts as a Decider: `evolve(hysteresis, observation)` folds one classified cycle into the anti-flap state,
 * `decide(hysteresis, context)` turns it into the verdict at an evaluation time (silence, last will, maintenance).
 * `verdictFor` replays both from data only — the last health point any evaluator wrote and the recent reports — so a
 * restarted or a second evaluator reaches the same verdict. Pure: no I/O, no clock.
 */
import { classifyCycle } from './classify.js';
import type { Rules, Thresholds } from './rules.js';
import {
  LEVEL_STATE, STATE_CODE, isFailing, type Cause, type Condition, type Cycle, type Level, type PreviousHealth, type Verdict,
} from './types.js';

/** A classified cycle. */
export interface Observation extends Condition {
  ts: number;
}

/** The anti-flap state of one station. */
export interface Hysteresis {
  level: Level;
  cause: Cause;
  since: number;
  /** The newest observations, as many as the rules look at. */
  recent: readonly Observation[];
}

export const initialHysteresis = (since: number): Hysteresis => ({ level: 0, cause: 'none', since, recent: [] });

const windowOf = (r: Rules) => Math.max(r.raise, r.clear, r.flap_window);

/** Start of the trailing run of observations satisfying `pred` (the newest one's time if only it does). */
function runStart(obs: readonly Observation[], pred: (o: Observation) => boolean): number {
  let start = obs[obs.length - 1]!.ts;
  for (let i = obs.length - 1; i >= 0 && pred(obs[i]!); i--) start = obs[i]!.ts;
  return start;
}

/**
 * Folds one observation in. Raise: the lowest level of the last `raise` cycles, if above the current level.
 * Clear: the worst level of the last `clear` cycles, if below it. Flapping: an ok station bad in at least
 * `flap_ratio` of the last `flap_window` cycles, in two separate runs or more, becomes degraded, and stays so until
 * `clear` good cycles in a row.
 */
export function evolve(h: Hysteresis, o: Observation, rules: Rules): Hysteresis {
  const recent = [...h.recent, o].slice(-windowOf(rules));
  const last = (n: number) => recent.slice(-n);
  const sustained = recent.length >= rules.raise ? (Math.min(...last(rules.raise).map((x) => x.level)) as Level) : 0;
  const worst = recent.length >= rules.clear ? (Math.max(...last(rules.clear).map((x) => x.level)) as Level) : h.level;
  if (sustained > h.level) {
    return { level: sustained, cause: o.cause, since: runStart(recent, (x) => x.level >= sustained), recent };
  }
  if (worst < h.level) {
    const cause = worst === 0 ? 'none' : [...last(rules.clear)].reverse().find((x) => x.level === worst)!.cause;
    return { level: worst, cause, since: runStart(recent, (x) => x.level <= worst), recent };
  }
  if (h.level === 0 && recent.length >= rules.flap_window) {
    const window = last(rules.flap_window);
    const bad = window.filter((x) => x.level > 0);
    // Flapping means coming and going: the bad cycles must fall in two runs or more. One run is an outage that was
    // raised and cleared on its own; without this, every clean recovery read as flapping for a few cycles.
    const badRuns = window.filter((x, i) => x.level > 0 && (i === 0 || window[i - 1]!.level === 0)).length;
    if (badRuns >= 2 && bad.length / rules.flap_window >= rules.flap_ratio) {
      return { level: 1, cause: bad[bad.length - 1]!.cause, since: bad[0]!.ts, recent };
    }
  }
  if (h.level > 0 && o.level >= h.level && o.cause !== h.cause) return { level: h.level, cause: o.cause, since: o.ts, recent };
  return { ...h, recent };
}

/** What besides the reports a verdict depends on, at evaluation time `at`. */
export interface DecideContext {
  station: string;
  at: number;
  rules: Rules;
  /** Newest report ever seen (it may be older than the cycles read) and its interval. */
  last_seen?: number;
  last_interval_s?: number;
  /** Newest retained status / last will. */
  status?: { state: 'online' | 'offline'; ts: number };
  /** The maintenance window open at `at`, if any. */
  maintenance?: { start: number };
  prev?: PreviousHealth;
  /** The newest cycle, for loss and latency. */
  newest?: Cycle;
}

const DEFAULT_INTERVAL_S = 10;

/** The verdict at `at` from the hysteresis state and what is known of silence, last will and maintenance. */
export function decide(h: Hysteresis, ctx: DecideContext): Verdict {
  const { prev, at } = ctx;
  const base = { station: ctx.station, ...(ctx.last_seen !== undefined ? { last_seen: ctx.last_seen } : {}) };
  const keepSince = (state: Verdict['state'], cause: Cause, since: number) =>
    prev && prev.state === state && prev.cause === cause ? prev.since : since;

  if (ctx.maintenance) {
    return { ...base, state: 'maintenance', cause: 'maintenance', since: keepSince('maintenance', 'maintenance', ctx.maintenance.start), outage_start: false };
  }
  const intervalMs = (ctx.last_interval_s ?? DEFAULT_INTERVAL_S) * 1000;
  const willSaysOffline = ctx.status?.state === 'offline' && (ctx.last_seen === undefined || ctx.status.ts >= ctx.last_seen);
  const silent = ctx.last_seen === undefined || at - ctx.last_seen > ctx.rules.silence_intervals * intervalMs;
  if (willSaysOffline || silent) {
    const began = willSaysOffline ? ctx.status!.ts : (ctx.last_seen ?? at);
    return { ...base, state: 'offline', cause: 'silent', since: keepSince('offline', 'silent', began), outage_start: !(prev && isFailing(prev.state)) };
  }
  const state = LEVEL_STATE[h.level];
  let since = keepSince(state, h.cause, h.since);
  // Back from offline or maintenance: the state began after the last point that said otherwise.
  if (prev && (prev.state === 'offline' || prev.state === 'maintenance') && prev.state !== state) since = Math.max(since, prev.ts);
  const v: Verdict = { ...base, state, cause: h.cause, since, outage_start: isFailing(state) && !(prev && isFailing(prev.state)) };
  if (ctx.newest && ctx.newest.probes.length > 0) {
    v.loss = Math.max(...ctx.newest.probes.map((p) => p.loss));
    const rtts = ctx.newest.probes.filter((p) => p.ok && p.rtt_ms !== undefined).map((p) => p.rtt_ms!);
    if (rtts.length > 0) v.rtt_ms = Math.max(...rtts);
  }
  return v;
}

/** Everything known of one station at evaluation time `at`. */
export interface StationInput extends Omit<DecideContext, 'rules' | 'newest'> {
  /** Reports with `ts <= at` in the look-back window, oldest first. */
  cycles: readonly Cycle[];
}

/**
 * The verdict on one station, replayed from data: the hysteresis is seeded from the previous health point (its state,
 * and the cycles it had seen) and evolved by the cycles newer than it. Without a usable previous point (first run,
 * or the station was offline or in maintenance) it is replayed over the whole look-back window from `ok`.
 */
export function verdictFor(input: StationInput, th: Thresholds, rules: Rules): Verdict {
  const observations: Observation[] = input.cycles.map((c, i) => ({ ts: c.ts, ...classifyCycle(input.cycles, i, th) }));
  const prev = input.prev;
  let h: Hysteresis;
  let fresh: Observation[];
  if (prev && (prev.state === 'ok' || prev.state === 'degraded' || prev.state === 'down')) {
    const seen = observations.filter((o) => o.ts <= prev.ts);
    h = { level: STATE_CODE[prev.state] as Level, cause: prev.cause, since: prev.since, recent: seen.slice(-windowOf(rules)) };
    fresh = observations.filter((o) => o.ts > prev.ts);
  } else {
    h = initialHysteresis(observations[0]?.ts ?? input.at);
    fresh = observations;
  }
  for (const o of fresh) h = evolve(h, o, rules);
  const newest = input.cycles[input.cycles.length - 1];
  const ctx: DecideContext = { ...input, rules };
  if (newest) {
    ctx.newest = newest;
    if (input.last_seen === undefined || newest.ts >= input.last_seen) {
      ctx.last_seen = newest.ts;
      ctx.last_interval_s = newest.interval_s;
    }
  }
  return decide(h, ctx);
}
