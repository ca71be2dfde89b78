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
      interval_s: FieldType.FLOAT, clock_offset_ms: FieldType.FLOAT, agent_version: FieldType.STRING,
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
      interval_s: r.interval_s, clock_offset_ms: r.clock.offset_ms, agent_version: r.agent_version,
    }),
    timestamp,
  });
  return points;
}

// ---- Line protocol, built directly -------------------------------------------------------------------------------
// The influx package's writePoints coerces every point through its schema (sorting field names, one array per field
// pair, a regex escaper per key and value); at thousands of reports a second that was most of the collector's CPU
// (docs/performance.md). The functions below build the same lines directly, with the types of INFLUX_SCHEMA: floats
// as JavaScript prints them, integers with the `i` suffix, booleans as T/F, strings quoted. Fields come in sorted
// order like the package's, so the bytes are the same (test/unit/line-protocol.test.ts).

const TAG_SPECIAL = /[,= ]/;
const TAG_SPECIAL_G = /[,= ]/g;
const STRING_SPECIAL = /["\\]/;
const STRING_SPECIAL_G = /["\\]/g;

/** Escapes a tag key, tag value or field key: comma, equals sign and space take a backslash. */
export function escapeTag(s: string): string {
  return TAG_SPECIAL.test(s) ? s.replace(TAG_SPECIAL_G, '\\$&') : s;
}

/** A string field value: quoted, with `"` and `\` escaped. */
export function quoteString(s: string): string {
  return STRING_SPECIAL.test(s) ? `"${s.replace(STRING_SPECIAL_G, '\\$&')}"` : `"${s}"`;
}

// The station's tags, escaped once per registry entry (a reloaded registry brings new objects, so no stale entry).
const tagCache = new WeakMap<Station, string>();
function stationTagText(s: Station): string {
  let t = tagCache.get(s);
  if (t === undefined) {
    t = `,station=${escapeTag(s.id)},district=${escapeTag(s.district)},province=${escapeTag(s.province)},isp=${escapeTag(s.isp)}`;
    tagCache.set(s, t);
  }
  return t;
}

const sep = (f: string) => (f.length === 0 ? '' : ',');
const flt = (f: string, k: string, v: number | undefined) => (v === undefined || v === null ? f : `${f}${sep(f)}${k}=${v}`);
const int = (f: string, k: string, v: number | undefined) => (v === undefined || v === null ? f : `${f}${sep(f)}${k}=${Math.floor(v)}i`);
const bool = (f: string, k: string, v: boolean | undefined) => (v === undefined || v === null ? f : `${f}${sep(f)}${k}=${v ? 'T' : 'F'}`);
const str = (f: string, k: string, v: string | undefined) => (v === undefined || v === null ? f : `${f}${sep(f)}${k}=${quoteString(v)}`);

/** The line protocol of one report, as `reportToPoints` + the influx package would write it; and how many points. */
export function reportToLines(r: Report, station: Station, storedAt: number): { lines: string; points: number } {
  const tags = stationTagText(station);
  const ts = r.ts ? ` ${r.ts}` : '';
  let out = '';
  let n = 0;
  for (const p of r.probes) {
    const ph = p.phases;
    let f = flt('', 'cert_days', p.cert_days);
    f = flt(f, 'connect_ms', ph?.connect_ms);
    f = flt(f, 'dns_ms', ph?.dns_ms);
    f = str(f, 'error', p.error);
    f = flt(f, 'jitter_ms', p.jitter_ms);
    f = flt(f, 'loss', p.loss);
    f = bool(f, 'ok', p.ok);
    f = int(f, 'received', p.received);
    f = flt(f, 'rtt_avg_ms', p.rtt_avg_ms);
    f = flt(f, 'rtt_max_ms', p.rtt_max_ms);
    f = flt(f, 'rtt_min_ms', p.rtt_min_ms);
    f = flt(f, 'rtt_p95_ms', p.rtt_p95_ms);
    f = int(f, 'sent', p.sent);
    f = int(f, 'status', p.status);
    f = flt(f, 'tls_ms', ph?.tls_ms);
    f = flt(f, 'ttfb_ms', ph?.ttfb_ms);
    out += `${n++ ? '\n' : ''}probe${tags},target=${escapeTag(p.target)},role=${p.role},kind=${p.kind} ${f}${ts}`;
  }
  for (const s of r.sessions) {
    out += `${n++ ? '\n' : ''}session${tags},session=${escapeTag(s.name)} down_ms=${Math.floor(s.down_ms)}i,drops=${Math.floor(s.drops)}i,up=${s.up ? 'T' : 'F'}${ts}`;
  }
  for (const b of r.backlog) {
    let f = int('', 'bytes', b.bytes);
    f = str(f, 'error', b.error);
    f = flt(f, 'oldest_age_s', b.oldest_age_s);
    f = int(f, 'pending', b.pending);
    // A point needs a field; a backlog sample with none is refused by InfluxDB, as it was through the package.
    out += `${n++ ? '\n' : ''}backlog${tags},source=${escapeTag(b.source)} ${f}${ts}`;
  }
  const h = r.host;
  let hf = flt('', 'cpu_pct', h.cpu_pct);
  hf = int(hf, 'disk_free_bytes', h.disk_free_bytes);
  hf = str(hf, 'iface', h.iface);
  hf = bool(hf, 'iface_up', h.iface_up);
  hf = flt(hf, 'mem_used_pct', h.mem_used_pct);
  hf = flt(hf, 'uptime_s', h.uptime_s);
  if (hf.length > 0) out += `${n++ ? '\n' : ''}host${tags} ${hf}${ts}`;
  let rf = str('', 'agent_version', r.agent_version);
  rf = flt(rf, 'clock_offset_ms', r.clock.offset_ms);
  rf = int(rf, 'delay_ms', Math.max(0, storedAt - r.ts));
  rf = flt(rf, 'interval_s', r.interval_s);
  rf = int(rf, 'outbox_depth', r.outbox.depth);
  rf = int(rf, 'outbox_dropped', r.outbox.dropped);
  rf = int(rf, 'seq', r.seq);
  out += `${n++ ? '\n' : ''}report${tags} ${rf}${ts}`;
  return { lines: out, points: n };
}

/**
 * One point without a schema (status and event messages), as the package writes such points: fields sorted, strings
 * quoted, numbers and booleans as JavaScript prints them.
 */
export function pointToLine(p: IPoint): string {
  let line = p.measurement ?? '';
  for (const k in p.tags) line += `,${escapeTag(k)}=${escapeTag(p.tags[k]!)}`;
  const fields = p.fields ?? {};
  let f = '';
  for (const k of Object.keys(fields).sort()) {
    const v = fields[k];
    f += `${sep(f)}${escapeTag(k)}=${typeof v === 'string' ? quoteString(v) : String(v)}`;
  }
  line += ` ${f}`;
  if (p.timestamp) line += ` ${typeof p.timestamp === 'number' || typeof p.timestamp === 'string' ? p.timestamp : p.timestamp.getTime()}`;
  return line;
}
