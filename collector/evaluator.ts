/**
 * The evaluator: every period it reads the recent reports back from InfluxDB (InfluxQL), computes each station's
 * verdict with the pure functions of verdict/, and writes `health` and `incident` points at the period-aligned time.
 * It holds no state between runs that matters: the hysteresis is re-derived from the last health points and the
 * reports, so two evaluators, or one restarted, write identical points.
 */
import type { InfluxDB, IPoint } from 'influx';
import { z } from 'zod';
import { durationMs } from '../lib/config-file.js';
import type { Logger } from '../lib/log.js';
import type { Role } from '../protocol/report.js';
import { MaintenanceFile, openWindow, type MaintenanceWindow } from './maintenance.js';
import type { Station } from './registry.js';
import { verdictFor } from './verdict/decide.js';
import { candidateChunks, firstStaleSilent, needsDelete, replayVerdicts, revisionsOf, summarizeRevisions, type StoredHealth } from './verdict/revise.js';
import { groupIncidents, type Incident, type PlacedVerdict, type Scope } from './verdict/incidents.js';
import { alignTime, healthPoint, incidentPoint, VERDICT_SCHEMA } from './verdict/points.js';
import { rulesOf, thresholdsFor, type VerdictsConfig } from './verdict/rules.js';
import type { Cause, Cycle, PreviousHealth, State } from './verdict/types.js';

/** `evaluator:` in the collector config. */
export const evaluatorConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** How often verdicts are computed; also the spacing of health points. Set it to the agents' interval. */
  period: durationMs.prefault('10s'),
  /** How long after a period ends it is evaluated, so reports measured just before the boundary are stored. */
  settle: durationMs.prefault('2s'),
  /** How far back reports are read; default: enough cycles for every rule, twice over. */
  lookback: durationMs.optional(),
  /**
   * How far back health points are revised when backfilled reports show what a `silent` span really was
   * (docs/verdicts.md, "Revising the past"). `0s` turns revision off.
   */
  revise_window: durationMs.prefault('48h'),
  /** At most this many past periods are re-evaluated per evaluation; the rest continue at the next one. */
  revise_max_periods: z.number().int().min(1).max(1_000_000).default(2880),
  /**
   * InfluxDB credentials of the evaluator (it reads reports and writes verdicts); default: `influx.username` and
   * `influx.password_file`. Give it its own user when the collector's is write-only (docs/security.md).
   */
  username: z.string().min(1).optional(),
  password_file: z.string().min(1).optional(),
});
export type EvaluatorConfig = z.output<typeof evaluatorConfigSchema>;

export interface EvaluatorDeps {
  influx: InfluxDB;
  /** The database the client writes to (its schema is registered for it). */
  database: string;
  log: Logger;
  now: () => number;
  registry: () => ReadonlyMap<string, Station>;
  evaluator: EvaluatorConfig;
  verdicts: VerdictsConfig;
  /** Called after each evaluation was written (the demo prints it). */
  onEvaluated?: (e: Evaluation) => void;
  /** The SLA rollups (collector/sla/rollup-job.ts): rolled after each evaluation and after each revision. */
  rollups?: { afterEvaluation(at: number): Promise<void>; afterRevision(station: Station, from: number, to: number): Promise<void> };
}

/** The outcome of one evaluation. */
export interface Evaluation {
  at: number;
  verdicts: Array<PlacedVerdict & { name: string; commune: string }>;
  incidents: Incident[];
}

export interface EvaluatorStats {
  evaluations: number;
  failures: number;
  last_ms: number;
  /** Station spans whose health points were revised after backfilled reports arrived. */
  revisions: number;
  /** Health points rewritten by those revisions. */
  revised_points: number;
  /** Revisions that failed (retried at the next evaluation; the live verdict is written regardless). */
  revision_failures: number;
}

const DAY = 86_400_000;
const MONTH = 30 * DAY;
/** Revision looks for late reports and silent points in chunks of this size before reading any point. */
const CHUNK = 3_600_000;
/** Every station is checked for revision this often (and at the first evaluation); in between, only stations whose
 * recent reports show a backlog or arrived late. */
const SWEEP = 3_600_000;

type Row = Record<string, unknown> & { time: Date };
const ms = (t: Date) => t.getTime();
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const iso = (t: number) => new Date(t).toISOString();

/** Turns report, probe, session and backlog rows (grouped by station) into each station's cycles, oldest first. */
function toCycles(reports: Row[], probes: Row[], sessions: Row[], backlogs: Row[], defaultInterval_s: number): Map<string, Cycle[]> {
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

const previousHealth = (r: Row): PreviousHealth => ({ ts: ms(r.time), state: r.state as State, cause: r.cause as Cause, since: num(r.since) ?? ms(r.time) });

export class Evaluator {
  readonly stats: EvaluatorStats = { evaluations: 0, failures: 0, last_ms: 0, revisions: 0, revised_points: 0, revision_failures: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private readonly maintenance: MaintenanceFile | undefined;
  /** Optimisations only, rebuilt after a restart: chunks already found consistent, and capped revisions to continue. */
  private readonly cleanChunks = new Map<string, { start: number; signature: string }>();
  private readonly resume = new Map<string, number>();
  private nextSweep: number | undefined;

  constructor(private readonly deps: EvaluatorDeps) {
    for (const s of VERDICT_SCHEMA) deps.influx.addSchema({ ...s, database: deps.database });
    this.maintenance = deps.verdicts.maintenance ? new MaintenanceFile(deps.verdicts.maintenance, deps.log) : undefined;
  }

  get periodMs(): number {
    return this.deps.evaluator.period;
  }

  /** Look-back of report reads. */
  get lookbackMs(): number {
    const v = this.deps.verdicts;
    const growth = Math.max(0, ...Object.values(v.classes).map((c) => c.backlog_growth_reports ?? 0), 6);
    const cycles = Math.max(v.raise, v.clear, v.flap_window, growth + 1) + 2;
    return this.deps.evaluator.lookback ?? cycles * this.periodMs * 2;
  }

  /** The aligned time an evaluation at wall time `now` is stamped with. */
  alignedAt(now: number): number {
    return alignTime(now - this.deps.evaluator.settle, this.periodMs);
  }

  /** Evaluates the period that ended before `now` (minus the settle time) and writes its points. */
  async evaluate(now: number = this.deps.now()): Promise<Evaluation> {
    const started = Date.now();
    const at = this.alignedAt(now);
    const registry = this.deps.registry();
    const windows = this.maintenance?.current() ?? [];
    if (this.deps.evaluator.revise_window > 0) {
      try {
        await this.revise(at, registry, windows);
      } catch (err) {
        this.stats.revision_failures++;
        // The health points stay as they were; the next evaluation finds the same late reports and tries again.
        this.deps.log.warn({ err: (err as Error).message }, 'revision failed; retrying next period');
      }
    }
    const data = await this.read(at);
    const rules = rulesOf(this.deps.verdicts);
    const verdicts: Evaluation['verdicts'] = [];
    for (const s of registry.values()) {
      const window = openWindow(windows, s, at);
      const last = data.lastSeen.get(s.id);
      const status = data.status.get(s.id);
      const prev = data.prevHealth.get(s.id);
      const v = verdictFor(
        {
          station: s.id,
          at,
          cycles: data.cycles.get(s.id) ?? [],
          ...(last ? { last_seen: last.ts, last_interval_s: last.interval_s } : {}),
          ...(status ? { status } : {}),
          ...(window ? { maintenance: { start: window.start } } : {}),
          ...(prev ? { prev } : {}),
        },
        thresholdsFor(this.deps.verdicts, s.sla_class),
        rules,
      );
      verdicts.push({ ...v, district: s.district, isp: s.isp, province: s.province, name: s.name, commune: s.commune });
    }
    const incidents = groupIncidents(verdicts, rules.incident_min_stations, data.prevIncidents);
    const points: IPoint[] = [];
    for (const v of verdicts) points.push(healthPoint(v, registry.get(v.station)!, at));
    for (const i of incidents) points.push(incidentPoint(i, at));
    if (points.length > 0) await this.deps.influx.writePoints(points, { precision: 'ms' });
    await this.deps.rollups?.afterEvaluation(at);
    this.stats.evaluations++;
    this.stats.last_ms = Date.now() - started;
    const evaluation = { at, verdicts, incidents };
    this.deps.onEvaluated?.(evaluation);
    return evaluation;
  }

  /**
   * Revises the health points that backfilled reports contradict (docs/verdicts.md, "Revising the past"), from the
   * oldest one through the period before `at`, at most `revise_max_periods` periods per evaluation.
   */
  private async revise(at: number, registry: ReadonlyMap<string, Station>, windows: readonly MaintenanceWindow[]): Promise<void> {
    const { period, settle, revise_window, revise_max_periods } = { ...this.deps.evaluator, period: this.periodMs };
    const from = at - revise_window;
    const last = at - period;
    if (last <= from) return;
    for (const [key, chunk] of this.cleanChunks) if (chunk.start < from - CHUNK) this.cleanChunks.delete(key);
    for (const [station, t] of this.resume) if (t <= from || !registry.has(station)) this.resume.delete(station);

    // Which stations to look at: all of them now and then, otherwise those whose recent reports show a backlog
    // being drained or arrived late (a reconnected agent backfilling), and those a capped revision left unfinished.
    let only: string[] | undefined;
    if (this.nextSweep === undefined || at >= this.nextSweep) {
      this.nextSweep = at + SWEEP;
    } else {
      const recent = (await this.deps.influx.query(
        `SELECT max("outbox_depth") AS "depth", max("delay_ms") AS "delay" FROM "report" WHERE time > ${at - this.lookbackMs}ms AND time <= ${at}ms GROUP BY "station"`,
        { precision: 'ms' },
      )) as unknown as Row[];
      const busy = recent.filter((r) => (num(r.depth) ?? 0) > 1 || (num(r.delay) ?? 0) > settle).map((r) => String(r.station));
      only = [...new Set([...busy, ...this.resume.keys()])].filter((s) => registry.has(s));
      if (only.length === 0) return;
    }
    const filter = only ? `(${only.map((s) => `"station" = ${quote(s)}`).join(' OR ')}) AND ` : '';
    const range = `time > ${from}ms AND time <= ${last}ms`;
    const [lateRows, silentRows] = (await this.deps.influx.query(
      [
        `SELECT count("seq") AS "n" FROM "report" WHERE ${filter}"delay_ms" > ${settle} AND ${range} GROUP BY "station", time(${CHUNK}ms) fill(none)`,
        `SELECT count("code") AS "n" FROM "health" WHERE ${filter}"cause" = 'silent' AND ${range} GROUP BY "station", time(${CHUNK}ms) fill(none)`,
      ],
      { precision: 'ms' },
    )) as unknown as Row[][];
    const chunks = (rows: Row[]) => {
      const m = new Map<string, Map<number, number>>();
      for (const r of rows) {
        const s = String(r.station);
        if (!m.has(s)) m.set(s, new Map());
        m.get(s)!.set(ms(r.time), num(r.n) ?? 0);
      }
      return m;
    };
    const late = chunks(lateRows!);
    const silent = chunks(silentRows!);

    // Where each station's revision starts: its oldest silent point contradicted by a report now stored.
    const starts = new Map<string, number>();
    for (const [station, lateChunks] of late) {
      const silentChunks = silent.get(station);
      if (!silentChunks || !registry.has(station)) continue;
      for (const c of candidateChunks(new Set(lateChunks.keys()), new Set(silentChunks.keys()), CHUNK)) {
        const key = `${station}@${c}`;
        const signature = `${lateChunks.get(c)}/${silentChunks.get(c) ?? 0}/${silentChunks.get(c + CHUNK) ?? 0}`;
        if (this.cleanChunks.get(key)?.signature === signature) continue;
        const end = Math.min(c + 2 * CHUNK, at);
        const [points, reports] = (await this.deps.influx.query(
          [
            `SELECT "last_seen" FROM "health" WHERE "station" = ${quote(station)} AND "cause" = 'silent' AND time >= ${Math.max(c, from + 1)}ms AND time < ${end}ms`,
            `SELECT "seq" FROM "report" WHERE "station" = ${quote(station)} AND time >= ${c}ms AND time < ${end}ms`,
          ],
          { precision: 'ms' },
        )) as unknown as Row[][];
        const stale = firstStaleSilent(
          points!.map((p) => ({ ts: ms(p.time), ...(num(p.last_seen) !== undefined ? { last_seen: num(p.last_seen)! } : {}) })),
          reports!.map((r) => ms(r.time)),
        );
        if (stale !== undefined) {
          starts.set(station, stale);
          break;
        }
        this.cleanChunks.set(key, { start: c, signature });
      }
    }
    for (const [station, t] of this.resume) if (!only || only.includes(station)) starts.set(station, Math.min(t, starts.get(station) ?? t));
    this.deps.log.debug({ stations: only?.length ?? registry.size, late: late.size, silent: silent.size, starts: Object.fromEntries([...starts].map(([k, t]) => [k, iso(t)])) }, 'revision check');

    let budget = revise_max_periods;
    for (const [station, start] of [...starts].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))) {
      if (budget <= 0) break;
      const s = registry.get(station)!;
      const periods = Math.floor((last - start) / period) + 1;
      const end = periods > budget ? start + (budget - 1) * period : last;
      budget -= Math.min(periods, budget);
      if (end < last) this.resume.set(station, end + period);
      else this.resume.delete(station);
      await this.reviseStation(s, start, end, windows);
    }
  }

  /** Replays one station's verdicts for the health points in `[start, end]` and rewrites those that differ. */
  private async reviseStation(s: Station, start: number, end: number, windows: readonly MaintenanceWindow[]): Promise<void> {
    const lookback = this.lookbackMs;
    const st = `"station" = ${quote(s.id)}`;
    const span = `${st} AND time > ${start - lookback}ms AND time <= ${end}ms`;
    const [reports, probes, sessions, backlogs, before, statusBefore, statuses, prev, stored] = (await this.deps.influx.query(
      [
        `SELECT "interval_s", "clock_offset_ms" FROM "report" WHERE ${span} GROUP BY "station"`,
        `SELECT "ok", "loss", "rtt_avg_ms", "jitter_ms" FROM "probe" WHERE ${span} GROUP BY "station", "role", "target"`,
        `SELECT "up", "drops" FROM "session" WHERE ${span} GROUP BY "station", "session"`,
        `SELECT "pending", "oldest_age_s" FROM "backlog" WHERE ${span} GROUP BY "station", "source"`,
        `SELECT last("interval_s") AS "interval_s" FROM "report" WHERE ${st} AND time > ${start - MONTH}ms AND time <= ${start - lookback}ms`,
        `SELECT last("state") AS "state" FROM "status" WHERE ${st} AND time > ${start - MONTH}ms AND time <= ${start}ms`,
        `SELECT "state" FROM "status" WHERE ${st} AND time > ${start}ms AND time <= ${end}ms`,
        `SELECT "state", "cause", "since" FROM "health" WHERE ${st} AND time >= ${start - DAY}ms AND time < ${start}ms ORDER BY time DESC LIMIT 1`,
        `SELECT "state", "cause", "since", "last_seen", "outage_start" FROM "health" WHERE ${st} AND time >= ${start}ms AND time <= ${end}ms`,
      ],
      { precision: 'ms' },
    )) as unknown as Row[][];
    const storedPoints = new Map<number, StoredHealth>();
    for (const r of stored!) {
      const lastSeen = num(r.last_seen);
      storedPoints.set(ms(r.time), {
        ts: ms(r.time), state: r.state as State, cause: r.cause as Cause, since: num(r.since) ?? ms(r.time),
        ...(lastSeen !== undefined ? { last_seen: lastSeen } : {}), outage_start: num(r.outage_start) === 1,
      });
    }
    const isStatus = (r: Row) => r.state === 'online' || r.state === 'offline';
    const b = before![0];
    const replayed = replayVerdicts(
      {
        station: s.id,
        periods: [...storedPoints.keys()].sort((x, y) => x - y),
        lookbackMs: lookback,
        cycles: toCycles(reports!, probes!, sessions!, backlogs!, this.periodMs / 1000).get(s.id) ?? [],
        ...(b ? { before: { ts: ms(b.time), interval_s: num(b.interval_s) ?? this.periodMs / 1000 } } : {}),
        statuses: [...statusBefore!, ...statuses!].filter(isStatus).map((r) => ({ state: r.state as 'online' | 'offline', ts: ms(r.time) })),
        maintenance: (t) => {
          const w = openWindow(windows, s, t);
          return w ? { start: w.start } : undefined;
        },
        ...(prev![0] ? { prev: previousHealth(prev![0]) } : {}),
      },
      thresholdsFor(this.deps.verdicts, s.sla_class),
      rulesOf(this.deps.verdicts),
    );
    const revisions = revisionsOf(replayed, storedPoints);
    if (revisions.length === 0) return;
    const deletes = revisions.filter(needsDelete).map((r) => `DELETE FROM "health" WHERE ${st} AND time >= ${r.at}ms AND time <= ${r.at}ms`);
    if (deletes.length > 0) await this.deps.influx.queryRaw(deletes, { method: 'POST' });
    await this.deps.influx.writePoints(revisions.map((r) => healthPoint(r.verdict, s, r.at)), { precision: 'ms' });
    this.stats.revisions++;
    this.stats.revised_points += revisions.length;
    const summary = summarizeRevisions(revisions);
    this.deps.log.info({ station: s.id, from: iso(summary.from), to: iso(summary.to), points: summary.points, changes: summary.changes }, 'health revised');
    await this.deps.rollups?.afterRevision(s, summary.from, summary.to);
  }

  private async read(at: number) {
    const from = at - this.lookbackMs;
    const window = `time > ${from}ms AND time <= ${at}ms`;
    const [reports, probes, sessions, backlogs, lastSeen, status, prevHealth, prevIncidents] = (await this.deps.influx.query(
      [
        `SELECT "interval_s", "clock_offset_ms" FROM "report" WHERE ${window} GROUP BY "station"`,
        `SELECT "ok", "loss", "rtt_avg_ms", "jitter_ms" FROM "probe" WHERE ${window} GROUP BY "station", "role", "target"`,
        `SELECT "up", "drops" FROM "session" WHERE ${window} GROUP BY "station", "session"`,
        `SELECT "pending", "oldest_age_s" FROM "backlog" WHERE ${window} GROUP BY "station", "source"`,
        `SELECT last("interval_s") AS "interval_s" FROM "report" WHERE time > ${at - MONTH}ms AND time <= ${at}ms GROUP BY "station"`,
        `SELECT last("state") AS "state" FROM "status" WHERE time > ${at - MONTH}ms AND time <= ${at}ms GROUP BY "station"`,
        `SELECT "state", "cause", "since" FROM "health" WHERE time >= ${at - DAY}ms AND time < ${at}ms GROUP BY "station" ORDER BY time DESC LIMIT 1`,
        `SELECT "stations", "cause", "open", "since" FROM "incident" WHERE time >= ${at - DAY}ms AND time < ${at}ms GROUP BY "scope", "key" ORDER BY time DESC LIMIT 1`,
      ],
      { precision: 'ms' },
    )) as unknown as Row[][];

    return {
      cycles: toCycles(reports!, probes!, sessions!, backlogs!, this.periodMs / 1000),
      lastSeen: new Map(lastSeen!.map((r) => [String(r.station), { ts: ms(r.time), interval_s: num(r.interval_s) ?? this.periodMs / 1000 }])),
      status: new Map(status!.filter((r) => r.state === 'online' || r.state === 'offline').map((r) => [String(r.station), { state: r.state as 'online' | 'offline', ts: ms(r.time) }])),
      prevHealth: new Map(prevHealth!.map((r): [string, PreviousHealth] => [String(r.station), previousHealth(r)])),
      prevIncidents: prevIncidents!.map((r): Incident => ({
        scope: r.scope as Scope, key: String(r.key), cause: r.cause as Cause, stations: num(r.stations) ?? 0, open: r.open === true, since: num(r.since) ?? ms(r.time), members: [],
      })),
    };
  }

  /** Evaluates every period, `settle` after each period boundary, until stopped. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
    this.deps.log.info({ period_ms: this.periodMs, lookback_ms: this.lookbackMs }, 'evaluator started');
  }

  private schedule() {
    if (this.stopped) return;
    const now = this.deps.now();
    const next = alignTime(now - this.deps.evaluator.settle, this.periodMs) + this.periodMs + this.deps.evaluator.settle;
    const delay = Math.min(Math.max(0, next - now), this.periodMs + this.deps.evaluator.settle);
    this.timer = setTimeout(() => {
      this.running = this.evaluate()
        .catch((err) => {
          this.stats.failures++;
          // Nothing is lost: the next period re-reads the data and derives the same hysteresis.
          this.deps.log.warn({ err: (err as Error).message }, 'evaluation failed; retrying next period');
        })
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
