/**
 * SLA rollups (docs/sla.md, the schema in docs/influxdb-schema.md): what each second of a station's hour counts as,
 * and the hour and day points that answer SLA questions for years without reading raw points. Pure.
 *
 * A `health` point stamped T judges the evaluator period (T − period, T] (docs/verdicts.md, "Timing"), so the hour
 * [H, H + 1 h) is covered by the points stamped in (H, H + 1 h]; a period without a point is unknown.
 */
import type { Cause, State } from '../verdict/types.js';
import { HOUR_MS } from './time.js';

/** What a period of a station's time counts as in the SLA. */
export type SlaClass = 'available' | 'downtime' | 'maintenance' | 'station_side' | 'other';

/** Down/offline causes on the station's side of the path: excluded from the ISP's downtime, listed as such. */
const STATION_SIDE: ReadonlySet<Cause> = new Set(['lan', 'silent', 'clock']);

/**
 * The SLA class of one verdict. `vpnIsIsp`: the circuit includes the VPN/hub, so a `core` outage is the ISP's.
 * A `silent` verdict counts as station-side: an ISP outage makes a station silent too, but its agent backfills the
 * reports that show where the fault was, the evaluator revises the verdict to `uplink`, and the rollup with it; what
 * stays silent had nothing measured (a power cut).
 */
export function slaClassOf(state: State, cause: Cause, vpnIsIsp: boolean): SlaClass {
  if (state === 'ok' || state === 'degraded') return 'available';
  if (state === 'maintenance') return 'maintenance';
  if (cause === 'uplink' || (cause === 'core' && vpnIsIsp)) return 'downtime';
  if (STATION_SIDE.has(cause)) return 'station_side';
  return 'other';
}

export interface HealthSample {
  ts: number;
  state: State;
  cause: Cause;
}

/** One ISP-edge (`role=isp`) probe point. */
export interface ProbeSample {
  ts: number;
  ok: boolean;
  loss?: number;
  rtt_ms?: number;
  jitter_ms?: number;
}

/** The fields of an `sla_hour` or `sla_day` point. Seconds are numbers; absent percentiles mean no sample. */
export interface Rollup {
  period_s: number;
  available_s: number;
  downtime_s: number;
  maintenance_s: number;
  station_side_s: number;
  other_s: number;
  unknown_s: number;
  outages: number;
  sla_target: number;
  rtt_p50_ms?: number;
  rtt_p95_ms?: number;
  loss_p50?: number;
  loss_p95?: number;
  jitter_p50_ms?: number;
  jitter_p95_ms?: number;
}

export const PERCENTILE_FIELDS = ['rtt_p50_ms', 'rtt_p95_ms', 'loss_p50', 'loss_p95', 'jitter_p50_ms', 'jitter_p95_ms'] as const;

/** One piece of an ISP outage inside one hour (an `sla_outage` point): `[start, end)` in ms epoch. */
export interface OutageSegment {
  start: number;
  end: number;
  cause: Cause;
  /** The outage was already running at the start of the hour. */
  continued: boolean;
}

/** Nearest-rank percentile (p in 0..100) of values; undefined when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (v: number | undefined, digits: number) => (v === undefined ? undefined : Math.round(v * 10 ** digits) / 10 ** digits);

function withPercentiles(r: Rollup, src: { rtt: number[]; loss: number[]; jitter: number[] }, p50 = 50, p95 = 95): Rollup {
  const set = (k: (typeof PERCENTILE_FIELDS)[number], v: number | undefined) => {
    if (v !== undefined) r[k] = v;
  };
  set('rtt_p50_ms', round(percentile(src.rtt, p50), 3));
  set('rtt_p95_ms', round(percentile(src.rtt, p95), 3));
  set('loss_p50', round(percentile(src.loss, p50), 6));
  set('loss_p95', round(percentile(src.loss, p95), 6));
  set('jitter_p50_ms', round(percentile(src.jitter, p50), 3));
  set('jitter_p95_ms', round(percentile(src.jitter, p95), 3));
  return r;
}

export interface HourInput {
  /** Start of the hour (ms epoch, a multiple of 1 h). */
  start: number;
  /** The evaluator period: the span each health point judges. */
  periodMs: number;
  /** The station's health points stamped in (start − period, start + 1 h]: the one at `start` (the last of the
   * hour before) says whether an outage was already running. */
  health: readonly HealthSample[];
  /** The station's ISP-edge probe points measured in (start, start + 1 h]. */
  probes: readonly ProbeSample[];
  sla_target: number;
  vpnIsIsp: boolean;
}

/**
 * The `sla_hour` fields of one station's hour and the ISP outage segments in it. An outage is a run of health points
 * judged ISP downtime, one period apart; a gap (unknown) ends it. Percentiles are over the ISP-edge probes measured
 * in periods judged available.
 */
export function rollupHour(input: HourInput): { rollup: Rollup; segments: OutageSegment[] } {
  const { start, periodMs: p } = input;
  const end = start + HOUR_MS;
  const byTs = new Map<number, SlaClass>();
  const causeAt = new Map<number, Cause>();
  for (const h of input.health) {
    if (h.ts <= start - p || h.ts > end) continue;
    // Unheard because no collector heard the broker: nothing is known of the circuit, so it is unknown time (data
    // completeness), until the backfill revises the verdict and the hour is rolled again.
    if (h.cause === 'pipeline') continue;
    byTs.set(h.ts, slaClassOf(h.state, h.cause, input.vpnIsIsp));
    causeAt.set(h.ts, h.cause);
  }
  const seconds: Record<SlaClass, number> = { available: 0, downtime: 0, maintenance: 0, station_side: 0, other: 0 };
  const points = [...byTs.keys()].filter((t) => t > start).sort((a, b) => a - b);
  for (const t of points) seconds[byTs.get(t)!] += Math.min(p, t - start) / 1000;
  const known = Object.values(seconds).reduce((a, b) => a + b, 0);

  const segments: OutageSegment[] = [];
  let open: { start: number; end: number; causes: Map<Cause, number>; continued: boolean } | undefined;
  const close = () => {
    if (!open) return;
    const cause = [...open.causes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
    segments.push({ start: open.start, end: open.end, cause, continued: open.continued });
    open = undefined;
  };
  let prevTs = start;
  let prevDown = byTs.get(start) === 'downtime';
  for (const t of points) {
    const down = byTs.get(t) === 'downtime';
    const adjacent = t - prevTs === p;
    if (down) {
      if (open && adjacent) open.end = t;
      else {
        close();
        open = { start: Math.max(start, t - p), end: t, causes: new Map(), continued: t - p <= start && prevDown && adjacent };
      }
      open.causes.set(causeAt.get(t)!, (open.causes.get(causeAt.get(t)!) ?? 0) + 1);
    } else close();
    prevTs = t;
    prevDown = down;
  }
  close();

  const rtt: number[] = [];
  const loss: number[] = [];
  const jitter: number[] = [];
  for (const s of input.probes) {
    if (s.ts <= start || s.ts > end) continue;
    // The report measured at ts is judged by the health point of the period it falls in, stamped ceil(ts / p) × p.
    if (byTs.get(Math.ceil(s.ts / p) * p) !== 'available') continue;
    loss.push(s.loss ?? (s.ok ? 0 : 1));
    if (s.rtt_ms !== undefined) rtt.push(s.rtt_ms);
    if (s.jitter_ms !== undefined) jitter.push(s.jitter_ms);
  }
  const rollup: Rollup = {
    period_s: HOUR_MS / 1000,
    available_s: seconds.available,
    downtime_s: seconds.downtime,
    maintenance_s: seconds.maintenance,
    station_side_s: seconds.station_side,
    other_s: seconds.other,
    unknown_s: Math.max(0, HOUR_MS / 1000 - known),
    outages: segments.filter((s) => !s.continued).length,
    sla_target: input.sla_target,
  };
  return { rollup: withPercentiles(rollup, { rtt, loss, jitter }), segments };
}

/**
 * A rollup of `period_s` from the rollups of its parts (a day from hours, a month from days): seconds and outages add
 * up, the part of the period without a rollup is unknown, p50 is the median of the parts' p50s and p95 the 95th
 * percentile of their p95s (exact percentiles would need the raw points, which retention removes).
 */
export function combineRollups(hours: readonly Rollup[], period_s: number, sla_target: number): Rollup {
  const sum = (k: 'available_s' | 'downtime_s' | 'maintenance_s' | 'station_side_s' | 'other_s' | 'outages') => hours.reduce((a, h) => a + h[k], 0);
  const day: Rollup = {
    period_s,
    available_s: sum('available_s'),
    downtime_s: sum('downtime_s'),
    maintenance_s: sum('maintenance_s'),
    station_side_s: sum('station_side_s'),
    other_s: sum('other_s'),
    unknown_s: 0,
    outages: sum('outages'),
    sla_target,
  };
  day.unknown_s = Math.max(0, day.period_s - day.available_s - day.downtime_s - day.maintenance_s - day.station_side_s - day.other_s);
  const of = (k: (typeof PERCENTILE_FIELDS)[number]) => hours.map((h) => h[k]).filter((v): v is number => v !== undefined);
  const set = (k: (typeof PERCENTILE_FIELDS)[number], v: number | undefined) => {
    if (v !== undefined) day[k] = v;
  };
  set('rtt_p50_ms', percentile(of('rtt_p50_ms'), 50));
  set('rtt_p95_ms', percentile(of('rtt_p95_ms'), 95));
  set('loss_p50', percentile(of('loss_p50'), 50));
  set('loss_p95', percentile(of('loss_p95'), 95));
  set('jitter_p50_ms', percentile(of('jitter_p50_ms'), 50));
  set('jitter_p95_ms', percentile(of('jitter_p95_ms'), 95));
  return day;
}

/**
 * Joins the hourly segments of a station into outages: a segment that starts where the previous one ended (and was
 * marked as continued) is the same outage. The cause is the one that lasted longest. Segments are clipped to
 * `[from, to)`; an outage running at `from` starts at `from`.
 */
export function joinSegments(segments: readonly OutageSegment[], from: number, to: number): Array<{ start: number; end: number; cause: Cause }> {
  const sorted = [...segments].filter((s) => s.end > from && s.start < to).sort((a, b) => a.start - b.start);
  const out: Array<{ start: number; end: number; byCause: Map<Cause, number> }> = [];
  for (const s of sorted) {
    const start = Math.max(s.start, from);
    const end = Math.min(s.end, to);
    const last = out[out.length - 1];
    if (last && s.continued && s.start <= last.end) {
      last.end = Math.max(last.end, end);
      last.byCause.set(s.cause, (last.byCause.get(s.cause) ?? 0) + (end - start));
    } else out.push({ start, end, byCause: new Map([[s.cause, end - start]]) });
  }
  return out.map((o) => ({ start: o.start, end: o.end, cause: [...o.byCause].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0] }));
}

/** A rollup as InfluxDB returns its point (missing fields read 0; absent percentiles stay absent). */
export function rollupOf(r: Readonly<Record<string, unknown>>): Rollup {
  const out: Rollup = {
    period_s: finite(r.period_s) ?? 0, available_s: finite(r.available_s) ?? 0, downtime_s: finite(r.downtime_s) ?? 0,
    maintenance_s: finite(r.maintenance_s) ?? 0, station_side_s: finite(r.station_side_s) ?? 0, other_s: finite(r.other_s) ?? 0,
    unknown_s: finite(r.unknown_s) ?? 0, outages: finite(r.outages) ?? 0, sla_target: finite(r.sla_target) ?? 0,
  };
  for (const k of PERCENTILE_FIELDS) {
    const v = finite(r[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** A number read back from InfluxDB, or undefined for a missing or non-finite one. */
export const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
