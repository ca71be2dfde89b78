/**
 * The evaluator: every period it computes each station's verdict with the pure functions of verdict/ and writes
 * `health` and `incident` points at the period-aligned time. Its parts: `evaluation/store.ts` (every InfluxDB read and
 * write), `evaluation/state.ts` (what it keeps between periods, so each period reads only what is new),
 * `evaluation/scheduler.ts` (which period when: none twice, none left out) and `verdict/revise-plan.ts` (which past
 * points to revise). The state is what one full read would return, rebuilt by one read after a restart, so two
 * evaluators, or one restarted, write identical points.
 */
import type { IPoint } from 'influx';
import type { Influx } from './influx.js';
import { z } from 'zod';
import { durationMs } from '../lib/config-file.js';
import type { Logger } from '../lib/log.js';
import { EvaluationState } from './evaluation/state.js';
import { PeriodScheduler, type SchedulerClock } from './evaluation/scheduler.js';
import { EvaluationStore, type LateReport } from './evaluation/store.js';
import { MaintenanceFile, openWindow, type MaintenanceWindow } from './maintenance.js';
import type { Station } from './registry.js';
import { verdictFor } from './verdict/decide.js';
import { firstStaleSilent, needsDelete, replayVerdicts, revisionsOf, summarizeRevisions } from './verdict/revise.js';
import { chunksToCheck, planSpans, stationsToCheck } from './verdict/revise-plan.js';
import { groupIncidents, incidentScopesOf, type Incident, type PlacedVerdict } from './verdict/incidents.js';
import { pipelineState } from './verdict/pipeline.js';
import { alignTime, healthPoint, incidentPoint } from './verdict/points.js';
import { rulesOf, thresholdsFor, type VerdictsConfig } from './verdict/rules.js';

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
  influx: Influx;
  log: Logger;
  now: () => number;
  registry: () => ReadonlyMap<string, Station>;
  evaluator: EvaluatorConfig;
  verdicts: VerdictsConfig;
  /** Called after each evaluation was written (the demo prints it). */
  onEvaluated?: (e: Evaluation) => void;
  /** The scheduler's clock and timers (tests inject their own); default the real ones, with `now`. */
  clock?: SchedulerClock;
  /** How often collectors write their `collector` point; three missed ones mean they stopped (verdict/pipeline.ts). */
  collectorStatsMs?: number;
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
  /** Evaluations that rebuilt the state from one full look-back read (the first, and after a gap or a step back). */
  full_reads: number;
  /** Stations read again over the look-back because a report of theirs was stored after an earlier read. */
  rereads: number;
  /** Periods evaluated late, in order, after an evaluation overran the next boundary or failed. */
  caught_up: number;
  /** Periods given up after a stall of more than an hour of periods (none in normal running). */
  skipped_periods: number;
}

/** Revision looks for late reports and silent points in chunks of this size before reading any point. */
const CHUNK = 3_600_000;
/** Every station is checked for revision this often (and at the first evaluation); in between, only stations whose
 * recent reports show a backlog or arrived late. */
const SWEEP = 3_600_000;
/** After a stall, periods are caught up in order for at most this long; older ones are given up (and logged). */
const CATCH_UP = 3_600_000;
/**
 * A full read takes the look-back in one go: InfluxDB's cost is mostly per series read, so slicing it in time to hold
 * fewer rows at once made it several times slower (6 slices: 190 s instead of about 30 s at 3,400 stations, loaded box).
 */
const SEED_SLICES = 1;

const iso = (t: number) => new Date(t).toISOString();

export class Evaluator {
  readonly stats: EvaluatorStats = {
    evaluations: 0, failures: 0, last_ms: 0, revisions: 0, revised_points: 0, revision_failures: 0, full_reads: 0, rereads: 0, caught_up: 0, skipped_periods: 0,
  };
  private readonly store: EvaluationStore;
  private readonly scheduler: PeriodScheduler;
  private readonly maintenance: MaintenanceFile | undefined;
  /** Everything read so far, current to `state.at`; undefined until the first evaluation. */
  private state: EvaluationState | undefined;
  /** Optimisations only, rebuilt after a restart: chunks already found consistent, and capped revisions to continue. */
  private readonly cleanChunks = new Map<string, { start: number; signature: string }>();
  private readonly resume = new Map<string, number>();
  private nextSweep: number | undefined;

  constructor(private readonly deps: EvaluatorDeps) {
    this.store = new EvaluationStore(deps.influx, deps.evaluator.period / 1000);
    this.maintenance = deps.verdicts.maintenance ? new MaintenanceFile(deps.verdicts.maintenance, deps.log) : undefined;
    this.scheduler = new PeriodScheduler({
      periodMs: this.periodMs,
      settleMs: deps.evaluator.settle,
      maxCatchUp: Math.max(1, Math.ceil(CATCH_UP / this.periodMs)),
      run: (at) => this.runPeriod(at),
      onSkipped: (count, from, to) => {
        this.stats.skipped_periods += count;
        this.deps.log.error({ periods: count, from: iso(from), to: iso(to) }, 'evaluator stalled; periods given up');
      },
      clock: deps.clock ?? { now: deps.now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    });
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
  evaluate(now: number = this.deps.now()): Promise<Evaluation> {
    return this.evaluateAt(this.alignedAt(now));
  }

  private async evaluateAt(at: number): Promise<Evaluation> {
    const started = performance.now();
    const registry = this.deps.registry();
    const windows = this.maintenance?.current() ?? [];
    const recent = await this.refresh(at);
    if (this.deps.evaluator.revise_window > 0) {
      try {
        await this.revise(at, registry, windows, recent);
      } catch (err) {
        this.stats.revision_failures++;
        // The health points stay as they were; the next evaluation finds the same late reports and tries again.
        this.deps.log.warn({ err }, 'revision failed; retrying next period');
      }
    }
    const state = this.state!;
    const pipeline = pipelineState(await this.store.collectors(at), at, 3 * (this.deps.collectorStatsMs ?? 10_000) + this.deps.evaluator.settle);
    const rules = rulesOf(this.deps.verdicts);
    const verdicts: Evaluation['verdicts'] = [];
    for (const s of registry.values()) {
      const window = openWindow(windows, s, at);
      const last = state.lastSeen.get(s.id);
      const status = state.status.get(s.id);
      const prev = state.prevHealth.get(s.id);
      const v = verdictFor(
        {
          station: s.id,
          at,
          cycles: state.cycles.get(s.id) ?? [],
          ...(last ? { last_seen: last.ts, last_interval_s: last.interval_s } : {}),
          ...(status ? { status } : {}),
          ...(window ? { maintenance: { start: window.start } } : {}),
          ...(prev ? { prev } : {}),
        },
        thresholdsFor(this.deps.verdicts, s.sla_class),
        rules,
      );
      // Unheard while no collector hears the broker: the province's server is at fault, not the station.
      const cause = pipeline.ok === false && v.cause === 'silent' ? 'pipeline' : v.cause;
      verdicts.push({ ...v, cause, district: s.district, isp: s.isp, province: s.province, groups: s.groups ?? {}, name: s.name, commune: s.commune });
    }
    const incidents = groupIncidents(verdicts, rules.incident_min_stations, state.previousIncidents(), incidentScopesOf(this.deps.verdicts));
    const points: IPoint[] = [];
    for (const v of verdicts) points.push(healthPoint(v, registry.get(v.station)!, at));
    for (const i of incidents) points.push(incidentPoint(i, at));
    await this.store.write(points);
    state.remember(at, verdicts, incidents);
    await this.deps.rollups?.afterEvaluation(at);
    this.stats.evaluations++;
    this.stats.last_ms = Math.round(performance.now() - started);
    this.deps.log.debug({ at: iso(at), ms: this.stats.last_ms, stations: verdicts.length, incidents: incidents.length }, 'evaluation written');
    if (pipeline.ok === false) this.deps.log.error({ reason: pipeline.reason, at: iso(at) }, 'no collector hears the broker: stations are unheard, not down');
    const evaluation = { at, verdicts, incidents };
    this.deps.onEvaluated?.(evaluation);
    return evaluation;
  }

  /**
   * Brings the state up to `at`: one full look-back read the first time (and after a gap longer than the look-back,
   * or when asked for a period not after the last one), otherwise only the cycles and statuses stamped since the last
   * read (and `settle` before it, for reports stored just after it), plus, for a station with a report stored after an
   * earlier read missed it, its look-back read again. Returns the recent reports stored late or with a backlog.
   */
  private async refresh(at: number): Promise<LateReport[]> {
    const lookback = this.lookbackMs;
    const { settle } = this.deps.evaluator;
    const held = this.state;
    if (!held || at <= held.at || at - held.at >= lookback) {
      const seed = await this.store.seed(at, lookback, settle, SEED_SLICES);
      this.state = EvaluationState.fromSeed(at, seed);
      this.stats.full_reads++;
      return seed.late;
    }
    // Re-reading `settle` before the last read catches a report stored up to 2 × settle after it was measured; one stored
    // later still has `delay_ms` > settle and is found by the late-report check.
    const fresh = await this.store.recent(held.at - settle, at, at - lookback, settle);
    held.merge(fresh.cycles);
    for (const s of fresh.statuses) held.noteStatus(s.station, s);
    const missing = held.missing(fresh.late);
    if (missing.length > 0) {
      const reread = await this.store.cycles(missing, at - lookback, at);
      for (const station of missing) held.replace(station, at - lookback, reread.get(station) ?? []);
      this.stats.rereads += missing.length;
    }
    held.trim(at - lookback);
    held.at = at;
    return fresh.late;
  }

  /** One period for the scheduler: a failure is counted and logged, and the period stays due. */
  private async runPeriod(at: number): Promise<void> {
    if (at < this.alignedAt(this.deps.now())) this.stats.caught_up++;
    try {
      await this.evaluateAt(at);
    } catch (err) {
      this.stats.failures++;
      // Nothing is lost: the period is evaluated again, first, at the next boundary.
      this.deps.log.warn({ err, at: iso(at) }, 'evaluation failed; retrying next period');
      throw err;
    }
  }

  /**
   * Revises the health points that backfilled reports contradict (docs/verdicts.md, "Revising the past"), from the
   * oldest one through the period before `at`, at most `revise_max_periods` periods per evaluation.
   */
  private async revise(at: number, registry: ReadonlyMap<string, Station>, windows: readonly MaintenanceWindow[], recent: readonly LateReport[]): Promise<void> {
    const { settle, revise_window, revise_max_periods } = this.deps.evaluator;
    const period = this.periodMs;
    const from = at - revise_window;
    const last = at - period;
    if (last <= from) return;
    for (const [key, chunk] of this.cleanChunks) if (chunk.start < from - CHUNK) this.cleanChunks.delete(key);
    for (const [station, t] of this.resume) if (t <= from || !registry.has(station)) this.resume.delete(station);
    const known = (s: string) => registry.has(s);

    // Which stations to look at: all of them now and then, otherwise those whose recent reports show a backlog
    // being drained or arrived late (a reconnected agent backfilling), and those a capped revision left unfinished.
    let only: string[] | undefined;
    if (this.nextSweep === undefined || at >= this.nextSweep) {
      this.nextSweep = at + SWEEP;
    } else {
      only = stationsToCheck(recent, settle, this.resume.keys(), known);
      if (only.length === 0) return;
    }
    const { late, silent } = await this.store.revisionChunks(from, last, settle, CHUNK, only);

    // Where each station's revision starts: its oldest silent point contradicted by a report now stored.
    const starts = new Map<string, number>();
    for (const { station, chunks } of chunksToCheck(late, silent, this.cleanChunks, known, CHUNK)) {
      for (const c of chunks) {
        const end = Math.min(c.start + 2 * CHUNK, at);
        const { silent: points, reports } = await this.store.silentAndReports(station, Math.max(c.start, from + 1), c.start, end);
        const stale = firstStaleSilent(points, reports);
        if (stale !== undefined) {
          starts.set(station, stale);
          break;
        }
        this.cleanChunks.set(c.key, { start: c.start, signature: c.signature });
      }
    }
    this.deps.log.debug({ stations: only?.length ?? registry.size, late: late.size, silent: silent.size, starts: Object.fromEntries([...starts].map(([k, t]) => [k, iso(t)])) }, 'revision check');

    for (const span of planSpans(starts, this.resume, only, last, period, revise_max_periods)) {
      if (span.resumeAt !== undefined) this.resume.set(span.station, span.resumeAt);
      else this.resume.delete(span.station);
      await this.reviseStation(registry.get(span.station)!, span.start, span.end, last, windows);
    }
  }

  /** Replays one station's verdicts for the health points in `[start, end]` and rewrites those that differ. */
  private async reviseStation(s: Station, start: number, end: number, last: number, windows: readonly MaintenanceWindow[]): Promise<void> {
    const lookback = this.lookbackMs;
    const span = await this.store.stationSpan(s.id, start, end, lookback);
    const replayed = replayVerdicts(
      {
        station: s.id,
        periods: [...span.stored.keys()].sort((x, y) => x - y),
        lookbackMs: lookback,
        cycles: span.cycles,
        ...(span.before ? { before: span.before } : {}),
        statuses: span.statuses,
        maintenance: (t) => {
          const w = openWindow(windows, s, t);
          return w ? { start: w.start } : undefined;
        },
        ...(span.prev ? { prev: span.prev } : {}),
      },
      thresholdsFor(this.deps.verdicts, s.sla_class),
      rulesOf(this.deps.verdicts),
    );
    const revisions = revisionsOf(replayed, span.stored);
    if (revisions.length === 0) return;
    await this.store.deleteHealth(s.id, revisions.filter(needsDelete).map((r) => r.at));
    await this.store.write(revisions.map((r) => healthPoint(r.verdict, s, r.at)));
    // The live verdict that follows is seeded by the revised point, as a full read would find it.
    const newest = replayed[replayed.length - 1];
    if (newest && newest.at === last) {
      const v = newest.verdict;
      this.state?.prevHealth.set(s.id, { ts: last, state: v.state, cause: v.cause, since: v.since });
    }
    this.stats.revisions++;
    this.stats.revised_points += revisions.length;
    const summary = summarizeRevisions(revisions);
    this.deps.log.info({ station: s.id, from: iso(summary.from), to: iso(summary.to), points: summary.points, changes: summary.changes }, 'health revised');
    await this.deps.rollups?.afterRevision(s, summary.from, summary.to);
  }

  /** Evaluates every period, `settle` after each period boundary, until stopped. */
  start(): void {
    this.scheduler.start();
    this.deps.log.info({ period_ms: this.periodMs, lookback_ms: this.lookbackMs }, 'evaluator started');
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
  }
}
