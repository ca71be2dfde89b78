import { describe, expect, it } from 'vitest';
import { classifyCycle } from '../../collector/verdict/classify.js';
import { evolve, initialHysteresis, verdictFor, type StationInput } from '../../collector/verdict/decide.js';
import { DEFAULT_THRESHOLDS, rulesOf, thresholdsFor, verdictsConfigSchema } from '../../collector/verdict/rules.js';
import type { Cycle, CycleProbe, PreviousHealth, Verdict } from '../../collector/verdict/types.js';
import type { Role } from '../../protocol/report.js';

const P = 10_000;
const T0 = 1_750_000_000_000;
const rules = rulesOf(verdictsConfigSchema.parse({}));
const th = DEFAULT_THRESHOLDS;

type PathSpec = Partial<Record<Role, boolean | Partial<CycleProbe>>>;

/** One report at cycle k: every role answers unless the spec says otherwise. */
function cycle(k: number, path: PathSpec = {}, extra: Partial<Cycle> = {}): Cycle {
  const probes = (['gateway', 'isp', 'core', 'service'] as const).map((role): CycleProbe => {
    const spec = path[role];
    const base: CycleProbe = { target: role, role, ok: true, loss: 0, rtt_ms: 5, jitter_ms: 1 };
    if (spec === false) return { target: role, role, ok: false, loss: 1 };
    return typeof spec === 'object' ? { ...base, ...spec } : base;
  });
  return { ts: T0 + k * P - 5000, interval_s: 10, probes, sessions: [], backlog: [], ...extra };
}

const good = (k: number) => cycle(k);
const gatewayDown = (k: number) => cycle(k, { gateway: false, isp: false, core: false, service: false });

describe('classifyCycle: one report on its own', () => {
  it.each<[string, Cycle, { level: number; cause: string }]>([
    ['every role answers', good(0), { level: 0, cause: 'none' }],
    ['gateway unreachable (and all behind it)', gatewayDown(0), { level: 2, cause: 'lan' }],
    ['gateway fine, ISP edge not', cycle(0, { isp: false, core: false, service: false }), { level: 2, cause: 'uplink' }],
    ['ISP fine, VPN hub not', cycle(0, { core: false, service: false }), { level: 2, cause: 'core' }],
    ['path fine, national service failing', cycle(0, { service: false }), { level: 2, cause: 'service' }],
    ['the first failing role names the fault', cycle(0, { isp: false, service: false }), { level: 2, cause: 'uplink' }],
    ['loss at loss_down counts as failed', cycle(0, { isp: { ok: true, loss: 0.5 } }), { level: 2, cause: 'uplink' }],
    ['loss above threshold degrades', cycle(0, { isp: { loss: 0.2 } }), { level: 1, cause: 'uplink' }],
    ['latency above threshold degrades', cycle(0, { core: { rtt_ms: 800 } }), { level: 1, cause: 'core' }],
    ['jitter above threshold degrades', cycle(0, { service: { jitter_ms: 250 } }), { level: 1, cause: 'service' }],
    ['a session dropping', cycle(0, {}, { sessions: [{ name: 'dancu-tls', up: true, drops: 2 }] }), { level: 1, cause: 'session' }],
    ['a session down', cycle(0, {}, { sessions: [{ name: 'dancu-tls', up: false, drops: 0 }] }), { level: 1, cause: 'session' }],
    ['a stalled backlog', cycle(0, {}, { backlog: [{ source: 'outbox-dir', pending: 40, oldest_age_s: 1200 }] }), { level: 1, cause: 'backlog' }],
    ['a young backlog', cycle(0, {}, { backlog: [{ source: 'outbox-dir', pending: 40, oldest_age_s: 60 }] }), { level: 0, cause: 'none' }],
    ['a clock off by 6 s', cycle(0, {}, { clock_offset_ms: -6000 }), { level: 1, cause: 'clock' }],
    ['a clock off by 1 s', cycle(0, {}, { clock_offset_ms: 1000 }), { level: 0, cause: 'none' }],
    ['a path fault outranks sessions', cycle(0, { service: false }, { sessions: [{ name: 's', up: false, drops: 1 }] }), { level: 2, cause: 'service' }],
  ])('%s', (_, c, expected) => {
    expect(classifyCycle([c], 0, th)).toEqual(expected);
  });

  it.each<[string, number[], number]>([
    ['rising six reports in a row', [1, 2, 3, 4, 5, 6, 7], 1],
    ['rising five reports only', [1, 1, 3, 4, 5, 6, 7], 0],
    ['steady', [5, 5, 5, 5, 5, 5, 5], 0],
  ])('backlog growth: %s', (_, pending, level) => {
    const cycles = pending.map((n, k) => cycle(k, {}, { backlog: [{ source: 'q', pending: n, oldest_age_s: 10 }] }));
    expect(classifyCycle(cycles, cycles.length - 1, th).level).toBe(level);
  });
});

const at = (k: number) => T0 + k * P;

function run(cycles: Cycle[], k: number, extra: Partial<StationInput> = {}): Verdict {
  return verdictFor({ station: 's1', at: at(k), cycles: cycles.filter((c) => c.ts <= at(k)), ...extra }, th, rules);
}

/** Evaluates every period in turn, each seeded from the previous verdict only (as the evaluator does). */
function timeline(cycles: Cycle[], from: number, to: number, extra: Partial<StationInput> = {}): Verdict[] {
  const out: Verdict[] = [];
  let prev: PreviousHealth | undefined;
  for (let k = from; k <= to; k++) {
    const v = run(cycles, k, { ...extra, ...(prev ? { prev } : {}) });
    out.push(v);
    prev = { ts: at(k), state: v.state, cause: v.cause, since: v.since };
  }
  return out;
}

describe('verdictFor: hysteresis, silence, last will, maintenance', () => {
  const series = (pattern: string) => [...pattern].map((ch, k) => (ch === 'x' ? gatewayDown(k) : ch === 'd' ? cycle(k, { isp: { loss: 0.2 } }) : good(k)));

  it.each<[string, string, string[]]>([
    // one letter per period: . good, x gateway down, d degraded; expected state per period
    ['down only after 3 bad cycles', '..xxx..', ['ok', 'ok', 'ok', 'ok', 'down', 'down', 'ok']],
    ['two bad cycles are not enough', '..xx...', ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']],
    ['ok only after 2 good cycles', 'xxx.x..', ['ok', 'ok', 'down', 'down', 'down', 'down', 'ok']],
    ['a flapping link is degraded, and stays so', '.x.x.x.x.x.x', ['ok', 'ok', 'ok', 'ok', 'ok', 'degraded', 'degraded', 'degraded', 'degraded', 'degraded', 'degraded', 'degraded']],
    ['a clean recovery is ok, not flapping', 'xxxx......', ['ok', 'ok', 'down', 'down', 'down', 'ok', 'ok', 'ok', 'ok', 'ok']],
    ['two outages close together are flapping', 'xxx..xx...', ['ok', 'ok', 'down', 'down', 'ok', 'degraded', 'degraded', 'degraded', 'ok', 'ok']],
    ['degraded after 3 degraded cycles', '.ddd..', ['ok', 'ok', 'ok', 'degraded', 'degraded', 'ok']],
    ['down clears to degraded when it improves partly', 'xxxdd', ['ok', 'ok', 'down', 'down', 'degraded']],
  ])('%s', (_, pattern, expected) => {
    const cycles = series(pattern);
    expect(timeline(cycles, 0, pattern.length - 1).map((v) => v.state)).toEqual(expected);
  });

  it('names the cause and the time the fault began, and marks the outage start once', () => {
    const v = timeline(series('..xxxx'), 0, 5);
    expect(v[4]).toMatchObject({ state: 'down', cause: 'lan', since: gatewayDown(2).ts, outage_start: true });
    expect(v[5]).toMatchObject({ state: 'down', cause: 'lan', since: gatewayDown(2).ts, outage_start: false });
  });

  it('reaches the same verdict replayed from scratch as stepwise (a restarted evaluator agrees)', () => {
    for (const pattern of ['..xxx..x.xx', '.x.x.x.x.x.x.x', 'xxx.x.x..ddd.']) {
      const cycles = series(pattern);
      const last = pattern.length - 1;
      const stepwise = timeline(cycles, 0, last);
      const restarted = timeline(cycles, last - 1, last);
      expect(restarted[1]!.state, pattern).toBe(stepwise[last]!.state);
    }
  });

  it.each<[string, number, string]>([
    ['2 reports missed is still online', 2, 'ok'],
    ['no report for 3 intervals is offline', 3, 'offline'],
  ])('silence: %s', (_, gap, state) => {
    const cycles = [good(0), good(1), good(2)];
    // the last report was measured at 1.5 periods; the next ones were due at 2.5, 3.5, 4.5
    const v = run(cycles, 2 + gap);
    expect(v.state).toBe(state);
    if (state === 'offline') expect(v).toMatchObject({ cause: 'silent', since: good(2).ts, last_seen: good(2).ts, outage_start: true });
  });

  it('silence counts the station\'s own interval', () => {
    const cycles = [0, 6, 12].map((k) => ({ ...good(k), interval_s: 60 }));
    expect(run(cycles, 20).state).toBe('ok');
    expect(run(cycles, 31).state).toBe('offline');
  });

  it('a station never heard from is offline', () => {
    expect(run([], 5)).toMatchObject({ state: 'offline', cause: 'silent' });
  });

  it('the offline last will makes a station offline at once', () => {
    const cycles = [good(0), good(1), good(2)];
    const v = run(cycles, 3, { status: { state: 'offline', ts: at(2) + 100 } });
    expect(v).toMatchObject({ state: 'offline', cause: 'silent', since: at(2) + 100 });
    // A report newer than the will means it came back.
    expect(run([...cycles, good(3)], 4, { status: { state: 'offline', ts: at(2) + 100 } }).state).toBe('ok');
  });

  it('a station coming back from offline is ok from the time it came back', () => {
    const cycles = [good(0), good(1), good(8), good(9)];
    const v = run(cycles, 9, { prev: { ts: at(8), state: 'offline', cause: 'silent', since: good(1).ts } });
    expect(v).toMatchObject({ state: 'ok', since: at(8), outage_start: false });
  });

  it('maintenance overrides every other state and is not an outage', () => {
    const cycles = series('xxxxx');
    const v = run(cycles, 4, { maintenance: { start: at(1) } });
    expect(v).toMatchObject({ state: 'maintenance', cause: 'maintenance', since: at(1), outage_start: false });
    expect(run([], 4, { maintenance: { start: at(1) } }).state).toBe('maintenance');
  });

  it('reports loss and the slowest answering probe of the newest report', () => {
    const v = run([cycle(0, { isp: { loss: 0.02, rtt_ms: 30 }, service: false })], 0);
    expect(v).toMatchObject({ loss: 1, rtt_ms: 30 });
  });

  it('evolve keeps the recent window bounded', () => {
    let h = initialHysteresis(0);
    for (let k = 0; k < 50; k++) h = evolve(h, { ts: k, level: 0, cause: 'none' }, rules);
    expect(h.recent.length).toBe(Math.max(rules.raise, rules.clear, rules.flap_window));
  });
});

describe('SLA classes', () => {
  const cfg = verdictsConfigSchema.parse({ classes: { default: { rtt_ms: 200 }, gold: { rtt_ms: 100, loss: 0.01 } } });
  it.each<[string, number, number]>([
    ['built-in default', 0, 300],
  ])('%s', (_, __, rtt) => {
    expect(thresholdsFor({ classes: {} }, 'default').rtt_ms).toBe(rtt);
  });
  it('a class overrides default, default overrides the built-in thresholds', () => {
    expect(thresholdsFor(cfg, 'default')).toMatchObject({ rtt_ms: 200, loss: 0.05 });
    expect(thresholdsFor(cfg, 'gold')).toMatchObject({ rtt_ms: 100, loss: 0.01, jitter_ms: 100 });
  });
  it('the same report is degraded for a gold station and ok for a default one', () => {
    const c = cycle(0, { core: { rtt_ms: 150 } });
    expect(classifyCycle([c], 0, thresholdsFor(cfg, 'gold')).level).toBe(1);
    expect(classifyCycle([c], 0, thresholdsFor(cfg, 'default')).level).toBe(0);
  });
  it('hysteresis is configurable', () => {
    const fast = rulesOf(verdictsConfigSchema.parse({ raise: 1, clear: 1 }));
    const v = verdictFor({ station: 's', at: at(0), cycles: [gatewayDown(0)] }, th, fast);
    expect(v.state).toBe('down');
  });
});
