/**
 * The rollup job (docs/sla.md): after each evaluation it rolls the hours that just completed into `sla_hour`,
 * `sla_outage` and `sla_day` points (retention policy `rollups`), and re-rolls the hours of a station whose health
 * points a revision rewrote. Reads `health` and ISP-edge `probe` points, computes with rollup.ts, writes at aligned
 * timestamps: two evaluators write identical points.
 */
import type { IPoint } from 'influx';
import { literal, type Influx } from '../influx.js';
import type { Logger } from '../../lib/log.js';
import { stationTags } from '../points.js';
import type { Station } from '../registry.js';
import { ensureRetention, ROLLUP_RP } from '../retention.js';
import type { Cause, State } from '../verdict/types.js';
import { combineRollups, finite, rollupOf, rollupHour, type HealthSample, type OutageSegment, type ProbeSample, type Rollup } from './rollup.js';
import { DAY_MS, hourStart, HOUR_MS, nextVnMonth, vnDayStart, vnMonthStart } from './time.js';


export interface RollupJobDeps {
  influx: Influx;
  database: string;
  log: Logger;
  registry: () => ReadonlyMap<string, Station>;
  /** The evaluator period: the span each health point judges. */
  periodMs: number;
  /** ISPs whose circuits include the VPN/hub: their `core` outages count as downtime (`sla.vpn_isps`). */
  vpnIsps: readonly string[];
  /** Retention of raw measurements and of rollups (ms, 0 = forever), set before the first write. */
  rawRetentionMs: number;
  rollupRetentionMs: number;
  /** How far back the first run rolls hours that have health points but no rollup (default 24 h). */
  catchUpMs?: number;
}

export interface RollupStats {
  hours_rolled: number;
  rerolled_hours: number;
  failures: number;
}

type Row = Record<string, unknown> & { time: Date };

/** The rollup tags of a station: the tags of every measurement, plus `circuit`. */
const rollupTags = (s: Station): Record<string, string> => ({ ...stationTags(s), circuit: s.circuit });

/** The `sla_hour` / `sla_day` point of a rollup. */
export function rollupPoint(measurement: 'sla_hour' | 'sla_day' | 'sla_month', s: Station, at: number, r: Rollup): IPoint {
  const fields: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) if (v !== undefined) fields[k] = v as number;
  return { measurement, tags: rollupTags(s), fields, timestamp: at };
}

/** The `sla_outage` point of an outage segment, stamped with its start. */
export function outagePoint(s: Station, seg: OutageSegment): IPoint {
  return {
    measurement: 'sla_outage', tags: rollupTags(s),
    fields: { end: seg.end, duration_s: (seg.end - seg.start) / 1000, cause: seg.cause, continued: seg.continued ? 1 : 0 },
    timestamp: seg.start,
  };
}

export class RollupJob {
  readonly stats: RollupStats = { hours_rolled: 0, rerolled_hours: 0, failures: 0 };
  /** Start of the next hour to roll; undefined until the first run found where to start. */
  private next: number | undefined;
  private retentionSet = false;
  /** The newest evaluation time seen: hours ending after it are not complete. */
  private lastAt = 0;

  constructor(private readonly deps: RollupJobDeps) {
  }

  /** After the evaluation at `at`: rolls every hour completed since the last run. Never throws. */
  async afterEvaluation(at: number): Promise<void> {
    this.lastAt = Math.max(this.lastAt, at);
    const complete = hourStart(at);
    try {
      await this.ensureRetention();
      if (this.next === undefined) {
        for (const h of await this.missingHours(complete - (this.deps.catchUpMs ?? DAY_MS), complete)) await this.rollHours(h, h + HOUR_MS);
        this.next = complete;
      }
      while (this.next < complete) {
        await this.rollHours(this.next, this.next + HOUR_MS);
        this.next += HOUR_MS;
      }
    } catch (err) {
      this.stats.failures++;
      // The hour is rolled again at the next evaluation: `next` only moves past hours that were written.
      this.deps.log.warn({ err: (err as Error).message }, 'rollup failed; retrying next period');
    }
  }

  /** After a revision rewrote the health points of `station` stamped in [from, to]: rolls their hours again. */
  async afterRevision(station: Station, from: number, to: number): Promise<void> {
    // A point stamped T judges (T − period, T]; the one at an hour's start also says whether an outage ran into it.
    const first = hourStart(from - 1);
    const last = Math.min(hourStart(to), hourStart(this.lastAt) - HOUR_MS);
    if (last < first) return;
    try {
      await this.ensureRetention();
      await this.rollHours(first, last + HOUR_MS, station);
      this.stats.rerolled_hours += (last - first) / HOUR_MS + 1;
    } catch (err) {
      this.stats.failures++;
      this.deps.log.warn({ err: (err as Error).message, station: station.id }, 'rollup after revision failed');
    }
  }

  private async ensureRetention() {
    if (this.retentionSet) return;
    try {
      await ensureRetention(this.deps.influx, this.deps.database, this.deps.rawRetentionMs, this.deps.rollupRetentionMs);
    } catch (err) {
      // A user without the grant cannot manage policies; the collector (or an administrator) sets them.
      this.deps.log.warn({ err: (err as Error).message }, 'cannot set retention policies; writing rollups to the existing ones');
    }
    this.retentionSet = true;
  }

  /** Hours in [from, to) with health points but no `sla_hour` point. */
  private async missingHours(from: number, to: number): Promise<number[]> {
    const [health, rolled] = (await this.deps.influx.query(
      [
        `SELECT count("code") AS "n" FROM "health" WHERE time > ${from}ms AND time <= ${to}ms GROUP BY time(1h) fill(none)`,
        `SELECT count("period_s") AS "n" FROM "${ROLLUP_RP}"."sla_hour" WHERE time >= ${from}ms AND time < ${to}ms GROUP BY time(1h) fill(none)`,
      ],
      { precision: 'ms' },
    )) as unknown as Row[][];
    const done = new Set(rolled!.map((r) => r.time.getTime()));
    // A point stamped exactly on the hour belongs to the hour before it.
    const hours = new Set(health!.map((r) => r.time.getTime()).filter((t) => t >= from && t < to));
    return [...hours].filter((h) => !done.has(h)).sort((a, b) => a - b);
  }

  /** Rolls the hours [from, to) (and their days) of every station of the registry, or of one station. */
  private async rollHours(from: number, to: number, only?: Station): Promise<void> {
    const registry = this.deps.registry();
    const stations = only ? [only] : [...registry.values()];
    if (stations.length === 0) return;
    const p = this.deps.periodMs;
    const filter = only ? `"station" = ${literal(only.id)} AND ` : '';
    const days = new Set<number>();
    for (let h = from; h < to; h += HOUR_MS) {
      const [healthRows, probeRows] = (await this.deps.influx.query(
        [
          `SELECT "state", "cause" FROM "health" WHERE ${filter}time > ${h - p}ms AND time <= ${h + HOUR_MS}ms GROUP BY "station"`,
          `SELECT "ok", "loss", "rtt_avg_ms", "jitter_ms" FROM "probe" WHERE ${filter}"role" = 'isp' AND time > ${h}ms AND time <= ${h + HOUR_MS}ms GROUP BY "station"`,
        ],
        { precision: 'ms' },
      )) as unknown as Row[][];
      const health = new Map<string, HealthSample[]>();
      for (const r of healthRows!) {
        const s = String(r.station);
        if (!health.has(s)) health.set(s, []);
        health.get(s)!.push({ ts: r.time.getTime(), state: r.state as State, cause: r.cause as Cause });
      }
      const probes = new Map<string, ProbeSample[]>();
      for (const r of probeRows!) {
        const s = String(r.station);
        if (!probes.has(s)) probes.set(s, []);
        const rtt = finite(r.rtt_avg_ms);
        const jitter = finite(r.jitter_ms);
        const loss = finite(r.loss);
        probes.get(s)!.push({ ts: r.time.getTime(), ok: r.ok === true, ...(loss !== undefined ? { loss } : {}), ...(rtt !== undefined ? { rtt_ms: rtt } : {}), ...(jitter !== undefined ? { jitter_ms: jitter } : {}) });
      }
      const points: IPoint[] = [];
      for (const s of stations) {
        const { rollup, segments } = rollupHour({
          start: h, periodMs: p, health: health.get(s.id) ?? [], probes: probes.get(s.id) ?? [], sla_target: s.sla_target,
          vpnIsIsp: this.deps.vpnIsps.includes(s.isp),
        });
        points.push(rollupPoint('sla_hour', s, h, rollup));
        for (const seg of segments) points.push(outagePoint(s, seg));
      }
      // A revised hour may lose fields (a percentile) or outage segments; an overwrite would keep the old ones.
      if (only) {
        await this.deps.influx.queryRaw(
          ['sla_hour', 'sla_outage'].map((m) => `DELETE FROM "${m}" WHERE ${filter}time >= ${h}ms AND time < ${h + HOUR_MS}ms`),
          { method: 'POST' },
        );
      }
      await this.deps.influx.writePoints(points, { precision: 'ms', retentionPolicy: ROLLUP_RP });
      this.stats.hours_rolled++;
      days.add(vnDayStart(h));
    }
    for (const d of [...days].sort((a, b) => a - b)) await this.rollUp('sla_hour', 'sla_day', d, d + DAY_MS, stations, filter, only !== undefined);
    for (const m of new Set([...days].map(vnMonthStart))) await this.rollUp('sla_day', 'sla_month', m, nextVnMonth(m), stations, filter, only !== undefined);
  }

  /**
   * The `to` point of each station at `start` from its `from` points in [start, end): the `sla_day` of a Vietnamese
   * day from its hours (so far, for a day still running), the `sla_month` of a month from its days (a year is 12
   * points per station).
   */
  private async rollUp(from: 'sla_hour' | 'sla_day', to: 'sla_day' | 'sla_month', start: number, end: number, stations: readonly Station[], filter: string, replace: boolean): Promise<void> {
    const rows = (await this.deps.influx.query(
      `SELECT * FROM "${ROLLUP_RP}"."${from}" WHERE ${filter}time >= ${start}ms AND time < ${end}ms GROUP BY "station"`,
      { precision: 'ms' },
    )) as unknown as Row[];
    const parts = new Map<string, Rollup[]>();
    for (const r of rows) {
      const s = String(r.station);
      if (!parts.has(s)) parts.set(s, []);
      parts.get(s)!.push(rollupOf(r));
    }
    const points = stations.filter((s) => parts.has(s.id)).map((s) => rollupPoint(to, s, start, combineRollups(parts.get(s.id)!, (end - start) / 1000, s.sla_target)));
    if (points.length === 0) return;
    if (replace) await this.deps.influx.queryRaw([`DELETE FROM "${to}" WHERE ${filter}time = ${start}ms`], { method: 'POST' });
    await this.deps.influx.writePoints(points, { precision: 'ms', retentionPolicy: ROLLUP_RP });
  }
}
