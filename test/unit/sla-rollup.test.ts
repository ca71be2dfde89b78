import { describe, expect, it } from 'vitest';
import { combineRollups, joinSegments, percentile, rollupHour, slaClassOf, type HealthSample } from '../../collector/sla/rollup.js';
import type { Cause, State } from '../../collector/verdict/types.js';

const H = Date.UTC(2026, 10, 30, 3); // an hour start
const P = 10_000;
/** Health points of one hour: `spec(k)` gives the verdict of the period ending at H + k·P (k = 1..360). */
function hour(spec: (k: number) => [State, Cause] | undefined, from = 1): HealthSample[] {
  const out: HealthSample[] = [];
  for (let k = from; k <= 360; k++) {
    const v = spec(k);
    if (v) out.push({ ts: H + k * P, state: v[0], cause: v[1] });
  }
  return out;
}
const ok: [State, Cause] = ['ok', 'none'];

describe('what a verdict counts as in the SLA', () => {
  it.each([
    ['ok', 'none', false, 'available'],
    ['degraded', 'uplink', false, 'available'],
    ['degraded', 'clock', false, 'available'],
    ['maintenance', 'maintenance', false, 'maintenance'],
    ['down', 'uplink', false, 'downtime'],
    ['down', 'core', true, 'downtime'],
    ['down', 'core', false, 'other'],
    ['down', 'lan', false, 'station_side'],
    ['offline', 'silent', false, 'station_side'],
    ['down', 'clock', false, 'station_side'],
    ['down', 'service', false, 'other'],
    ['down', 'session', false, 'other'],
    ['down', 'backlog', false, 'other'],
  ] as const)('%s/%s (VPN in the circuit: %s) is %s', (state, cause, vpn, expected) => {
    expect(slaClassOf(state, cause, vpn)).toBe(expected);
  });
});

describe('an hour of one station', () => {
  it('counts each period by its verdict and the missing periods as unknown', () => {
    const health = hour((k) => (k <= 100 ? ok : k <= 160 ? ['down', 'uplink'] : k <= 200 ? ['down', 'lan'] : k <= 260 ? ['maintenance', 'maintenance'] : k <= 300 ? ['down', 'service'] : undefined));
    const { rollup, segments } = rollupHour({ start: H, periodMs: P, health, probes: [], sla_target: 99.5, vpnIsIsp: false });
    expect(rollup).toEqual({
      period_s: 3600, available_s: 1000, downtime_s: 600, station_side_s: 400, maintenance_s: 600, other_s: 400, unknown_s: 600, outages: 1, sla_target: 99.5,
    });
    expect(segments).toEqual([{ start: H + 100 * P, end: H + 160 * P, cause: 'uplink', continued: false }]);
  });

  it('counts time unheard because no collector heard the broker as unknown, never against the ISP or the station', () => {
    const health = hour((k) => (k <= 300 ? ok : ['offline', 'pipeline']));
    const { rollup, segments } = rollupHour({ start: H, periodMs: P, health, probes: [], sla_target: 99.5, vpnIsIsp: false });
    expect(rollup).toMatchObject({ available_s: 3000, downtime_s: 0, station_side_s: 0, other_s: 0, unknown_s: 600, outages: 0 });
    expect(segments).toEqual([]);
  });

  it('marks an outage already running at the hour start as continued and does not count it again', () => {
    const health = [{ ts: H, state: 'down' as State, cause: 'uplink' as Cause }, ...hour((k) => (k <= 30 ? ['down', 'uplink'] : ok))];
    const { rollup, segments } = rollupHour({ start: H, periodMs: P, health, probes: [], sla_target: 99, vpnIsIsp: false });
    expect(rollup.outages).toBe(0);
    expect(rollup.downtime_s).toBe(300);
    expect(segments).toEqual([{ start: H, end: H + 30 * P, cause: 'uplink', continued: true }]);
  });

  it('ends an outage at a gap without verdicts and counts the next one apart', () => {
    const health = hour((k) => (k <= 10 ? ['down', 'uplink'] : k <= 12 ? undefined : k <= 20 ? ['down', 'core'] : ok));
    const { rollup, segments } = rollupHour({ start: H, periodMs: P, health, probes: [], sla_target: 99, vpnIsIsp: true });
    expect(rollup.outages).toBe(2);
    expect(segments.map((s) => [s.start - H, s.end - H, s.cause])).toEqual([[0, 10 * P, 'uplink'], [12 * P, 20 * P, 'core']]);
  });

  it('takes latency, loss and jitter percentiles from the ISP-edge probes of available periods only', () => {
    const health = hour((k) => (k <= 200 ? ok : ['down', 'uplink']));
    // One probe per period, measured 5 s before its end; RTT 1..200 ms while up, and a lost probe while down.
    const probes = Array.from({ length: 360 }, (_, i) => {
      const k = i + 1;
      return k <= 200
        ? { ts: H + k * P - 5000, ok: true, loss: k % 10 === 0 ? 1 / 3 : 0, rtt_ms: k, jitter_ms: k / 10 }
        : { ts: H + k * P - 5000, ok: false, loss: 1 };
    });
    const { rollup } = rollupHour({ start: H, periodMs: P, health, probes, sla_target: 99, vpnIsIsp: false });
    expect(rollup).toMatchObject({ rtt_p50_ms: 100, rtt_p95_ms: 190, loss_p50: 0, loss_p95: 0.333333, jitter_p50_ms: 10, jitter_p95_ms: 19 });
  });

  it('is the same for the same points in any order (two evaluators write the same rollup)', () => {
    const health = hour((k) => (k % 7 === 0 ? ['down', 'uplink'] : ok));
    const a = rollupHour({ start: H, periodMs: P, health, probes: [], sla_target: 99, vpnIsIsp: false });
    const b = rollupHour({ start: H, periodMs: P, health: [...health].reverse(), probes: [], sla_target: 99, vpnIsIsp: false });
    expect(b).toEqual(a);
  });

  it('has no percentile fields when nothing was measured in available time', () => {
    const { rollup } = rollupHour({ start: H, periodMs: P, health: [], probes: [], sla_target: 99, vpnIsIsp: false });
    expect(rollup).toEqual({ period_s: 3600, available_s: 0, downtime_s: 0, maintenance_s: 0, station_side_s: 0, other_s: 0, unknown_s: 3600, outages: 0, sla_target: 99 });
  });
});

describe('a day from its hours', () => {
  it('sums the hours, counts missing hours as unknown and combines percentiles', () => {
    const h = (available_s: number, downtime_s: number, rtt: number) => ({
      period_s: 3600, available_s, downtime_s, maintenance_s: 0, station_side_s: 0, other_s: 0, unknown_s: 3600 - available_s - downtime_s,
      outages: downtime_s > 0 ? 1 : 0, sla_target: 99.5, rtt_p50_ms: rtt, rtt_p95_ms: rtt * 2,
    });
    const day = combineRollups([h(3600, 0, 10), h(3000, 600, 20), h(3500, 0, 30)], 86_400, 99.5);
    expect(day).toEqual({
      period_s: 86400, available_s: 10100, downtime_s: 600, maintenance_s: 0, station_side_s: 0, other_s: 0, unknown_s: 86400 - 10700,
      outages: 1, sla_target: 99.5, rtt_p50_ms: 20, rtt_p95_ms: 60,
    });
  });
});

describe('a month from its days', () => {
  it('counts the days without a rollup as unknown over the whole month', () => {
    const day = { period_s: 86_400, available_s: 86_000, downtime_s: 400, maintenance_s: 0, station_side_s: 0, other_s: 0, unknown_s: 0, outages: 2, sla_target: 99.5, loss_p95: 0.01 };
    const month = combineRollups([day, day], 30 * 86_400, 99.5);
    expect(month).toMatchObject({ period_s: 2_592_000, available_s: 172_000, downtime_s: 800, outages: 4, unknown_s: 28 * 86_400, loss_p95: 0.01 });
  });
});

describe('outages from hourly segments', () => {
  it('joins the pieces of an outage across hours and clips to the range', () => {
    const segs = [
      { start: H + 40 * 60_000, end: H + 3_600_000, cause: 'uplink' as Cause, continued: false },
      { start: H + 3_600_000, end: H + 3_600_000 + 20 * 60_000, cause: 'uplink' as Cause, continued: true },
      { start: H + 7_200_000, end: H + 7_200_000 + 60_000, cause: 'core' as Cause, continued: false },
    ];
    expect(joinSegments(segs, H, H + 10_800_000)).toEqual([
      { start: H + 40 * 60_000, end: H + 3_600_000 + 20 * 60_000, cause: 'uplink' },
      { start: H + 7_200_000, end: H + 7_200_000 + 60_000, cause: 'core' },
    ]);
    expect(joinSegments(segs, H + 3_600_000, H + 7_200_000)).toEqual([{ start: H + 3_600_000, end: H + 3_600_000 + 20 * 60_000, cause: 'uplink' }]);
  });

  it('keeps two outages apart when one ended before the next began', () => {
    const segs = [
      { start: H, end: H + 60_000, cause: 'uplink' as Cause, continued: false },
      { start: H + 120_000, end: H + 180_000, cause: 'uplink' as Cause, continued: false },
    ];
    expect(joinSegments(segs, H, H + 3_600_000)).toHaveLength(2);
  });
});

describe('nearest-rank percentile', () => {
  it.each([
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 95, 4],
    [[5], 95, 5],
    [[], 50, undefined],
  ])('of %j at p%d is %s', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});
