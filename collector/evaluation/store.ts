/**
 * The evaluator's one way to InfluxDB: every InfluxQL read it makes (reports back as cycles, the seed of its state,
 * the late-report check, the revision reads) and every write (health and incident points, revision deletes). The rest
 * of the evaluator is pure or in-memory and never sees a row.
 */
import type { IPoint } from 'influx';
import { decodeCycle } from '../cycle-field.js';
import { literal, type Influx } from '../influx.js';
import type { CollectorPoint } from '../verdict/pipeline.js';
import type { Role } from '../../protocol/report.js';
import type { Incident, Scope } from '../verdict/incidents.js';
import type { StoredHealth } from '../verdict/revise.js';
import type { Cause, Cycle, PreviousHealth, State } from '../verdict/types.js';

type Row = Record<string, unknown> & { time: Date };
const ms = (t: Date) => t.getTime();
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const stationFilter = (stations: readonly string[]) => `(${stations.map((s) => `"station" = ${literal(s)}`).join(' OR ')})`;

export const DAY = 86_400_000;
const MONTH = 30 * DAY;

/** A retained status (last will) as the evaluator reads it. */
export interface StatusSeen {
  state: 'online' | 'offline';
  ts: number;
}

/** The newest report of a station and its interval. */
export interface LastSeen {
  ts: number;
  interval_s: number;
}

/** What the evaluator keeps between periods, read once at start (or after a gap) over the look-back. */
export interface Seed {
  cycles: Map<string, Cycle[]>;
  lastSeen: Map<string, LastSeen>;
  status: Map<string, StatusSeen>;
  prevHealth: Map<string, PreviousHealth>;
  prevIncidents: Incident[];
  /** Reports of the look-back stored late or with a backlog (see `recent`). */
  late: LateReport[];
}

/** A report whose `delay_ms` (stored − measured) or outbox depth says it was not there, or may not have been, in time. */
export interface LateReport {
  station: string;
  ts: number;
  delay_ms: number;
  depth: number;
}

/** Reads (and rewrites) of one station for a revision of `[start, end]` (docs/verdicts.md, "Revising the past"). */
export interface StationSpan {
  cycles: Cycle[];
  before?: LastSeen;
  statuses: StatusSeen[];
  prev?: PreviousHealth;
  stored: Map<number, StoredHealth>;
}

const REPORT_FIELDS = `"interval_s", "clock_offset_ms"`;
const PROBE_FIELDS = `"ok", "loss", "rtt_avg_ms", "jitter_ms"`;

/**
 * Above this many stations, a fallback read of reports written without the `cycle` field reads every station (and
 * keeps those), instead of naming each in an OR that InfluxDB matches slower than it reads.
 */
const FILTER_MAX = 200;

/** Turns report, probe, session and backlog rows (grouped by station) into each station's cycles, oldest first. */
export function toCycles(reports: Row[], probes: Row[], sessions: Row[], backlogs: Row[], defaultInterval_s: number): Map<string, Cycle[]> {
  const cycles = new Map<string, Map<number, Cycle>>();
  const cycleOf = (station: string, ts: number): Cycle | undefined => cycles.get(station)?.get(ts);
  for (const r of reports) {
    const station = String(r.station);
    let byTs = cycles.get(station);
    if (!byTs) cycles.set(station, (byTs = new Map()));
    const c: Cycle = { ts: ms(r.time), interval_s: num(r.interval_s) ?? defaultInterval_s, probes: [], sessions: [], backlog: [] };
    const offset = num(r.clock_offset_ms);
    if (offset !== undefined) c.clock_offset_ms = offset;
    byTs.set(c.ts, c);
  }
  for (const r of probes) {
    const c = cycleOf(String(r.station), ms(r.time));
    if (!c) continue;
    const rtt = num(r.rtt_avg_ms);
    const jitter = num(r.jitter_ms);
    c.probes.push({
      target: String(r.target), role: r.role as Role, ok: r.ok === true, loss: num(r.loss) ?? (r.ok === true ? 0 : 1),
      ...(rtt !== undefined ? { rtt_ms: rtt } : {}), ...(jitter !== undefined ? { jitter_ms: jitter } : {}),
    });
  }
  for (const r of sessions) cycleOf(String(r.station), ms(r.time))?.sessions.push({ name: String(r.session), up: r.up !== false, drops: num(r.drops) ?? 0 });
  for (const r of backlogs) {
    const pending = num(r.pending);
    const age = num(r.oldest_age_s);
    cycleOf(String(r.station), ms(r.time))?.backlog.push({ source: String(r.source), ...(pending !== undefined ? { pending } : {}), ...(age !== undefined ? { oldest_age_s: age } : {}) });
  }
  const sorted = new Map<string, Cycle[]>();
  for (const [station, byTs] of cycles) sorted.set(station, [...byTs.values()].sort((a, b) => a.ts - b.ts));
  return sorted;
}

const lateReports = (rows: Row[]): LateReport[] =>
  rows.map((r) => ({ station: String(r.station), ts: ms(r.time), delay_ms: num(r.delay_ms) ?? 0, depth: num(r.outbox_depth) ?? 0 }));
const previousHealth = (r: Row): PreviousHealth => ({ ts: ms(r.time), state: r.state as State, cause: r.cause as Cause, since: num(r.since) ?? ms(r.time) });
const isStatus = (r: Row) => r.state === 'online' || r.state === 'offline';

const HOUR = 3_600_000;
/** Health points of a station nobody heard: `silent`, or `pipeline` while no collector heard the broker. */
const UNHEARD = `("cause" = 'silent' OR "cause" = 'pipeline')`;

export class EvaluationStore {
  constructor(
    private readonly influx: Influx,
    private readonly defaultInterval_s: number,
  ) {}

  private query(q: string[]): Promise<Row[][]> {
    return this.influx.query(q, { precision: 'ms' }) as unknown as Promise<Row[][]>;
  }

  // The influx package answers one query with its rows, not a list of one.
  private queryOne(q: string): Promise<Row[]> {
    return this.influx.query(q, { precision: 'ms' }) as unknown as Promise<Row[]>;
  }

  /**
   * The query that reads cycles measured in `(from, to]` from the reports' `cycle` field (collector/cycle-field.ts),
   * of `stations` only when given. `interval_s`, which every report has, finds the reports written without it.
   */
  private cycleFieldQuery(from: number, to: number, stations?: readonly string[]): string {
    const where = `${stations ? `${stationFilter(stations)} AND ` : ''}time > ${from}ms AND time <= ${to}ms`;
    return `SELECT "cycle", "interval_s" FROM "report" WHERE ${where} GROUP BY "station"`;
  }

  /**
   * Cycles from the rows of `cycleFieldQuery`; the reports among them without a `cycle` field this reader knows (stored
   * before the upgrade, or by an older collector) are read from the four measurements instead, for their stations and
   * time span only.
   */
  private async cyclesOfFieldRows(rows: Row[], stations?: readonly string[]): Promise<Map<string, Cycle[]>> {
    const cycles = new Map<string, Cycle[]>();
    const lacking = new Map<string, { from: number; to: number }>();
    for (const r of rows) {
      const station = String(r.station);
      const ts = ms(r.time);
      const c = typeof r.cycle === 'string' ? decodeCycle(r.cycle, ts) : undefined;
      if (c) {
        let held = cycles.get(station);
        if (!held) cycles.set(station, (held = []));
        held.push(c);
        continue;
      }
      const span = lacking.get(station);
      if (span) span.to = Math.max(span.to, ts);
      else lacking.set(station, { from: ts, to: ts });
      cycles.get(station) ?? cycles.set(station, []);
    }
    if (lacking.size === 0) return cycles;
    const names = [...lacking.keys()];
    const from = Math.min(...[...lacking.values()].map((s) => s.from)) - 1;
    const to = Math.max(...[...lacking.values()].map((s) => s.to));
    const filter = names.length <= FILTER_MAX ? names : stations;
    const read = await this.measuredCycles(from, to, filter);
    for (const station of names) {
      const byTs = new Map(cycles.get(station)!.map((c) => [c.ts, c]));
      for (const c of read.get(station) ?? []) byTs.set(c.ts, c);
      if (byTs.size > 0) cycles.set(station, [...byTs.values()].sort((a, b) => a.ts - b.ts));
      else cycles.delete(station);
    }
    return cycles;
  }

  /** The four queries that read cycles measured in `(from, to]` from `report`, `probe`, `session` and `backlog`. */
  private cycleQueries(from: number, to: number, stations?: readonly string[]): string[] {
    const where = `${stations ? `${stationFilter(stations)} AND ` : ''}time > ${from}ms AND time <= ${to}ms`;
    return [
      `SELECT ${REPORT_FIELDS} FROM "report" WHERE ${where} GROUP BY "station"`,
      `SELECT ${PROBE_FIELDS} FROM "probe" WHERE ${where} GROUP BY "station", "role", "target"`,
      `SELECT "up", "drops" FROM "session" WHERE ${where} GROUP BY "station", "session"`,
      `SELECT "pending", "oldest_age_s" FROM "backlog" WHERE ${where} GROUP BY "station", "source"`,
    ];
  }

  private cyclesOf(rows: Row[][]): Map<string, Cycle[]> {
    return toCycles(rows[0]!, rows[1]!, rows[2]!, rows[3]!, this.defaultInterval_s);
  }

  /**
   * Everything an evaluation at `at` needs, read at once: the restart path. The look-back of cycles is read in
   * `slices` consecutive time slices, so the rows of only one slice are in memory at a time (at 3,400 stations the
   * whole look-back is about 440,000 rows).
   */
  async seed(at: number, lookbackMs: number, lateMs: number, slices = 1): Promise<Seed> {
    const [late, lastSeen, status, prevHealth, prevIncidents] = (await this.query([
      this.lateQuery(at - lookbackMs, at, lateMs),
      `SELECT last("interval_s") AS "interval_s" FROM "report" WHERE time > ${at - MONTH}ms AND time <= ${at}ms GROUP BY "station"`,
      `SELECT last("state") AS "state" FROM "status" WHERE time > ${at - MONTH}ms AND time <= ${at}ms GROUP BY "station"`,
      `SELECT "state", "cause", "since" FROM "health" WHERE time >= ${at - DAY}ms AND time < ${at}ms GROUP BY "station" ORDER BY time DESC LIMIT 1`,
      `SELECT "stations", "cause", "open", "since" FROM "incident" WHERE time >= ${at - DAY}ms AND time < ${at}ms GROUP BY "scope", "key" ORDER BY time DESC LIMIT 1`,
    ])) as [Row[], Row[], Row[], Row[], Row[]];
    const cycles = new Map<string, Cycle[]>();
    const step = Math.ceil(lookbackMs / Math.max(1, slices));
    for (let from = at - lookbackMs; from < at; from += step) {
      // Slices in time order, so each station's cycles stay oldest first.
      const rows = await this.queryOne(this.cycleFieldQuery(from, Math.min(from + step, at)));
      for (const [station, part] of await this.cyclesOfFieldRows(rows)) {
        const held = cycles.get(station);
        if (held) held.push(...part);
        else cycles.set(station, part);
      }
    }
    return {
      late: lateReports(late),
      cycles,
      lastSeen: new Map(lastSeen.map((r) => [String(r.station), { ts: ms(r.time), interval_s: num(r.interval_s) ?? this.defaultInterval_s }])),
      status: new Map(status.filter(isStatus).map((r) => [String(r.station), { state: r.state as StatusSeen['state'], ts: ms(r.time) }])),
      prevHealth: new Map(prevHealth.map((r): [string, PreviousHealth] => [String(r.station), previousHealth(r)])),
      prevIncidents: prevIncidents.map((r): Incident => ({
        scope: r.scope as Scope, key: String(r.key), cause: r.cause as Cause, stations: num(r.stations) ?? 0, open: r.open === true, since: num(r.since) ?? ms(r.time), members: [],
      })),
    };
  }

  /**
   * What is new since the last read: cycles and status messages stamped in `(from, to]`, and every report in
   * `(lateFrom, to]` stored more than `lateMs` after it was measured or sent with an outbox backlog (so possibly
   * missed by an earlier read, or a sign of a station backfilling).
   */
  async recent(from: number, to: number, lateFrom: number, lateMs: number): Promise<{ cycles: Map<string, Cycle[]>; statuses: Array<StatusSeen & { station: string }>; late: LateReport[] }> {
    const [cycles, statuses, late] = (await this.query([
      this.cycleFieldQuery(from, to),
      `SELECT "state" FROM "status" WHERE time > ${from}ms AND time <= ${to}ms GROUP BY "station"`,
      this.lateQuery(lateFrom, to, lateMs),
    ])) as [Row[], Row[], Row[]];
    return {
      cycles: await this.cyclesOfFieldRows(cycles),
      statuses: statuses.filter(isStatus).map((r) => ({ station: String(r.station), state: r.state as StatusSeen['state'], ts: ms(r.time) })),
      late: lateReports(late),
    };
  }

  private lateQuery(from: number, to: number, lateMs: number): string {
    return `SELECT "delay_ms", "outbox_depth" FROM "report" WHERE ("delay_ms" > ${lateMs} OR "outbox_depth" > 1) AND time > ${from}ms AND time <= ${to}ms GROUP BY "station"`;
  }

  /**
   * The cycles measured in `(from, to]` (of `stations` only when given) read from the four measurements, as before the
   * `cycle` field: for reports written without it, and the reference the field is tested against.
   */
  async measuredCycles(from: number, to: number, stations?: readonly string[]): Promise<Map<string, Cycle[]>> {
    return this.cyclesOf(await this.query(this.cycleQueries(from, to, stations)));
  }

  /** The cycles of `stations` measured in `(from, to]` (a station whose late reports an earlier read missed). */
  async cycles(stations: readonly string[], from: number, to: number): Promise<Map<string, Cycle[]>> {
    return this.cyclesOfFieldRows(await this.queryOne(this.cycleFieldQuery(from, to, stations)), stations);
  }

  /** The newest `collector` point of each collector seen in the hour before `at` (collector/verdict/pipeline.ts). */
  async collectors(at: number): Promise<CollectorPoint[]> {
    const rows = (await this.influx.query(
      `SELECT "connected", "deaf" FROM "collector" WHERE time > ${at - HOUR}ms AND time <= ${at}ms GROUP BY "collector" ORDER BY time DESC LIMIT 1`,
      { precision: 'ms' },
    )) as unknown as Row[];
    return rows.map((r) => ({ collector: String(r.collector), ts: ms(r.time), connected: num(r.connected), deaf: num(r.deaf) }));
  }

  async write(points: IPoint[]): Promise<void> {
    if (points.length > 0) await this.influx.writePoints(points, { precision: 'ms' });
  }

  /**
   * Per station and chunk of `chunkMs` in `(from, to]`: reports stored more than `lateMs` late, and `silent` health
   * points (of `stations` only when given).
   */
  async revisionChunks(from: number, to: number, lateMs: number, chunkMs: number, stations?: readonly string[]): Promise<{ late: Map<string, Map<number, number>>; silent: Map<string, Map<number, number>> }> {
    const filter = stations ? `${stationFilter(stations)} AND ` : '';
    const range = `time > ${from}ms AND time <= ${to}ms`;
    const [lateRows, silentRows] = await this.query([
      `SELECT count("seq") AS "n" FROM "report" WHERE ${filter}"delay_ms" > ${lateMs} AND ${range} GROUP BY "station", time(${chunkMs}ms) fill(none)`,
      `SELECT count("code") AS "n" FROM "health" WHERE ${filter}${UNHEARD} AND ${range} GROUP BY "station", time(${chunkMs}ms) fill(none)`,
    ]);
    const chunks = (rows: Row[]) => {
      const m = new Map<string, Map<number, number>>();
      for (const r of rows) {
        const s = String(r.station);
        if (!m.has(s)) m.set(s, new Map());
        m.get(s)!.set(ms(r.time), num(r.n) ?? 0);
      }
      return m;
    };
    return { late: chunks(lateRows!), silent: chunks(silentRows!) };
  }

  /** One station's silent points in `[from, to)` and the measurement times of its reports in `[reportsFrom, to)`. */
  async silentAndReports(station: string, from: number, reportsFrom: number, to: number): Promise<{ silent: Array<{ ts: number; last_seen?: number }>; reports: number[] }> {
    const st = `"station" = ${literal(station)}`;
    const [points, reports] = await this.query([
      `SELECT "last_seen" FROM "health" WHERE ${st} AND ${UNHEARD} AND time >= ${from}ms AND time < ${to}ms`,
      `SELECT "seq" FROM "report" WHERE ${st} AND time >= ${reportsFrom}ms AND time < ${to}ms`,
    ]);
    return {
      silent: points!.map((p) => ({ ts: ms(p.time), ...(num(p.last_seen) !== undefined ? { last_seen: num(p.last_seen)! } : {}) })),
      reports: reports!.map((r) => ms(r.time)),
    };
  }

  /** Everything a replay of one station's `[start, end]` needs, with reports over `lookbackMs` before `start`. */
  async stationSpan(station: string, start: number, end: number, lookbackMs: number): Promise<StationSpan> {
    const st = `"station" = ${literal(station)}`;
    const rows = await this.query([
      ...this.cycleQueries(start - lookbackMs, end, [station]),
      `SELECT last("interval_s") AS "interval_s" FROM "report" WHERE ${st} AND time > ${start - MONTH}ms AND time <= ${start - lookbackMs}ms`,
      `SELECT last("state") AS "state" FROM "status" WHERE ${st} AND time > ${start - MONTH}ms AND time <= ${start}ms`,
      `SELECT "state" FROM "status" WHERE ${st} AND time > ${start}ms AND time <= ${end}ms`,
      `SELECT "state", "cause", "since" FROM "health" WHERE ${st} AND time >= ${start - DAY}ms AND time < ${start}ms ORDER BY time DESC LIMIT 1`,
      `SELECT "state", "cause", "since", "last_seen", "outage_start" FROM "health" WHERE ${st} AND time >= ${start}ms AND time <= ${end}ms`,
    ]);
    const [before, statusBefore, statuses, prev, stored] = rows.slice(4) as [Row[], Row[], Row[], Row[], Row[]];
    const storedPoints = new Map<number, StoredHealth>();
    for (const r of stored) {
      const lastSeen = num(r.last_seen);
      storedPoints.set(ms(r.time), {
        ts: ms(r.time), state: r.state as State, cause: r.cause as Cause, since: num(r.since) ?? ms(r.time),
        ...(lastSeen !== undefined ? { last_seen: lastSeen } : {}), outage_start: num(r.outage_start) === 1,
      });
    }
    const b = before[0];
    return {
      cycles: this.cyclesOf(rows).get(station) ?? [],
      ...(b ? { before: { ts: ms(b.time), interval_s: num(b.interval_s) ?? this.defaultInterval_s } } : {}),
      statuses: [...statusBefore, ...statuses].filter(isStatus).map((r) => ({ state: r.state as StatusSeen['state'], ts: ms(r.time) })),
      ...(prev[0] ? { prev: previousHealth(prev[0]) } : {}),
      stored: storedPoints,
    };
  }

  /** Deletes one station's health points at `times` (before they are written again; see `needsDelete`). */
  async deleteHealth(station: string, times: readonly number[]): Promise<void> {
    if (times.length === 0) return;
    const st = `"station" = ${literal(station)}`;
    await this.influx.queryRaw(times.map((t) => `DELETE FROM "health" WHERE ${st} AND time >= ${t}ms AND time <= ${t}ms`), { method: 'POST' });
  }
}
