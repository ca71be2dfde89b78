/**
 * The points of one report: which report value goes to which measurement, tag and field. Their types and order are
 * the table's (collector/influx.ts); this file only maps. `reportToLines` is the collector's hot path (line protocol
 * straight into the write body); `reportToPoints` is the same mapping as point objects, for tools and tests.
 */
import type { Report } from '../protocol/report.js';
import { encodeCycle } from './cycle-field.js';
import { escapeTag, fieldsText, tagsText, type FieldValues, type Measurement, type Point } from './influx.js';
import type { Station } from './registry.js';

/**
 * Tags every measurement carries, from the registry (never from the payload: identity comes from authentication):
 * station, district (pre-2025 registries; an empty tag cannot be written, so it is left out), province, isp, and the
 * registry's extra grouping columns (`area`, `hub`…).
 */
export function stationTags(s: Station): Record<string, string> {
  return {
    station: s.id, ...(s.district ? { district: s.district } : {}), province: s.province, isp: s.isp, ...(s.groups ?? {}),
  };
}

/** Receives one point: its measurement, the tags beyond the station's, and its field values. */
type Emit = (measurement: Measurement, extraTags: Readonly<Record<string, string>> | undefined, fields: FieldValues) => void;

/**
 * Visits the points of one report, all stamped with its measurement time, so a re-delivered report overwrites itself
 * instead of counting twice. `storedAt` is when the collector took it (for `delay_ms`).
 */
function eachPoint(r: Report, storedAt: number, emit: Emit): void {
  for (const p of r.probes) {
    const ph = p.phases;
    emit('probe', { target: p.target, role: p.role, kind: p.kind }, {
      ok: p.ok, loss: p.loss, sent: p.sent, received: p.received, rtt_min_ms: p.rtt_min_ms, rtt_avg_ms: p.rtt_avg_ms,
      rtt_max_ms: p.rtt_max_ms, rtt_p95_ms: p.rtt_p95_ms, jitter_ms: p.jitter_ms, dns_ms: ph?.dns_ms,
      connect_ms: ph?.connect_ms, tls_ms: ph?.tls_ms, ttfb_ms: ph?.ttfb_ms, status: p.status, error: p.error,
      cert_days: p.cert_days,
    });
  }
  for (const s of r.sessions) emit('session', { session: s.name }, { up: s.up, drops: s.drops, down_ms: s.down_ms });
  // A point needs a field; a backlog sample with none is refused by InfluxDB, and so kept in the dead letters.
  for (const b of r.backlog) emit('backlog', { source: b.source }, { pending: b.pending, bytes: b.bytes, oldest_age_s: b.oldest_age_s, error: b.error });
  const h = r.host;
  if (h.cpu_pct !== undefined || h.mem_used_pct !== undefined || h.disk_free_bytes !== undefined || h.uptime_s !== undefined || h.iface !== undefined || h.iface_up !== undefined) {
    emit('host', undefined, h);
  }
  emit('report', undefined, {
    seq: r.seq, delay_ms: Math.max(0, storedAt - r.ts), outbox_depth: r.outbox.depth, outbox_dropped: r.outbox.dropped,
    interval_s: r.interval_s, clock_offset_ms: r.clock.offset_ms, agent_version: r.agent_version, cycle: encodeCycle(r),
  });
}

// The station's tags, escaped once per registry entry (a reloaded registry brings new objects, so no stale entry).
const tagCache = new WeakMap<Station, string>();
function stationTagText(s: Station): string {
  let t = tagCache.get(s);
  if (t === undefined) {
    t = Object.entries(stationTags(s)).map(([k, v]) => `,${escapeTag(k)}=${escapeTag(v)}`).join('');
    tagCache.set(s, t);
  }
  return t;
}

/** The line protocol of one report, and how many points it holds. */
export function reportToLines(r: Report, station: Station, storedAt: number): { lines: string; points: number } {
  const tags = stationTagText(station);
  const ts = r.ts ? ` ${r.ts}` : '';
  let out = '';
  let n = 0;
  eachPoint(r, storedAt, (m, extra, fields) => {
    out += `${n++ ? '\n' : ''}${m}${tags}${extra ? tagsText(m, extra) : ''} ${fieldsText(m, fields)}${ts}`;
  });
  return { lines: out, points: n };
}

/** The points of one report as objects (the same mapping as `reportToLines`). */
export function reportToPoints(r: Report, station: Station, storedAt: number): Point[] {
  const tags = stationTags(station);
  const points: Point[] = [];
  eachPoint(r, storedAt, (measurement, extra, fields) => {
    const defined: Record<string, number | boolean | string> = {};
    for (const k in fields) if (fields[k] !== undefined && fields[k] !== null) defined[k] = fields[k]!;
    points.push({ measurement, tags: extra ? { ...tags, ...extra } : tags, fields: defined, timestamp: r.ts });
  });
  return points;
}
