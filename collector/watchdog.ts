/**
 * The pipeline watchdog: proves that the broker still delivers reports to this collector, end to end.
 *
 * A broker can forget a collector's subscription while the connection stays up (mosquitto 2.0.11 restores plain
 * subscriptions from its persistence file but not shared ones), and a collector that does not know is deaf: every
 * station turns silent and nothing says why. So every `interval` the collector publishes a canary to a report topic
 * that its report subscription covers. Whatever arrives through that subscription — a canary or a station's report —
 * proves the path; nothing at all for `deaf_after` while connected means the subscription is gone. The first time,
 * the collector subscribes again; if that does not bring anything within another `deaf_after`, it reconnects, and
 * keeps reconnecting every `deaf_after` until reports flow.
 *
 * The decisions are the pure `decideWatchdog`; `PipelineWatchdog` is the shell with the timer.
 */
import { z } from 'zod';
import { durationMs } from '../lib/config-file.js';
import type { Logger } from '../lib/log.js';

/** `watchdog:` in the collector config. */
export const watchdogConfigSchema = z.strictObject({
  /** How often a canary is published through the broker (one small QoS 0 message). */
  interval: durationMs.prefault('2s'),
  /**
   * Connected and nothing heard through the report subscription for this long: the collector is deaf. Default five
   * canaries, so that collectors sharing the subscription (each gets a share of the canaries, and a dead member's
   * session still takes its turn until it expires) are not taken for deaf.
   */
  deaf_after: durationMs.optional(),
}).transform((w) => ({ interval: w.interval, deaf_after: w.deaf_after ?? 5 * w.interval }));
export type WatchdogConfig = z.output<typeof watchdogConfigSchema>;

export type WatchdogAction = 'none' | 'resubscribe' | 'reconnect';

export interface WatchdogState {
  connected: boolean;
  /** When the current connection was made, or the last remedy applied: the clock of "heard nothing since". */
  since: number;
  /** When something last came through the report subscription. */
  heard: number;
  /** Remedies applied since the path last worked. */
  remedies: number;
  /** When the collector went deaf (first detection), while it is deaf. */
  deafSince: number | undefined;
}

export const initialWatchdog = (now: number): WatchdogState => ({ connected: false, since: now, heard: now, remedies: 0, deafSince: undefined });

export type WatchdogEvent =
  | { type: 'connected'; at: number }
  | { type: 'disconnected'; at: number }
  | { type: 'heard'; at: number }
  | { type: 'remedied'; at: number; action: Exclude<WatchdogAction, 'none'> };

/** Folds an event into the state. */
export function evolveWatchdog(s: WatchdogState, e: WatchdogEvent): WatchdogState {
  switch (e.type) {
    case 'connected':
      // A new connection gets a full `deaf_after` to prove itself; being deaf carries over until something is heard.
      return { ...s, connected: true, since: e.at };
    case 'disconnected':
      return { ...s, connected: false };
    case 'heard':
      return { ...s, heard: e.at, remedies: 0, deafSince: undefined };
    case 'remedied':
      return { ...s, since: e.at, remedies: s.remedies + 1, deafSince: s.deafSince ?? e.at };
  }
}

/** What to do at `now`: nothing, subscribe again (the first remedy), or reconnect (every one after). */
export function decideWatchdog(s: WatchdogState, now: number, deafAfterMs: number): WatchdogAction {
  if (!s.connected) return 'none';
  const quietSince = Math.max(s.since, s.heard);
  if (now - quietSince < deafAfterMs) return 'none';
  return s.remedies === 0 ? 'resubscribe' : 'reconnect';
}

export interface WatchdogStats {
  canaries: number;
  deaf: number;
  resubscribes: number;
  reconnects: number;
}

export interface WatchdogDeps {
  config: WatchdogConfig;
  log: Logger;
  now: () => number;
  publishCanary: () => void;
  resubscribe: () => void;
  reconnect: () => void;
}

export class PipelineWatchdog {
  private state: WatchdogState;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: WatchdogStats = { canaries: 0, deaf: 0, resubscribes: 0, reconnects: 0 };

  constructor(private readonly deps: WatchdogDeps) {
    this.state = initialWatchdog(deps.now());
  }

  /** Whether the broker connection is up but nothing comes through the report subscription. */
  get deaf(): boolean {
    return this.state.deafSince !== undefined;
  }

  get deafSince(): number | undefined {
    return this.state.deafSince;
  }

  /** When something last came through the report subscription. */
  get lastHeard(): number {
    return this.state.heard;
  }

  connected(): void {
    this.state = evolveWatchdog(this.state, { type: 'connected', at: this.deps.now() });
  }

  disconnected(): void {
    this.state = evolveWatchdog(this.state, { type: 'disconnected', at: this.deps.now() });
  }

  /** A canary or a report came through the report subscription. */
  heard(): void {
    if (this.state.deafSince !== undefined) {
      this.deps.log.info({ deaf_ms: this.deps.now() - this.state.deafSince }, 'reports flow again through the broker');
    }
    this.state = evolveWatchdog(this.state, { type: 'heard', at: this.deps.now() });
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.deps.config.interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One period: act on what was (not) heard, then send the next canary. */
  tick(): void {
    const now = this.deps.now();
    const action = decideWatchdog(this.state, now, this.deps.config.deaf_after);
    if (action !== 'none') {
      if (this.state.deafSince === undefined) this.stats.deaf++;
      this.deps.log.error(
        { action, heard_ms_ago: now - this.state.heard, deaf_after_ms: this.deps.config.deaf_after },
        'collector hears nothing through the broker; its subscription is gone',
      );
      this.state = evolveWatchdog(this.state, { type: 'remedied', at: now, action });
      if (action === 'resubscribe') {
        this.stats.resubscribes++;
        this.deps.resubscribe();
      } else {
        this.stats.reconnects++;
        this.deps.reconnect();
      }
    }
    if (this.state.connected) {
      this.stats.canaries++;
      this.deps.publishCanary();
    }
  }
}
