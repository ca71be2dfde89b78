/**
 * The SLA statement per circuit from rollup totals and outage segments (docs/sla.md). Pure: the reading is in
 * read.ts, the formats in format.ts and pdf.ts.
 */
import type { Cause } from '../verdict/types.js';
import { joinSegments, PERCENTILE_FIELDS, type OutageSegment, type Rollup } from './rollup.js';
import { DAY_MS, TIME_ZONE, vnDate, vnDayStart, vnIso } from './time.js';

/** A station as the statement names it (from the registry, or the rollups' tags for a station no longer in it). */
export interface StatementStation {
  id: string;
  name: string;
  commune: string;
  district: string;
  province: string;
  isp: string;
  circuit: string;
  sla_target: number;
}

/** Sums (and combined percentiles) of a station's rollups over the range: a rollup without its target. */
export type RollupTotals = Omit<Rollup, 'sla_target'>;

export interface DailyTotals {
  /** Start of the Vietnamese day (ms epoch). */
  day: number;
  available_s: number;
  downtime_s: number;
  unknown_s: number;
}

export interface StatementOutage {
  start: string;
  end: string;
  duration_s: number;
  cause: Cause;
}

/** One circuit of the statement: the JSON row of `linkwatch sla --format json` (the station's id as `station`). */
export interface StatementRow extends Omit<StatementStation, 'id'> {
  station: string;
  /** available / (available + ISP downtime) × 100; null when neither was measured. */
  availability_pct: number | null;
  /** availability_pct ≥ sla_target; null when availability is unknown. */
  slo_met: boolean | null;
  downtime_s: number;
  excluded_s: { maintenance: number; station_side: number; other: number };
  available_s: number;
  unknown_s: number;
  /** (period − unknown) / period × 100. */
  data_completeness_pct: number;
  outage_count: number;
  outages: StatementOutage[];
  /** Mean time to restore: the mean duration of the listed outages; null without an outage. */
  mttr_s: number | null;
  /** Mean time between failures: available time / outages; null without an outage. */
  mtbf_s: number | null;
  rtt_p50_ms: number | null;
  rtt_p95_ms: number | null;
  loss_p50: number | null;
  loss_p95: number | null;
  jitter_p50_ms: number | null;
  jitter_p95_ms: number | null;
  /** Availability per Vietnamese day (only for ranges up to 62 days). */
  daily?: Array<{ date: string; availability_pct: number | null; data_completeness_pct: number }>;
}

/** The statement: `linkwatch sla --format json`. */
export interface Statement {
  from: string;
  to: string;
  time_zone: typeof TIME_ZONE;
  /** Which rollup the figures come from: `sla_month` for whole months, `sla_day` for whole days, else `sla_hour`. */
  source: 'sla_month' | 'sla_day' | 'sla_hour';
  rows: StatementRow[];
}

export interface StatementInput {
  from: number;
  to: number;
  source: Statement['source'];
  stations: readonly StatementStation[];
  totals: ReadonlyMap<string, RollupTotals>;
  segments: ReadonlyMap<string, readonly OutageSegment[]>;
  daily?: ReadonlyMap<string, readonly DailyTotals[]>;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const availability = (available: number, downtime: number) => (available + downtime > 0 ? round((100 * available) / (available + downtime), 4) : null);

const EMPTY: RollupTotals = { period_s: 0, available_s: 0, downtime_s: 0, maintenance_s: 0, station_side_s: 0, other_s: 0, unknown_s: 0, outages: 0 };

/** Builds the statement rows, one per station, in the order of `stations`. */
export function buildStatement(input: StatementInput): Statement {
  const range_s = (input.to - input.from) / 1000;
  const rows = input.stations.map((s): StatementRow => {
    const t = input.totals.get(s.id) ?? EMPTY;
    // Hours or days without a rollup point (no evaluator ran) are unknown too.
    const unknown_s = t.unknown_s + Math.max(0, range_s - t.period_s);
    const outages = joinSegments(input.segments.get(s.id) ?? [], input.from, input.to).map((o) => ({
      start: vnIso(o.start), end: vnIso(o.end), duration_s: (o.end - o.start) / 1000, cause: o.cause,
    }));
    const availability_pct = availability(t.available_s, t.downtime_s);
    const n = outages.length;
    const row: StatementRow = {
      station: s.id, name: s.name, commune: s.commune, district: s.district, province: s.province, isp: s.isp, circuit: s.circuit,
      sla_target: s.sla_target,
      availability_pct,
      slo_met: availability_pct === null ? null : availability_pct >= s.sla_target,
      downtime_s: t.downtime_s,
      excluded_s: { maintenance: t.maintenance_s, station_side: t.station_side_s, other: t.other_s },
      available_s: t.available_s,
      unknown_s,
      data_completeness_pct: range_s > 0 ? round((100 * (range_s - unknown_s)) / range_s, 4) : 0,
      outage_count: n,
      outages,
      mttr_s: n > 0 ? round(outages.reduce((a, o) => a + o.duration_s, 0) / n, 1) : null,
      mtbf_s: n > 0 ? round(t.available_s / n, 1) : null,
      rtt_p50_ms: null, rtt_p95_ms: null, loss_p50: null, loss_p95: null, jitter_p50_ms: null, jitter_p95_ms: null,
    };
    for (const k of PERCENTILE_FIELDS) row[k] = t[k] ?? null;
    if (input.daily) {
      const byDay = new Map((input.daily.get(s.id) ?? []).map((d) => [d.day, d]));
      row.daily = [];
      // Every day of the range is listed; a day without a rollup is all unknown.
      for (let day = vnDayStart(input.from); day < input.to; day += DAY_MS) {
        const d = byDay.get(day);
        row.daily.push({
          date: vnDate(day),
          availability_pct: d ? availability(d.available_s, d.downtime_s) : null,
          data_completeness_pct: d ? round(100 * (1 - d.unknown_s / 86_400), 2) : 0,
        });
      }
    }
    return row;
  });
  return { from: vnIso(input.from), to: vnIso(input.to), time_zone: 'Asia/Ho_Chi_Minh', source: input.source, rows };
}
