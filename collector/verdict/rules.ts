import { z } from 'zod';

/** Thresholds of one SLA class. A cycle is judged against the class of its station (registry column `sla_class`). */
export const thresholdsSchema = z.strictObject({
  /** A probe with loss at or above this counts as failed, like `ok: false`. */
  loss_down: z.number().min(0).max(1),
  /** Loss above this (but below `loss_down`) makes the cycle degraded, with the cause of the probe's role. */
  loss: z.number().min(0).max(1),
  /** Average RTT above this makes the cycle degraded. */
  rtt_ms: z.number().min(0),
  /** Jitter above this makes the cycle degraded. */
  jitter_ms: z.number().min(0),
  /** A backlog whose oldest item is older than this is stalled: degraded, cause `backlog`. */
  backlog_age_s: z.number().min(0),
  /** A backlog whose pending count rose in each of this many consecutive reports is growing: degraded, `backlog`. */
  backlog_growth_reports: z.number().int().min(2).max(100),
  /** More session drops than this in one report (or a session down) makes the cycle degraded, cause `session`. */
  drops: z.number().int().min(0),
  /** A station clock off by more than this makes the cycle degraded, cause `clock`. */
  clock_offset_ms: z.number().min(0),
});
export type Thresholds = z.output<typeof thresholdsSchema>;

export const DEFAULT_THRESHOLDS: Thresholds = {
  loss_down: 0.5,
  loss: 0.05,
  rtt_ms: 300,
  jitter_ms: 100,
  backlog_age_s: 900,
  backlog_growth_reports: 6,
  drops: 0,
  clock_offset_ms: 5000,
};

const CLASS_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `verdicts:` in the collector config. Every key has a default; see docs/verdicts.md. */
export const verdictsConfigSchema = z.strictObject({
  /** SLA classes: `default` overrides the built-in thresholds, every other class overrides `default`. */
  classes: z.record(z.string().regex(CLASS_NAME, 'class name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}'), thresholdsSchema.partial()).default({}),
  /** Consecutive bad cycles before the state is raised (to degraded or down). */
  raise: z.number().int().min(1).max(100).default(3),
  /** Consecutive better cycles before the state is cleared. */
  clear: z.number().int().min(1).max(100).default(2),
  /** Cycles looked at for a flapping link: bad in at least `flap_ratio` of them makes an ok station degraded. */
  flap_window: z.number().int().min(2).max(100).default(6),
  flap_ratio: z.number().gt(0).max(1).default(0.5),
  /** A station with no report for this many of its intervals is offline, cause `silent`. */
  silence_intervals: z.number().min(1).max(1000).default(3),
  /** Stations of one district, ISP or the province failing together with one cause before that is an incident. */
  incident_min_stations: z.number().int().min(2).max(100_000).default(3),
  /** The maintenance windows file (YAML), re-read when it changes; see docs/verdicts.md. */
  maintenance: z.string().min(1).optional(),
});
export type VerdictsConfig = z.output<typeof verdictsConfigSchema>;

/** The resolved rules a verdict is computed with. */
export interface Rules {
  raise: number;
  clear: number;
  flap_window: number;
  flap_ratio: number;
  silence_intervals: number;
  incident_min_stations: number;
}

export function rulesOf(cfg: VerdictsConfig): Rules {
  const { raise, clear, flap_window, flap_ratio, silence_intervals, incident_min_stations } = cfg;
  return { raise, clear, flap_window, flap_ratio, silence_intervals, incident_min_stations };
}

/** The thresholds of a class: built-in defaults ← `classes.default` ← `classes.<name>`. */
export function thresholdsFor(cfg: Pick<VerdictsConfig, 'classes'>, sla_class: string): Thresholds {
  return { ...DEFAULT_THRESHOLDS, ...cfg.classes.default, ...(sla_class === 'default' ? {} : cfg.classes[sla_class]) };
}

/** SLA classes named by stations but missing from the config (an unknown class is a config error). */
export function unknownClasses(cfg: Pick<VerdictsConfig, 'classes'>, stations: Iterable<{ id: string; sla_class: string }>): Array<{ station: string; sla_class: string }> {
  const out: Array<{ station: string; sla_class: string }> = [];
  for (const s of stations) if (s.sla_class !== 'default' && !(s.sla_class in cfg.classes)) out.push({ station: s.id, sla_class: s.sla_class });
  return out;
}
