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
import { MaintenanceFile, openWindow } from './maintenance.js';
import type { Station } from './registry.js';
import { verdictFor } from './verdict/decide.js';
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
}

const DAY = 86_400_000;
const MONTH = 30 * DAY;

type Row = Record<string, unknown> & { time: Date };
const ms = (t: Date) => t.getTime();
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export class Evaluator {
  readonly stats: EvaluatorStats = { evaluations: 0, failures: 0, last_ms: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private readonly maintenance: MaintenanceFile | undefined;

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
    const data = await this.read(at);
    const windows = this.maintenance?.current() ?? [];
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
    this.stats.evaluations++;
    this.stats.last_ms = Date.now() - started;
    const evaluation = { at, verdicts, incidents };
    this.deps.onEvaluated?.(evaluation);
    return evaluation;
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

    const cycles = new Map<string, Map<number, Cycle>>();
    const cycleOf = (station: string, ts: number): Cycle | undefined => cycles.get(station)?.get(ts);
    for (const r of reports!) {
      const station = String(r.station);
      let byTs = cycles.get(station);
      if (!byTs) cycles.set(station, (byTs = new Map()));
      const c: Cycle = { ts: ms(r.time), interval_s: num(r.interval_s) ?? this.periodMs / 1000, probes: [], sessions: [], backlog: [] };
      const offset = num(r.clock_offset_ms);
      if (offset !== undefined) c.clock_offset_ms = offset;
      byTs.set(c.ts, c);
    }
    for (const r of probes!) {
      const c = cycleOf(String(r.station), ms(r.time));
      if (!c) continue;
      const rtt = num(r.rtt_avg_ms);
      const jitter = num(r.jitter_ms);
      c.probes.push({
        target: String(r.target), role: r.role as Role, ok: r.ok === true, loss: num(r.loss) ?? (r.ok === true ? 0 : 1),
        ...(rtt !== undefined ? { rtt_ms: rtt } : {}), ...(jitter !== undefined ? { jitter_ms: jitter } : {}),
      });
    }
    for (const r of sessions!) cycleOf(String(r.station), ms(r.time))?.sessions.push({ name: String(r.session), up: r.up !== false, drops: num(r.drops) ?? 0 });
    for (const r of backlogs!) {
      const pending = num(r.pending);
      const age = num(r.oldest_age_s);
      cycleOf(String(r.station), ms(r.time))?.backlog.push({ source: String(r.source), ...(pending !== undefined ? { pending } : {}), ...(age !== undefined ? { oldest_age_s: age } : {}) });
    }
    const sorted = new Map<string, Cycle[]>();
    for (const [station, byTs] of cycles) sorted.set(station, [...byTs.values()].sort((a, b) => a.ts - b.ts));

    return {
      cycles: sorted,
      lastSeen: new Map(lastSeen!.map((r) => [String(r.station), { ts: ms(r.time), interval_s: num(r.interval_s) ?? this.periodMs / 1000 }])),
      status: new Map(status!.filter((r) => r.state === 'online' || r.state === 'offline').map((r) => [String(r.station), { state: r.state as 'online' | 'offline', ts: ms(r.time) }])),
      prevHealth: new Map(prevHealth!.map((r): [string, PreviousHealth] => [String(r.station), { ts: ms(r.time), state: r.state as State, cause: r.cause as Cause, since: num(r.since) ?? ms(r.time) }])),
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
