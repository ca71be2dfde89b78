/**
 * Reads a statement's figures from the rollups (InfluxQL, aggregated by InfluxDB: a year of 3,400 stations comes
 * back as one row per station), never from the raw points. Whole Vietnamese months read `sla_month`, whole days
 * `sla_day`, other ranges `sla_hour`.
 */
import type { InfluxDB } from 'influx';
import type { Station } from '../registry.js';
import { ROLLUP_RP } from '../retention.js';
import type { Cause } from '../verdict/types.js';
import type { OutageSegment } from './rollup.js';
import { buildStatement, type DailyTotals, type RollupTotals, type Statement, type StatementStation } from './statement.js';
import { DAY_MS, vnDayStart, vnMonthStart } from './time.js';

type Row = Record<string, unknown> & { time: Date };
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Ranges up to this long carry the daily availability (the PDF's chart). */
export const DAILY_MAX_MS = 62 * DAY_MS;

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

/** The InfluxQL of a statement (exported for the benchmark). Pure. */
export function statementQueries(o: { from: number; to: number; isp?: string }): { totals: string; outages: string; daily: string } {
  const source = sourceFor(o.from, o.to);
  const m = `"${ROLLUP_RP}"."${source}"`;
  // Days of a month range come from sla_day.
  const d = `"${ROLLUP_RP}"."${source === 'sla_month' ? 'sla_day' : source}"`;
  const where = `WHERE ${o.isp !== undefined ? `"isp" = ${quote(o.isp)} AND ` : ''}time >= ${o.from}ms AND time < ${o.to}ms`;
  const sums = ['period_s', 'available_s', 'downtime_s', 'maintenance_s', 'station_side_s', 'other_s', 'unknown_s', 'outages'].map((f) => `sum("${f}") AS "${f}"`);
  const pcts = ['rtt', 'loss', 'jitter'].flatMap((q) => {
    const unit = q === 'loss' ? '' : '_ms';
    return [`percentile("${q}_p50${unit}", 50) AS "${q}_p50${unit}"`, `percentile("${q}_p95${unit}", 95) AS "${q}_p95${unit}"`];
  });
  return {
    totals: `SELECT ${[...sums, ...pcts, 'max("sla_target") AS "sla_target"'].join(', ')} FROM ${m} ${where} GROUP BY "station", "isp", "circuit", "district", "province"`,
    outages: `SELECT "end", "cause", "continued" FROM "${ROLLUP_RP}"."sla_outage" ${where} GROUP BY "station"`,
    daily: `SELECT sum("available_s") AS "available_s", sum("downtime_s") AS "downtime_s", sum("unknown_s") AS "unknown_s", sum("period_s") AS "period_s" FROM ${d} ${where} GROUP BY "station", time(1d, 17h) fill(none)`,
  };
}

/** Reads the rollups of `[from, to)` and builds the statement. */
export async function readStatement(influx: InfluxDB, o: ReadOptions): Promise<Statement> {
  const q = statementQueries(o);
  const withDaily = o.to - o.from <= DAILY_MAX_MS;
  const results = (await influx.query(withDaily ? [q.totals, q.outages, q.daily] : [q.totals, q.outages], { precision: 'ms' })) as unknown as Row[][];
  const [totalRows, outageRows, dailyRows] = results;

  const stations = new Map<string, StatementStation>();
  for (const s of o.registry.values()) {
    if (o.isp === undefined || s.isp === o.isp) stations.set(s.id, { id: s.id, name: s.name, commune: s.commune, district: s.district, province: s.province, isp: s.isp, circuit: s.circuit, sla_target: s.sla_target });
  }
  const totals = new Map<string, RollupTotals>();
  for (const r of totalRows!) {
    const id = String(r.station);
    // A station no longer in the registry is still on the statement, named by its tags.
    if (!stations.has(id)) {
      stations.set(id, { id, name: id, commune: '', district: String(r.district ?? ''), province: String(r.province ?? ''), isp: String(r.isp ?? ''), circuit: String(r.circuit ?? ''), sla_target: num(r.sla_target) ?? 0 });
    }
    const t: RollupTotals = {
      period_s: num(r.period_s) ?? 0, available_s: num(r.available_s) ?? 0, downtime_s: num(r.downtime_s) ?? 0, maintenance_s: num(r.maintenance_s) ?? 0,
      station_side_s: num(r.station_side_s) ?? 0, other_s: num(r.other_s) ?? 0, unknown_s: num(r.unknown_s) ?? 0, outages: num(r.outages) ?? 0,
    };
    for (const k of ['rtt_p50_ms', 'rtt_p95_ms', 'loss_p50', 'loss_p95', 'jitter_p50_ms', 'jitter_p95_ms'] as const) {
      const v = num(r[k]);
      if (v !== undefined) t[k] = v;
    }
    const prev = totals.get(id);
    // Two groups for one station: its ISP or circuit changed within the range; the seconds add up.
    if (prev) for (const k of ['period_s', 'available_s', 'downtime_s', 'maintenance_s', 'station_side_s', 'other_s', 'unknown_s', 'outages'] as const) prev[k] += t[k];
    else totals.set(id, t);
  }
  const segments = new Map<string, OutageSegment[]>();
  for (const r of outageRows!) {
    const id = String(r.station);
    if (!segments.has(id)) segments.set(id, []);
    segments.get(id)!.push({ start: r.time.getTime(), end: num(r.end) ?? r.time.getTime(), cause: r.cause as Cause, continued: num(r.continued) === 1 });
  }
  let daily: Map<string, DailyTotals[]> | undefined;
  if (withDaily) {
    daily = new Map();
    for (const r of dailyRows!) {
      const id = String(r.station);
      if (!daily.has(id)) daily.set(id, []);
      const period = num(r.period_s) ?? 0;
      daily.get(id)!.push({ day: r.time.getTime(), available_s: num(r.available_s) ?? 0, downtime_s: num(r.downtime_s) ?? 0, unknown_s: (num(r.unknown_s) ?? 0) + Math.max(0, 86_400 - period) });
    }
  }
  const ordered = [...stations.values()].sort((a, b) => a.isp.localeCompare(b.isp, 'vi') || a.circuit.localeCompare(b.circuit, 'vi') || a.id.localeCompare(b.id));
  return buildStatement({ from: o.from, to: o.to, source: sourceFor(o.from, o.to), stations: ordered, totals, segments, ...(daily ? { daily } : {}) });
}
