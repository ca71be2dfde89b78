/**
 * Reads a statement's figures from the rollups (InfluxQL, aggregated by InfluxDB: a year of 3,400 stations comes
 * back as one row per station), never from the raw points. Whole Vietnamese months read `sla_month`, whole days
 * `sla_day`, other ranges `sla_hour`.
 */
import { literal, type Influx } from '../influx.js';
import type { Station } from '../registry.js';
import { ROLLUP_RP } from '../retention.js';
import type { Cause } from '../verdict/types.js';
import { combineRollups, finite, PERCENTILE_FIELDS, rollupOf, type OutageSegment, type Rollup } from './rollup.js';
import { buildStatement, type DailyTotals, type RollupTotals, type Statement, type StatementStation } from './statement.js';
import { DAY_MS, vnDayStart, vnMonthStart } from './time.js';

type Row = Record<string, unknown> & { time: Date };

/** Ranges up to this long carry the daily availability (the PDF's chart). */
const DAILY_MAX_MS = 62 * DAY_MS;

export interface ReadOptions {
  from: number;
  to: number;
  /** Only this ISP's circuits (the registry's spelling). */
  isp?: string;
  registry: ReadonlyMap<string, Station>;
}

/** `sla_month` when the range is whole Vietnamese months, `sla_day` when whole days, else `sla_hour`. Pure. */
export function sourceFor(from: number, to: number): Statement['source'] {
  if (vnMonthStart(from) === from && vnMonthStart(to) === to) return 'sla_month';
  return vnDayStart(from) === from && vnDayStart(to) === to ? 'sla_day' : 'sla_hour';
}

const FIELDS = ['period_s', 'available_s', 'downtime_s', 'maintenance_s', 'station_side_s', 'other_s', 'unknown_s', 'outages', 'sla_target', ...PERCENTILE_FIELDS];
const TAGS = ['station', 'isp', 'circuit', 'district', 'province'];

/**
 * The InfluxQL of a statement (exported for the benchmark). Pure. The rollup points are read as they are and summed
 * here: InfluxDB 1.6 runs each aggregate of a GROUP BY as its own iterator per series, and 15 of them over 3,400
 * series took 50 s for a year, where reading the 40,800 `sla_month` points takes about one.
 */
export function statementQueries(o: { from: number; to: number; isp?: string }): { totals: string; outages: string; daily: string } {
  const source = sourceFor(o.from, o.to);
  const m = `"${ROLLUP_RP}"."${source}"`;
  // Days of a month range come from sla_day.
  const d = `"${ROLLUP_RP}"."${source === 'sla_month' ? 'sla_day' : source}"`;
  const where = `WHERE ${o.isp !== undefined ? `"isp" = ${literal(o.isp)} AND ` : ''}time >= ${o.from}ms AND time < ${o.to}ms`;
  return {
    totals: `SELECT ${[...FIELDS, ...TAGS].map((f) => `"${f}"`).join(', ')} FROM ${m} ${where}`,
    outages: `SELECT "end", "cause", "continued" FROM "${ROLLUP_RP}"."sla_outage" ${where} GROUP BY "station"`,
    daily: `SELECT "available_s", "downtime_s", "unknown_s", "period_s", "station" FROM ${d} ${where}`,
  };
}

/** Reads the rollups of `[from, to)` and builds the statement. */
export async function readStatement(influx: Influx, o: ReadOptions): Promise<Statement> {
  const q = statementQueries(o);
  const withDaily = o.to - o.from <= DAILY_MAX_MS;
  // Separate requests, so InfluxDB answers them side by side (the statements of one request run one after another).
  const read = (text: string) => influx.query(text, { precision: 'ms' }) as unknown as Promise<Row[]>;
  const [totalRows, outageRows, dailyRows] = await Promise.all([read(q.totals), read(q.outages), withDaily ? read(q.daily) : Promise.resolve([])]);

  const stations = new Map<string, StatementStation>();
  for (const s of o.registry.values()) {
    if (o.isp === undefined || s.isp === o.isp) stations.set(s.id, { id: s.id, name: s.name, commune: s.commune, district: s.district, province: s.province, isp: s.isp, circuit: s.circuit, sla_target: s.sla_target });
  }
  const parts = new Map<string, Rollup[]>();
  for (const r of totalRows!) {
    const id = String(r.station);
    // A station no longer in the registry is still on the statement, named by its tags.
    if (!stations.has(id)) {
      stations.set(id, { id, name: id, commune: '', district: String(r.district ?? ''), province: String(r.province ?? ''), isp: String(r.isp ?? ''), circuit: String(r.circuit ?? ''), sla_target: finite(r.sla_target) ?? 0 });
    }
    if (!parts.has(id)) parts.set(id, []);
    parts.get(id)!.push(rollupOf(r));
  }
  const totals = new Map<string, RollupTotals>();
  for (const [id, ps] of parts) totals.set(id, combineRollups(ps, ps.reduce((a, p) => a + p.period_s, 0), 0));
  const segments = new Map<string, OutageSegment[]>();
  for (const r of outageRows!) {
    const id = String(r.station);
    if (!segments.has(id)) segments.set(id, []);
    segments.get(id)!.push({ start: r.time.getTime(), end: finite(r.end) ?? r.time.getTime(), cause: r.cause as Cause, continued: finite(r.continued) === 1 });
  }
  let daily: Map<string, DailyTotals[]> | undefined;
  if (withDaily) {
    daily = new Map();
    const byDay = new Map<string, { available_s: number; downtime_s: number; unknown_s: number; period_s: number }>();
    for (const r of dailyRows!) {
      const key = `${String(r.station)}\u0000${vnDayStart(r.time.getTime())}`;
      const d = byDay.get(key) ?? { available_s: 0, downtime_s: 0, unknown_s: 0, period_s: 0 };
      d.available_s += finite(r.available_s) ?? 0;
      d.downtime_s += finite(r.downtime_s) ?? 0;
      d.unknown_s += finite(r.unknown_s) ?? 0;
      d.period_s += finite(r.period_s) ?? 0;
      byDay.set(key, d);
    }
    for (const [key, d] of byDay) {
      const [id, day] = key.split('\u0000') as [string, string];
      if (!daily.has(id)) daily.set(id, []);
      // Hours of the day without a rollup (or outside the range) are unknown.
      daily.get(id)!.push({ day: Number(day), available_s: d.available_s, downtime_s: d.downtime_s, unknown_s: d.unknown_s + Math.max(0, 86_400 - d.period_s) });
    }
  }
  const ordered = [...stations.values()].sort((a, b) => a.isp.localeCompare(b.isp, 'vi') || a.circuit.localeCompare(b.circuit, 'vi') || a.id.localeCompare(b.id));
  return buildStatement({ from: o.from, to: o.to, source: sourceFor(o.from, o.to), stations: ordered, totals, segments, ...(daily ? { daily } : {}) });
}
