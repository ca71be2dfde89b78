import { FieldType, type IPoint, type ISchemaOptions } from 'influx';
import { stationTags } from '../points.js';
import type { Station } from '../registry.js';
import type { Incident } from './incidents.js';
import { STATE_CODE, type Verdict } from './types.js';

const BASE_TAGS = ['station', 'district', 'province', 'isp'];

/** Field types of the evaluator's measurements (docs/influxdb-schema.md), so integers stay integers. */
export const VERDICT_SCHEMA: ISchemaOptions[] = [
  {
    measurement: 'health',
    tags: BASE_TAGS,
    fields: {
      state: FieldType.STRING, code: FieldType.INTEGER, cause: FieldType.STRING, since: FieldType.INTEGER,
      lat: FieldType.FLOAT, lon: FieldType.FLOAT, name: FieldType.STRING, commune: FieldType.STRING,
      circuit: FieldType.STRING, avail: FieldType.INTEGER, outage_start: FieldType.INTEGER, loss: FieldType.FLOAT,
      rtt_ms: FieldType.FLOAT, last_seen: FieldType.INTEGER, sla_target: FieldType.FLOAT,
    },
  },
  {
    measurement: 'incident',
    tags: ['scope', 'key'],
    fields: { stations: FieldType.INTEGER, cause: FieldType.STRING, open: FieldType.BOOLEAN, since: FieldType.INTEGER },
  },
];

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
