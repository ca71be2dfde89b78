/**
 * When to evaluate which period. A timer is only a hint: Node fires one aimed at `T + settle` up to a millisecond
 * early, and a slow evaluation can overrun the next boundary. So the period is always computed from the clock after
 * firing (floor), the newest period evaluated is remembered, and every period between the two is evaluated in order:
 * none is written twice and none is left out (docs/verdicts.md, "Timing").
 */
import { alignTime } from '../verdict/points.js';

/** The periods due at `now`, oldest first, after `done` (the newest period evaluated); at most `maxCatchUp`. Pure. */
export function duePeriods(done: number, now: number, periodMs: number, settleMs: number, maxCatchUp: number): { due: number[]; skipped: number } {
  const current = alignTime(now - settleMs, periodMs);
  if (current <= done) return { due: [], skipped: 0 };
  const behind = Math.round((current - done) / periodMs);
  const skipped = Math.max(0, behind - maxCatchUp);
  const due: number[] = [];
  for (let at = done + (skipped + 1) * periodMs; at <= current; at += periodMs) due.push(at);
  return { due, skipped };
}

/** How long to wait at `now` until the period after `done` may be evaluated (its end plus `settle`). Pure. */
export function delayUntilDue(done: number, now: number, periodMs: number, settleMs: number): number {
  // A clock stepped back would otherwise hold the timer for as long as it moved; one period is the most ever needed.
  return Math.min(Math.max(0, done + periodMs + settleMs - now), periodMs + settleMs);
}

/** The clock and timers the scheduler runs on: the real ones, or a test's. */
export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: SchedulerClock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface PeriodSchedulerOptions {
  periodMs: number;
  settleMs: number;
  /** Periods caught up at most after a stall; older ones are counted as skipped. */
  maxCatchUp: number;
  /** Evaluates one period; a rejection leaves it due (it is tried again at the next firing). */
  run: (at: number) => Promise<void>;
  /** Periods given up after a stall longer than `maxCatchUp` periods. */
  onSkipped?: (count: number, from: number, to: number) => void;
  clock?: SchedulerClock;
}

export interface SchedulerStats {
  /** Evaluations of periods that were not the newest when run (after an overrun or a stall). */
  caught_up: number;
  skipped: number;
  /** Firings at which no period was due yet (the timer fired early); each was re-armed. */
  early: number;
}

/** Runs `run(T)` once for every period `T`, in order, from the first boundary after `start()` until `stop()`. */
export class PeriodScheduler {
  readonly stats: SchedulerStats = { caught_up: 0, skipped: 0, early: 0 };
  private readonly clock: SchedulerClock;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** The newest period evaluated (or, before the first, the one under way when started: it is not evaluated). */
  private done = 0;

  constructor(private readonly opts: PeriodSchedulerOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** The newest period evaluated. */
  get last(): number {
    return this.done;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.done = alignTime(this.clock.now() - this.opts.settleMs, this.opts.periodMs);
    this.arm();
  }

  /** Arms the timer for the period after `from` (the newest evaluated, or after a failure the newest due). */
  private arm(from = this.done): void {
    if (this.stopped) return;
    const { periodMs, settleMs } = this.opts;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      let retryFrom: number | undefined;
      this.running = this.fire()
        .then((r) => void (retryFrom = r))
        .finally(() => {
          this.running = undefined;
          this.arm(retryFrom);
        });
    }, delayUntilDue(from, this.clock.now(), periodMs, settleMs));
  }

  /** Evaluates the due periods; after a failure, returns the newest due one, so the retry waits for the next boundary. */
  private async fire(): Promise<number | undefined> {
    const { periodMs, settleMs, maxCatchUp } = this.opts;
    const { due, skipped } = duePeriods(this.done, this.clock.now(), periodMs, settleMs, maxCatchUp);
    if (due.length === 0) {
      this.stats.early++;
      return undefined;
    }
    if (skipped > 0) {
      this.stats.skipped += skipped;
      this.opts.onSkipped?.(skipped, this.done + periodMs, due[0]! - periodMs);
      this.done = due[0]! - periodMs;
    }
    for (const at of due) {
      if (this.stopped) return undefined;
      try {
        await this.opts.run(at);
      } catch {
        // `run` reports its own failure; this period stays due and is tried first at the next boundary.
        return due[due.length - 1];
      }
      if (at !== due[due.length - 1]) this.stats.caught_up++;
      this.done = at;
    }
    return undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
