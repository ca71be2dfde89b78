/**
 * The evaluator's state between periods (collector/evaluation/state.ts) and the revision planner
 * (collector/verdict/revise-plan.ts): pure, on plain data. The state must hold what one full look-back read would.
 */
import { describe, expect, it } from 'vitest';
import { EvaluationState } from '../../collector/evaluation/state.js';
import type { Seed } from '../../collector/evaluation/store.js';
import { chunksToCheck, planSpans, stationsToCheck } from '../../collector/verdict/revise-plan.js';
import type { Cycle } from '../../collector/verdict/types.js';

const P = 10_000;
const LOOKBACK = 180_000;
const T0 = 1_780_000_000_000;
const cycle = (ts: number, loss = 0): Cycle => ({ ts, interval_s: 10, probes: [{ target: 'isp', role: 'isp', ok: loss < 1, loss }], sessions: [], backlog: [] });
const emptySeed = (): Seed => ({ cycles: new Map(), lastSeen: new Map(), status: new Map(), prevHealth: new Map(), prevIncidents: [], late: [] });

/** What a full read of `(at − lookback, at]` returns from every report stored. */
function fullRead(stored: ReadonlyMap<string, Cycle[]>, at: number): Map<string, Cycle[]> {
  const out = new Map<string, Cycle[]>();
  for (const [s, cs] of stored) {
    const window = cs.filter((c) => c.ts > at - LOOKBACK && c.ts <= at).sort((a, b) => a.ts - b.ts);
    if (window.length > 0) out.set(s, window);
  }
  return out;
}

describe('EvaluationState', () => {
  it('holds after many incremental reads what one full look-back read returns', () => {
    const stored = new Map<string, Cycle[]>([['a', []], ['b', []]]);
    const state = EvaluationState.fromSeed(T0, emptySeed());
    for (let k = 1; k <= 40; k++) {
      const at = T0 + k * P;
      // Station a reports each period; b skips every fourth.
      stored.get('a')!.push(cycle(at - 5000, k % 7 === 0 ? 1 : 0));
      if (k % 4 !== 0) stored.get('b')!.push(cycle(at - 3000));
      state.merge(fullReadOf(stored, at - 2 * P, at));
      state.trim(at - LOOKBACK);
      state.at = at;
      expect(state.cycles).toEqual(fullRead(stored, at));
    }
    expect(state.lastSeen.get('b')).toEqual({ ts: T0 + 39 * P - 3000, interval_s: 10 });
  });

  it('names the stations whose late reports it does not hold, and a re-read fills them in', () => {
    const state = EvaluationState.fromSeed(T0, { ...emptySeed(), cycles: new Map([['a', [cycle(T0 - 20_000), cycle(T0)]]]) });
    const late = [
      { station: 'a', ts: T0, delay_ms: 2500, depth: 0 },
      { station: 'a', ts: T0 - 10_000, delay_ms: 14_000, depth: 3 },
      { station: 'c', ts: T0 - 30_000, delay_ms: 30_000, depth: 2 },
    ];
    expect(state.missing(late)).toEqual(['a', 'c']);
    state.replace('a', T0 - LOOKBACK, [cycle(T0 - 20_000), cycle(T0 - 10_000), cycle(T0)]);
    state.replace('c', T0 - LOOKBACK, [cycle(T0 - 30_000)]);
    expect(state.missing(late)).toEqual([]);
    expect(state.cycles.get('a')!.map((c) => c.ts)).toEqual([T0 - 20_000, T0 - 10_000, T0]);
  });

  it('keeps the newest status and replaces a cycle read again', () => {
    const state = EvaluationState.fromSeed(T0, { ...emptySeed(), status: new Map([['a', { state: 'online', ts: T0 - 50_000 }]]) });
    state.noteStatus('a', { state: 'offline', ts: T0 - 1000 });
    state.noteStatus('a', { state: 'online', ts: T0 - 60_000 });
    expect(state.status.get('a')).toEqual({ state: 'offline', ts: T0 - 1000 });
    state.merge(new Map([['a', [cycle(T0 - 5000)]]]));
    state.merge(new Map([['a', [cycle(T0 - 5000, 1)]]]));
    expect(state.cycles.get('a')).toEqual([cycle(T0 - 5000, 1)]);
  });

  it('seeds the next evaluation with this one: its verdicts, and only the incidents still open', () => {
    const state = EvaluationState.fromSeed(T0, emptySeed());
    const open = { scope: 'district' as const, key: 'Chợ Mới', cause: 'uplink' as const, stations: 6, open: true, since: T0 - 30_000, members: ['x'] };
    state.remember(T0, [{ station: 'x', state: 'down', cause: 'uplink', since: T0 - 30_000, outage_start: false }], [open]);
    expect(state.prevHealth.get('x')).toEqual({ ts: T0, state: 'down', cause: 'uplink', since: T0 - 30_000 });
    expect(state.previousIncidents()).toEqual([{ ...open, members: [] }]);
    state.remember(T0 + P, [], [{ ...open, open: false, stations: 0, members: [] }]);
    expect(state.previousIncidents()).toEqual([]);
  });
});

function fullReadOf(stored: ReadonlyMap<string, Cycle[]>, from: number, to: number): Map<string, Cycle[]> {
  const out = new Map<string, Cycle[]>();
  for (const [s, cs] of stored) {
    const w = cs.filter((c) => c.ts > from && c.ts <= to);
    if (w.length > 0) out.set(s, w);
  }
  return out;
}

describe('revision planner', () => {
  const H = 3_600_000;
  it('checks the stations backfilling or reporting late, and the unfinished ones, that are registered', () => {
    const recent = [
      { station: 'a', delay_ms: 100, depth: 0 },
      { station: 'b', delay_ms: 40_000, depth: 1 },
      { station: 'c', delay_ms: 50, depth: 12 },
      { station: 'gone', delay_ms: 40_000, depth: 9 },
    ];
    expect(stationsToCheck(recent, 2000, ['d'], (s) => s !== 'gone')).toEqual(['b', 'c', 'd']);
  });

  it('reads closer only the chunks with late reports beside silent points, unless found clean with the same counts', () => {
    const late = new Map([['a', new Map([[0, 5], [2 * H, 1]])], ['b', new Map([[H, 3]])]]);
    const silent = new Map([['a', new Map([[H, 360], [2 * H, 10]])], ['b', new Map([[5 * H, 1]])]]);
    const clean = new Map([['a@0', { signature: '5/0/360' }]]);
    expect(chunksToCheck(late, silent, clean, () => true, H)).toEqual([{ station: 'a', chunks: [{ start: 2 * H, key: `a@${2 * H}`, signature: '1/10/0' }] }]);
    expect(chunksToCheck(late, silent, new Map(), () => true, H)[0]!.chunks.map((c) => c.start)).toEqual([0, 2 * H]);
  });

  it('shares the budget oldest first and says where a cut-short revision resumes', () => {
    const last = T0 + 100 * P;
    const starts = new Map([['b', T0 + 50 * P], ['a', T0 + 90 * P]]);
    const resume = new Map([['c', T0 + 95 * P], ['d', T0]]);
    expect(planSpans(starts, resume, ['a', 'b', 'c'], last, P, 60)).toEqual([
      { station: 'b', start: T0 + 50 * P, end: last },
      { station: 'a', start: T0 + 90 * P, end: T0 + 98 * P, resumeAt: T0 + 99 * P },
    ]);
    expect(planSpans(starts, resume, undefined, last, P, 1000).map((s) => s.station)).toEqual(['d', 'b', 'a', 'c']);
  });
});
