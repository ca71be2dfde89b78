import type { Role } from '../../protocol/report.js';

/** A station's verdict state, as written to `health.state`. */
export const STATES = ['ok', 'degraded', 'down', 'offline', 'maintenance'] as const;
export type State = (typeof STATES)[number];

/** `health.code`: 0 ok, 1 degraded, 2 down, 3 offline, 4 maintenance (docs/influxdb-schema.md). */
export const STATE_CODE: Record<State, number> = { ok: 0, degraded: 1, down: 2, offline: 3, maintenance: 4 };

/**
 * Causes of the design, plus `maintenance` while a planned window is open and `pipeline` for a station unheard while
 * no collector hears the broker (collector/verdict/pipeline.ts): the fault is the province's server, not the station.
 */
export const CAUSES = ['lan', 'uplink', 'core', 'service', 'session', 'backlog', 'silent', 'clock', 'none', 'maintenance', 'pipeline'] as const;
export type Cause = (typeof CAUSES)[number];

/** The path from the station outward; the first failing role names the fault. */
export const PATH: readonly Role[] = ['gateway', 'isp', 'core', 'service'];
export const ROLE_CAUSE: Record<Role, Cause> = { gateway: 'lan', isp: 'uplink', core: 'core', service: 'service' };

/** How bad one cycle (one report) is on its own: 0 ok, 1 degraded, 2 down. */
export type Level = 0 | 1 | 2;
export const LEVEL_STATE: Record<Level, State> = { 0: 'ok', 1: 'degraded', 2: 'down' };

export interface Condition {
  level: Level;
  cause: Cause;
}

/** One probe of a report, as the evaluator reads it back from InfluxDB. */
export interface CycleProbe {
  target: string;
  role: Role;
  ok: boolean;
  loss: number;
  rtt_ms?: number;
  jitter_ms?: number;
}

/** One report of a station: the unit the hysteresis counts ("a cycle"). */
export interface Cycle {
  /** Measurement time of the report (ms epoch). */
  ts: number;
  interval_s: number;
  probes: CycleProbe[];
  sessions: Array<{ name: string; up: boolean; drops: number }>;
  backlog: Array<{ source: string; pending?: number; oldest_age_s?: number }>;
  clock_offset_ms?: number;
}

/** The last health point a (possibly other) evaluator wrote for a station: the seed of the hysteresis. */
export interface PreviousHealth {
  ts: number;
  state: State;
  cause: Cause;
  since: number;
}

/** The verdict on one station at one evaluation time. */
export interface Verdict {
  station: string;
  state: State;
  cause: Cause;
  /** ms epoch the state (with this cause) began. */
  since: number;
  /** Measurement time of the newest report, if any was ever seen. */
  last_seen?: number;
  /** Worst probe loss of the newest report (0..1). */
  loss?: number;
  /** Slowest average RTT among the probes of the newest report that answered. */
  rtt_ms?: number;
  /** True on the first down/offline verdict of an outage (counts outages for MTTR). */
  outage_start: boolean;
}

export const isFailing = (s: State): boolean => s === 'down' || s === 'offline';
