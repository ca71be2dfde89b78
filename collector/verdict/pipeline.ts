/**
 * Is the pipeline itself deaf? Stations go unheard for two very different reasons: their own power or uplink (each
 * station's fault, one by one) or the broker/collector path in front of InfluxDB (nobody is heard, and it is nobody's
 * station's fault). The collectors say which in their own `collector` points (`connected`, `deaf`, written every
 * `stats_interval`); this reads those. Pure.
 */

/** The newest `collector` point of one collector. */
export interface CollectorPoint {
  collector: string;
  ts: number;
  /** 1 while connected to the broker. */
  connected?: number | undefined;
  /** 1 while connected but hearing nothing through the report subscription (collector/watchdog.ts). */
  deaf?: number | undefined;
}

export type PipelineState =
  | { ok: true }
  /** No collector has written anything lately: no evidence either way (a new install, or points from elsewhere). */
  | { ok: undefined }
  | { ok: false; reason: 'deaf' | 'disconnected' | 'collectors_silent' };

/**
 * The pipeline is down when collectors were seen in the window but none now hears the broker: every fresh point says
 * disconnected or deaf, or none is fresh (the collectors stopped, or cannot reach InfluxDB). One healthy collector is
 * enough: with a shared subscription it takes every report.
 */
export function pipelineState(points: readonly CollectorPoint[], at: number, staleMs: number): PipelineState {
  if (points.length === 0) return { ok: undefined };
  const fresh = points.filter((p) => p.ts > at - staleMs && p.ts <= at);
  if (fresh.some((p) => p.connected === 1 && p.deaf !== 1)) return { ok: true };
  if (fresh.length === 0) return { ok: false, reason: 'collectors_silent' };
  return { ok: false, reason: fresh.some((p) => p.connected === 1) ? 'deaf' : 'disconnected' };
}
