import { describe, expect, it } from 'vitest';
import { verdictFor } from '../../collector/verdict/decide.js';
import {
  candidateChunks, firstStaleSilent, needsDelete, replayVerdicts, revisionsOf, summarizeRevisions, type StoredHealth,
} from '../../collector/verdict/revise.js';
import { DEFAULT_THRESHOLDS, rulesOf, verdictsConfigSchema } from '../../collector/verdict/rules.js';
import type { Cycle, CycleProbe, PreviousHealth, Verdict } from '../../collector/verdict/types.js';

const P = 10_000;
const T0 = 1_750_000_000_000;
const LOOKBACK = 180_000;
const rules = rulesOf(verdictsConfigSchema.parse({}));
const th = DEFAULT_THRESHOLDS;
const at = (k: number) => T0 + k * P;

/** The report measured half a period before `at(k)`; `ispDown`: the gateway answers, the ISP edge and all behind it not. */
function cycle(k: number, ispDown = false): Cycle {
  const probes = (['gateway', 'isp', 'core', 'service'] as const).map((role): CycleProbe =>
    ispDown && role !== 'gateway' ? { target: role, role, ok: false, loss: 1 } : { target: role, role, ok: true, loss: 0, rtt_ms: 5, jitter_ms: 1 });
  return { ts: at(k) - 5000, interval_s: 10, probes, sessions: [], backlog: [] };
}

/** What the live evaluator wrote, period by period, seeing at each period only the reports `visible(k)` returns. */
function live(visible: (k: number) => Cycle[], to: number): Map<number, StoredHealth> {
  const out = new Map<number, StoredHealth>();
  let prev: PreviousHealth | undefined;
  for (let k = 0; k <= to; k++) {
    const cycles = visible(k).filter((c) => c.ts <= at(k) && c.ts > at(k) - LOOKBACK);
    const seen = visible(k).filter((c) => c.ts <= at(k));
    const newest = seen[seen.length - 1];
    const v = verdictFor({ station: 's', at: at(k), cycles, ...(newest ? { last_seen: newest.ts, last_interval_s: 10 } : {}), ...(prev ? { prev } : {}) }, th, rules);
    out.set(at(k), stored(at(k), v));
    prev = { ts: at(k), state: v.state, cause: v.cause, since: v.since };
  }
  return out;
}

const stored = (ts: number, v: Verdict): StoredHealth => ({
  ts, state: v.state, cause: v.cause, since: v.since, outage_start: v.outage_start, ...(v.last_seen !== undefined ? { last_seen: v.last_seen } : {}),
});

// Periods 0–4 good; 5–14 the ISP edge is down, so the agent measures but cannot reach the broker; 15 on it is back and
// sends its live reports at once, and the backlog of 5–14 arrives only after period 16 was judged.
const ALL = Array.from({ length: 18 }, (_, k) => cycle(k, k >= 5 && k <= 14));
const cutOff = (k: number) => ALL.filter((c, i) => (i < 5 || i > 14) && c.ts <= at(k));
const BEFORE = live(cutOff, 16);
const TRUTH = live((k) => ALL.filter((c) => c.ts <= at(k)), 16);

function replay(from: number, to: number, cycles = ALL) {
  const periods = Array.from({ length: to - from + 1 }, (_, i) => at(from + i));
  const p = BEFORE.get(at(from - 1))!;
  return replayVerdicts(
    { station: 's', periods, lookbackMs: LOOKBACK, cycles: cycles.filter((c) => c.ts > at(from) - LOOKBACK && c.ts <= at(to)), statuses: [], prev: { ts: p.ts, state: p.state, cause: p.cause, since: p.since } },
    th,
    rules,
  );
}

describe('which periods to revise', () => {
  it('the live evaluator called the ISP outage silent', () => {
    expect([...BEFORE.values()].map((h) => `${h.state}/${h.cause}`)).toEqual([
      ...Array(7).fill('ok/none'), ...Array(8).fill('offline/silent'), 'ok/none', 'ok/none',
    ]);
  });

  it.each<[string, Array<{ ts: number; last_seen?: number }>, number[], number | undefined]>([
    ['a backfilled report inside the silence', [{ ts: at(7), last_seen: at(4) - 5000 }, { ts: at(8), last_seen: at(4) - 5000 }], [at(4) - 5000, at(5) - 5000], at(7)],
    ['the first point the report precedes', [{ ts: at(7), last_seen: at(4) - 5000 }, { ts: at(8), last_seen: at(4) - 5000 }], [at(8) - 5000], at(8)],
    ['a power cut: no report until the station is back', [{ ts: at(7), last_seen: at(4) - 5000 }, { ts: at(8), last_seen: at(4) - 5000 }], [at(4) - 5000, at(9) - 5000], undefined],
    ['reports the point already knew', [{ ts: at(7), last_seen: at(4) - 5000 }], [at(3) - 5000, at(4) - 5000], undefined],
    ['a station never heard from, then backfilled', [{ ts: at(7) }], [at(2)], at(7)],
  ])('finds the oldest silent point a stored report contradicts: %s', (_, silent, reports, expected) => {
    expect(firstStaleSilent(silent, reports)).toBe(expected);
  });

  it('looks closer only at chunks with late reports and silence in them or just after', () => {
    const H = 3_600_000;
    expect(candidateChunks(new Set([0, H, 3 * H, 6 * H]), new Set([H, 2 * H, 5 * H]), H)).toEqual([0, H]);
    expect(candidateChunks(new Set([0]), new Set(), H)).toEqual([]);
  });
});

describe('what they become', () => {
  it('replays each period from the reports measured up to its end, exactly as if they had arrived in time', () => {
    const replayed = replay(5, 16);
    expect(replayed.map((r) => stored(r.at, r.verdict))).toEqual([...TRUTH.values()].slice(5));
  });

  it('the silent span becomes down/uplink, one outage from the first failed report, and the recovery follows on', () => {
    const revisions = revisionsOf(replay(5, 16), BEFORE);
    const byK = new Map(revisions.map((r) => [(r.at - T0) / P, r.verdict]));
    for (let k = 7; k <= 15; k++) expect(byK.get(k), `period ${k}`).toMatchObject({ state: 'down', cause: 'uplink', since: cycle(5).ts });
    expect(revisions.filter((r) => r.verdict.outage_start).map((r) => r.at)).toEqual([at(7)]);
    // Back: ok from the first good report, not from when the evaluator first heard again.
    expect(byK.get(16)).toMatchObject({ state: 'ok', since: cycle(15).ts, outage_start: false });
    expect(BEFORE.get(at(16))).toMatchObject({ state: 'ok', since: at(14) });
    expect(summarizeRevisions(revisions)).toEqual({
      from: at(5), to: at(16), points: 12, changes: { 'offline/silent → down/uplink': 8, 'ok/none → down/uplink': 1 },
    });
  });

  it('a power cut (no reports for the span, none backfilled) stays offline/silent: nothing to revise', () => {
    const powerCut = ALL.filter((_, i) => i < 5 || i > 14);
    expect(revisionsOf(replay(5, 16, powerCut), BEFORE)).toEqual([]);
  });

  it('replaying again after the revision changes nothing (idempotent)', () => {
    const after = new Map(BEFORE);
    for (const r of revisionsOf(replay(5, 16), BEFORE)) after.set(r.at, stored(r.at, r.verdict));
    expect(revisionsOf(replay(5, 16), after)).toEqual([]);
  });

  it('a capped revision continued later reaches the same points', () => {
    const first = replay(5, 10);
    const after = new Map(BEFORE);
    for (const r of revisionsOf(first, BEFORE)) after.set(r.at, stored(r.at, r.verdict));
    const p = after.get(at(10))!;
    const rest = replayVerdicts(
      { station: 's', periods: Array.from({ length: 6 }, (_, i) => at(11 + i)), lookbackMs: LOOKBACK, cycles: ALL.filter((c) => c.ts > at(11) - LOOKBACK && c.ts <= at(16)), statuses: [], prev: { ts: p.ts, state: p.state, cause: p.cause, since: p.since } },
      th,
      rules,
    );
    expect([...first, ...rest].map((r) => stored(r.at, r.verdict))).toEqual([...TRUTH.values()].slice(5));
  });

  it('the last will still counts for periods after it and before the next report', () => {
    const replayed = replayVerdicts(
      { station: 's', periods: [at(5), at(6)], lookbackMs: LOOKBACK, cycles: ALL.slice(0, 6), statuses: [{ state: 'offline', ts: at(5) + 1000 }] },
      th,
      rules,
    );
    expect(replayed.map((r) => `${r.verdict.state}/${r.verdict.cause}`)).toEqual(['ok/none', 'offline/silent']);
  });

  it.each<[string, Partial<StoredHealth>, Partial<Verdict>, boolean]>([
    ['an outage start that moves away must be deleted (fields merge on overwrite)', { outage_start: true }, { outage_start: false }, true],
    ['an outage start kept is overwritten', { outage_start: true }, { outage_start: true }, false],
    ['a point going into maintenance loses its avail', { state: 'offline' }, { state: 'maintenance' }, true],
    ['silent to down is a plain overwrite', { state: 'offline' }, { state: 'down' }, false],
  ])('%s', (_, old, v, expected) => {
    const base: StoredHealth = { ts: at(7), state: 'offline', cause: 'silent', since: 0, outage_start: false };
    const verdict: Verdict = { station: 's', state: 'down', cause: 'uplink', since: 0, outage_start: false, ...v };
    expect(needsDelete({ at: at(7), old: { ...base, ...old }, verdict })).toBe(expected);
  });
});
