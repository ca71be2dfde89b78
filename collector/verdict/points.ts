import type { IPoint } from 'influx';
import { stationTags } from '../points.js';
import type { Station } from '../registry.js';
import type { Incident } from './incidents.js';
import { STATE_CODE, type Verdict } from './types.js';

/** Floors a time to the evaluation period: every evaluator stamps the same instant. */
export const alignTime = (now: number, periodMs: number): number => Math.floor(now / periodMs) * periodMs;

/** The `health` point of one verdict at aligned time `at`. */
export function healthPoint(v: Verdict, s: Station, at: number): IPoint {
  const fields: Record<string, string | number> = {
    state: v.state, code: STATE_CODE[v.state], cause: v.cause, since: v.since, lat: s.lat, lon: s.lon, name: s.name,
    commune: s.commune, circuit: s.circuit, sla_target: s.sla_target,
  };
  // Maintenance carries no `avail`, so mean(avail) leaves planned work out of availability.
  if (v.state !== 'maintenance') fields.avail = v.state === 'ok' || v.state === 'degraded' ? 1 : 0;
  if (v.outage_start) fields.outage_start = 1;
  if (v.loss !== undefined) fields.loss = v.loss;
  if (v.rtt_ms !== undefined) fields.rtt_ms = v.rtt_ms;
  if (v.last_seen !== undefined) fields.last_seen = v.last_seen;
  return { measurement: 'health', tags: stationTags(s), fields, timestamp: at };
}

/** The `incident` point of one incident at aligned time `at`. */
export function incidentPoint(i: Incident, at: number): IPoint {
  return {
    measurement: 'incident',
    tags: { scope: i.scope, key: i.key },
    fields: { stations: i.stations, cause: i.cause, open: i.open, since: i.since },
    timestamp: at,
  };
}
