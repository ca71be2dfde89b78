import { FieldType, type IPoint, type ISchemaOptions } from 'influx';
import type { Report } from '../protocol/report.js';
import type { Station } from './registry.js';

/** Tags every measurement carries, from the registry (never from the payload: identity comes from authentication). */
export function stationTags(s: Station): Record<string, string> {
  return { station: s.id, district: s.district, province: s.province, isp: s.isp };
}

const BASE_TAGS = ['station', 'district', 'province', 'isp'];

/** Field types per measurement, so integers stay integers in InfluxDB whatever JSON made of them. */
export const INFLUX_SCHEMA: ISchemaOptions[] = [
  {
    measurement: 'probe',
    tags: [...BASE_TAGS, 'target', 'role', 'kind'],
    fields: {
      ok: FieldType.BOOLEAN, loss: FieldType.FLOAT, rtt_min_ms: FieldType.FLOAT, rtt_avg_ms: FieldType.FLOAT,
      rtt_max_ms: FieldType.FLOAT, rtt_p95_ms: FieldType.FLOAT, jitter_ms: FieldType.FLOAT, sent: FieldType.INTEGER,
      received: FieldType.INTEGER, dns_ms: FieldType.FLOAT, connect_ms: FieldType.FLOAT, tls_ms: FieldType.FLOAT,
      ttfb_ms: FieldType.FLOAT, status: FieldType.INTEGER, error: FieldType.STRING, cert_days: FieldType.FLOAT,
    },
  },
  { measurement: 'session', tags: [...BASE_TAGS, 'session'], fields: { up: FieldType.BOOLEAN, drops: FieldType.INTEGER, down_ms: FieldType.INTEGER } },
  {
    measurement: 'backlog',
    tags: [...BASE_TAGS, 'source'],
    fields: { pending: FieldType.INTEGER, bytes: FieldType.INTEGER, oldest_age_s: FieldType.FLOAT, error: FieldType.STRING },
  },
  {
    measurement: 'host',
    tags: BASE_TAGS,
    fields: {
      cpu_pct: FieldType.FLOAT, mem_used_pct: FieldType.FLOAT, disk_free_bytes: FieldType.INTEGER, uptime_s: FieldType.FLOAT,
      iface_up: FieldType.BOOLEAN, iface: FieldType.STRING,
    },
  },
  {
    measurement: 'report',
    tags: BASE_TAGS,
    fields: {
      seq: FieldType.INTEGER, delay_ms: FieldType.INTEGER, outbox_depth: FieldType.INTEGER, outbox_dropped: FieldType.INTEGER,
      interval_s: FieldType.FLOAT, clock_offset_ms: FieldType.FLOAT,
    },
  },
];

type Fields = Record<string, number | boolean | string>;

/** Copies the defined values only: InfluxDB has no null, an absent field is how "not measured" is stored. */
function defined(src: Record<string, unknown>): Fields {
  const out: Fields = {};
  for (const k in src) {
    const v = src[k];
    if (v !== undefined && v !== null) out[k] = v as number | boolean | string;
  }
  return out;
}

/**
 * The points of one report, all stamped with its measurement time, so a re-delivered report overwrites itself
 * instead of counting twice. `storedAt` is when the collector took it (for `delay_ms`).
 */
export function reportToPoints(r: Report, station: Station, storedAt: number): IPoint[] {
  const tags = stationTags(station);
  const timestamp = r.ts;
  const points: IPoint[] = [];
  for (const p of r.probes) {
    points.push({
      measurement: 'probe',
      tags: { ...tags, target: p.target, role: p.role, kind: p.kind },
      fields: defined({
        ok: p.ok, loss: p.loss, sent: p.sent, received: p.received, rtt_min_ms: p.rtt_min_ms, rtt_avg_ms: p.rtt_avg_ms,
        rtt_max_ms: p.rtt_max_ms, rtt_p95_ms: p.rtt_p95_ms, jitter_ms: p.jitter_ms, dns_ms: p.phases?.dns_ms,
        connect_ms: p.phases?.connect_ms, tls_ms: p.phases?.tls_ms, ttfb_ms: p.phases?.ttfb_ms, status: p.status,
        error: p.error, cert_days: p.cert_days,
      }),
      timestamp,
    });
  }
  for (const s of r.sessions) {
    points.push({ measurement: 'session', tags: { ...tags, session: s.name }, fields: { up: s.up, drops: s.drops, down_ms: s.down_ms }, timestamp });
  }
  for (const b of r.backlog) {
    const fields = defined({ pending: b.pending, bytes: b.bytes, oldest_age_s: b.oldest_age_s, error: b.error });
    points.push({ measurement: 'backlog', tags: { ...tags, source: b.source }, fields, timestamp });
  }
  const host = defined({ ...r.host });
  if (Object.keys(host).length > 0) points.push({ measurement: 'host', tags, fields: host, timestamp });
  points.push({
    measurement: 'report',
    tags,
    fields: defined({
      seq: r.seq, delay_ms: Math.max(0, storedAt - r.ts), outbox_depth: r.outbox.depth, outbox_dropped: r.outbox.dropped,
      interval_s: r.interval_s, clock_offset_ms: r.clock.offset_ms,
    }),
    timestamp,
  });
  return points;
}
