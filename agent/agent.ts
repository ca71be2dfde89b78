import type { Logger } from '../lib/log.js';
import type { BacklogSample, HostSample, ProbeSample, Report, SessionSample } from '../protocol/report.js';
import type { AgentConfig } from './config.js';
import type { Outbox } from './outbox.js';
import { PROBES, type Target } from './probes/index.js';
import type { Uplink } from './uplink.js';
import { AGENT_VERSION } from './version.js';

/** Sources of a report's non-probe parts; each resolves whatever happens (a failing source reports an error). */
export interface ReportSources {
  sessions?: () => SessionSample[];
  backlog?: (signal: AbortSignal) => Promise<BacklogSample[]>;
  host?: () => Promise<HostSample>;
  clockOffsetMs?: () => number | undefined;
}

export interface AgentDeps {
  log: Logger;
  now: () => number;
  outbox: Outbox;
  /** Absent in `--once` mode, where nothing is sent. */
  uplink?: Uplink;
  sources?: ReportSources;
  random?: () => number;
}

/** Below this, a measured clock offset is noise of the estimate (agent/clock.ts), not a wrong clock. */
export const CLOCK_CORRECTION_MS = 2000;

/**
 * The measurement time to stamp: the station's clock, or, when that clock is known to be off by more than
 * CLOCK_CORRECTION_MS, the collector's time. A PC with a wrong clock (a dead CMOS battery, a bad time zone) would
 * otherwise file its reports hours away from when they were measured, or have them refused as stale; the report still
 * carries the raw offset (`clock.offset_ms`), so the station is judged `clock`. Pure.
 */
export function stampTime(localNow: number, offsetMs: number | undefined): number {
  return offsetMs !== undefined && Math.abs(offsetMs) >= CLOCK_CORRECTION_MS ? localNow - offsetMs : localNow;
}

/** Default per-attempt timeout: a probe must finish well inside its interval. */
export function attemptTimeoutMs(intervalMs: number): number {
  return Math.min(3000, Math.max(200, Math.floor(intervalMs / 4)));
}

/** Runs one probe with a deadline; a throw (a bug) still yields a failed sample instead of a lost cycle. */
export async function runTarget(target: Target, intervalMs: number, signal: AbortSignal, log: Logger): Promise<ProbeSample> {
  const def = PROBES[target.kind];
  const identity = { target: target.name, role: target.role, kind: target.kind };
  try {
    if (!def) throw new Error(`no probe for kind ${target.kind}`);
    const result = await def.run(target, { signal, log: log.child({ target: target.name }), timeoutMs: target.timeout ?? attemptTimeoutMs(intervalMs) });
    return { ...identity, ...result };
  } catch (err) {
    log.error({ err, target: target.name }, 'probe threw');
    return { ...identity, ok: false, sent: 0, received: 0, loss: 1, error: 'error', detail: String((err as Error).message).slice(0, 300) };
  }
}

/** Measures every interval, commits each report to the outbox, and hands it to the uplink. */
export class Agent {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private stopped = true;
  private readonly log: Logger;
  skipped = 0;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = deps.log.child({ component: 'agent' });
  }

  /** Measures everything once and returns the report (not committed, not sent). */
  async measure(seq = 0): Promise<Report> {
    const { cfg, deps } = this;
    const sources = deps.sources ?? {};
    const offset = sources.clockOffsetMs?.();
    const ts = stampTime(deps.now(), offset);
    const deadline = AbortSignal.timeout(Math.floor(cfg.interval * 0.9));
    const [probes, backlog, host] = await Promise.all([
      Promise.all(cfg.targets.map((t) => runTarget(t, cfg.interval, deadline, this.log))),
      sources.backlog ? sources.backlog(deadline) : Promise.resolve([]),
      sources.host ? sources.host().catch(() => ({})) : Promise.resolve({}),
    ]);
    return {
      v: 1,
      station: cfg.station,
      seq,
      ts,
      interval_s: cfg.interval / 1000,
      probes,
      sessions: sources.sessions?.() ?? [],
      backlog,
      host,
      outbox: { depth: deps.outbox.depth(), dropped: deps.outbox.dropped() },
      clock: offset === undefined ? {} : { offset_ms: offset },
      agent_version: AGENT_VERSION,
    };
  }

  /** One cycle: measure, commit, send. Returns the committed seq. */
  async cycle(): Promise<number> {
    const report = await this.measure();
    const { entry, dropped } = this.deps.outbox.append((s) => {
      report.seq = s;
      return { ts: report.ts, body: JSON.stringify(report) };
    });
    if (dropped > 0) {
      this.log.warn({ dropped, total: this.deps.outbox.dropped() }, 'outbox full: oldest reports dropped');
      this.deps.uplink?.event({ type: 'outbox_overflow', count: dropped });
    }
    this.deps.uplink?.sendLive(entry);
    return entry.seq;
  }

  start(): void {
    this.stopped = false;
    const random = this.deps.random ?? Math.random;
    const spread = this.cfg.jitter ?? Math.floor(this.cfg.interval / 10);
    const schedule = (delay: number) => {
      if (this.stopped) return;
      this.timer = setTimeout(tick, delay);
    };
    const tick = () => {
      const started = this.deps.now();
      if (this.current) {
        this.skipped++; // the previous cycle overran: skip rather than pile up
        this.log.warn('previous cycle still running; skipped one');
      } else {
        this.current = this.cycle()
          .catch((err) => this.log.error({ err }, 'cycle failed'))
          .finally(() => (this.current = undefined));
      }
      const elapsed = this.deps.now() - started;
      schedule(Math.max(0, this.cfg.interval - elapsed + (random() - 0.5) * spread));
    };
    // The first cycle starts after a random part of the spread, so agents started together drift apart.
    schedule(Math.floor(random() * spread));
  }

  /** Stops scheduling and waits for a cycle under way to be committed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
  }
}
