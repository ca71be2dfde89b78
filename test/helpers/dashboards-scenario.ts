/**
 * A scripted day in one province, for the dashboard and alert queries: eight stations of Chợ Mới and Ba Bể, with
 * outages, a maintenance window, a silent station, a degraded one and incidents, written in the exact schema of
 * docs/influxdb-schema.md (collector measurements through `reportToPoints`, evaluator measurements by hand, field types from the table of collector/influx.ts).
 * What the dashboards must show is computed here from the same script, independently of InfluxQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB, type IPoint, type ISchemaOptions } from 'influx';
import { packageSchema } from '../../collector/influx.js';
import { reportToPoints } from '../../collector/points.js';
import type { Station } from '../../collector/registry.js';
import { ROLLUP_RP } from '../../collector/retention.js';
import { startInflux, type LocalServer } from '../../deploy/local-servers.js';
import type { Report } from '../../protocol/report.js';

/**
 * The scenario's "now" is the end of its day; every point lies strictly inside [T0, NOW]. The day straddles
 * InfluxDB's weekly shard boundary (Monday 00:00 UTC, minute 720), as every real SLA range does, and the 1-hour
 * outage and maintenance window straddle it too.
 */
export const T0 = Date.UTC(2026, 0, 4, 12, 0, 0);
export const MINUTES = 24 * 60;
export const NOW = T0 + MINUTES * 60_000;
/** The evaluator's period in this scenario (the queries must not depend on it). */
export const PERIOD_MS = 60_000;
export const at = (minute: number) => T0 + 30_000 + minute * PERIOD_MS;

type StateName = 'ok' | 'degraded' | 'down' | 'offline' | 'maintenance';
const CODES: Record<StateName, number> = { ok: 0, degraded: 1, down: 2, offline: 3, maintenance: 4 };

interface Segment { from: number; to: number; state: StateName; cause: string }

export interface ScenarioStation extends Station {
  /** Minutes [from, to) in a state other than ok. */
  segments: Segment[];
  /** Minutes with no report at all (sequence numbers still advance: the reports were lost). */
  lostReports?: [number, number];
}

function station(id: string, name: string, commune: string, district: string, isp: string, lat: number, lon: number,
  segments: Segment[], extra: Partial<ScenarioStation> = {}): ScenarioStation {
  return {
    id, name, commune, district, province: 'Bắc Kạn', lat, lon, isp, circuit: `${isp}-${id.slice(3).toUpperCase()}`,
    sla_target: 99.5, sla_class: 'default', groups: { area: district }, segments, ...extra,
  };
}

export const STATIONS: ScenarioStation[] = [
  station('bk-cho-moi-yen-dinh', 'Công an xã Yên Đĩnh', 'Yên Đĩnh', 'Chợ Mới', 'VNPT', 21.87, 105.77,
    [{ from: 690, to: 750, state: 'down', cause: 'uplink' }]),
  station('bk-ba-be-cho-ra', 'Công an thị trấn Chợ Rã', 'Chợ Rã', 'Ba Bể', 'Viettel', 22.45, 105.73,
    [{ from: 690, to: 750, state: 'maintenance', cause: 'maintenance' }]),
  station('bk-cho-moi-thanh-mai', 'Công an xã Thanh Mai', 'Thanh Mai', 'Chợ Mới', 'VNPT', 21.93, 105.82,
    [{ from: 300, to: 310, state: 'down', cause: 'lan' }, { from: 900, to: 950, state: 'down', cause: 'lan' }]),
  station('bk-ba-be-thuong-giao', 'Công an xã Thượng Giáo', 'Thượng Giáo', 'Ba Bể', 'VNPT', 22.41, 105.78,
    [{ from: 1410, to: MINUTES, state: 'down', cause: 'uplink' }]),
  station('bk-ba-be-khang-ninh', 'Công an xã Khang Ninh', 'Khang Ninh', 'Ba Bể', 'Viettel', 22.47, 105.67,
    [{ from: 1420, to: MINUTES, state: 'offline', cause: 'silent' }]),
  station('bk-cho-moi-nong-ha', 'Công an xã Nông Hạ', 'Nông Hạ', 'Chợ Mới', 'Viettel', 21.98, 105.85,
    [{ from: 1430, to: MINUTES, state: 'degraded', cause: 'session' }]),
  station('bk-cho-moi-quang-chu', 'Công an xã Quảng Chu', 'Quảng Chu', 'Chợ Mới', 'VNPT', 21.96, 105.71,
    [{ from: 1400, to: MINUTES, state: 'maintenance', cause: 'maintenance' }]),
  station('bk-ba-be-dia-linh', 'Công an xã Địa Linh', 'Địa Linh', 'Ba Bể', 'Viettel', 22.43, 105.81, [],
    { lostReports: [100, 105] }),
];

export const byId = (id: string) => STATIONS.find((s) => s.id === id)!;

function stateAt(s: ScenarioStation, minute: number): Segment {
  return s.segments.find((g) => minute >= g.from && minute < g.to) ?? { from: 0, to: MINUTES, state: 'ok', cause: 'none' };
}

/**
 * A registry of both eras at once: `district` (old registries) and `area` (its post-2025 name) carry the same value,
 * so the boards built for either (`--groups district`, `--groups area`) run on the same day.
 */
const tagsOf = (s: Station) => ({ station: s.id, district: s.district, province: s.province, isp: s.isp, ...(s.groups ?? {}) });

/** The field types the collector and the evaluator write with, so integers are written as integers; `area` allowed. */
export const SCHEMA: ISchemaOptions[] = packageSchema().map((x) => ({ ...x, tags: [...x.tags, 'area'] }));

const isOutage = (st: StateName) => st === 'down' || st === 'offline';

/** The evaluator's `health` points of one station, one per period. */
export function healthPoints(s: ScenarioStation): IPoint[] {
  const points: IPoint[] = [];
  let lastSeen = at(0);
  for (let m = 0; m < MINUTES; m++) {
    const seg = stateAt(s, m);
    const prev = m > 0 ? stateAt(s, m - 1).state : 'ok';
    if (seg.state !== 'offline') lastSeen = at(m);
    const rtt = 20 + ((m * 7 + s.id.length) % 13);
    const fields: Record<string, string | number> = {
      state: seg.state, code: CODES[seg.state], cause: seg.cause, since: seg.state === 'ok' ? at(0) : at(seg.from),
      lat: s.lat, lon: s.lon, name: s.name, commune: s.commune, circuit: s.circuit, last_seen: lastSeen,
      sla_target: s.sla_target,
    };
    if (seg.state !== 'maintenance') fields.avail = isOutage(seg.state) ? 0 : 1;
    if (isOutage(seg.state) && !isOutage(prev)) fields.outage_start = 1;
    if (seg.state !== 'offline') {
      fields.loss = seg.state === 'down' ? 1 : seg.state === 'degraded' ? 0.05 : 0;
      if (seg.state !== 'down') fields.rtt_ms = rtt;
    }
    points.push({ measurement: 'health', tags: tagsOf(s), fields, timestamp: at(m) });
  }
  return points;
}

/** One minute's report of a station, probes consistent with its state. */
export function report(s: ScenarioStation, m: number): Report {
  const seg = stateAt(s, m);
  const failFrom = seg.state === 'down' ? (seg.cause === 'lan' ? 0 : 1) : 9;
  const roles = [
    { target: 'gw', role: 'gateway', kind: 'icmp' },
    { target: 'isp', role: 'isp', kind: 'icmp' },
    { target: 'vpn', role: 'core', kind: 'tcp' },
    { target: 'dancu', role: 'service', kind: 'http' },
  ] as const;
  const probes = roles.map((r, i) => {
    const ok = i < failFrom;
    const rtt = 2 + i * 9 + (m % 5);
    return {
      ...r, ok, sent: 4, received: ok ? 4 : 0, loss: ok ? 0 : 1,
      ...(ok ? { rtt_min_ms: rtt - 1, rtt_avg_ms: rtt, rtt_max_ms: rtt + 2, rtt_p95_ms: rtt + 2, jitter_ms: 0.5 } : { error: 'timeout' as const }),
      ...(r.kind === 'http' && ok ? { phases: { dns_ms: 3, connect_ms: 12, tls_ms: 25, ttfb_ms: 80 }, status: 200 } : {}),
    };
  });
  return {
    v: 1, station: s.id, seq: m, ts: at(m), interval_s: 60, probes,
    sessions: [{ name: 'dancu-tls', up: seg.state !== 'degraded' || m % 2 === 0, drops: seg.state === 'degraded' ? 1 : 0, down_ms: seg.state === 'degraded' ? 5000 : 0 }],
    backlog: [{ source: 'outbox-dir', pending: seg.state === 'down' ? 40 + (m - seg.from) : 2, oldest_age_s: seg.state === 'down' ? 60 * (m - seg.from) : 30 }],
    host: { cpu_pct: 12 + (m % 10), mem_used_pct: 48, disk_free_bytes: 50_000_000_000, uptime_s: 86_400 + m * 60, iface: 'eth0', iface_up: true },
    outbox: { depth: seg.state === 'down' ? m - seg.from + 1 : 0, dropped: 0 },
    clock: { offset_ms: 3 },
  };
}

/** The collector's points of a station: a report a minute, except while silent or when reports were lost. */
export function collectorPoints(s: ScenarioStation): IPoint[] {
  const points: IPoint[] = [];
  for (let m = 0; m < MINUTES; m++) {
    if (stateAt(s, m).state === 'offline') continue;
    if (s.lostReports && m >= s.lostReports[0] && m < s.lostReports[1]) continue;
    points.push(...reportToPoints(report(s, m), s, at(m) + 250));
  }
  return points;
}

interface IncidentScript { scope: 'district' | 'isp'; key: string; from: number; to: number; stations: number; cause: string }

/** Ba Bể's ISP edge is failing now; Chợ Mới's LAN incident and VNPT's morning outage are closed. */
export const INCIDENTS: IncidentScript[] = [
  { scope: 'isp', key: 'VNPT', from: 690, to: 750, stations: 6, cause: 'uplink' },
  { scope: 'district', key: 'Chợ Mới', from: 900, to: 950, stations: 5, cause: 'lan' },
  { scope: 'district', key: 'Ba Bể', from: 1410, to: MINUTES, stations: 5, cause: 'uplink' },
];

/** Written every period while open, then once with `open=false, stations=0` when it closes (as the evaluator does). */
export function incidentPoints(): IPoint[] {
  const points: IPoint[] = [];
  for (const inc of INCIDENTS) {
    const tags = { scope: inc.scope, key: inc.key };
    for (let m = inc.from; m < inc.to; m++) {
      points.push({ measurement: 'incident', tags, fields: { stations: inc.stations, cause: inc.cause, open: true, since: at(inc.from) }, timestamp: at(m) });
    }
    if (inc.to < MINUTES) {
      points.push({ measurement: 'incident', tags, fields: { stations: 0, cause: inc.cause, open: false, since: at(inc.from) }, timestamp: at(inc.to) });
    }
  }
  return points;
}

export function allPoints(): IPoint[] {
  return [...STATIONS.flatMap((s) => [...healthPoints(s), ...collectorPoints(s)]), ...incidentPoints()];
}

// ---- what the scenario implies, computed from the points themselves ---------------------------------------------

export interface SlaFigures { availability: number; outages: number; downtimeMin: number; avail: number; total: number }

/** Availability over the points with `avail`; outages from `outage_start`; downtime by the trapezoid rule on 1 − avail. */
export function expectedSla(points: IPoint[]): SlaFigures {
  const withAvail = points.filter((p) => p.fields!.avail !== undefined);
  const avail = withAvail.reduce((n, p) => n + (p.fields!.avail as number), 0);
  let downtime = 0;
  for (let i = 1; i < withAvail.length; i++) {
    const a = withAvail[i - 1]!;
    const b = withAvail[i]!;
    const dt = ((b.timestamp as number) - (a.timestamp as number)) / 60_000;
    downtime += (dt * (1 - (a.fields!.avail as number) + 1 - (b.fields!.avail as number))) / 2;
  }
  return {
    availability: (100 * avail) / withAvail.length,
    outages: points.filter((p) => p.fields!.outage_start !== undefined).length,
    downtimeMin: downtime,
    avail,
    total: withAvail.length,
  };
}

/** Stations whose state at the end of the day is degraded, down or offline. */
export function brokenNow(): string[] {
  return STATIONS.filter((s) => ['degraded', 'down', 'offline'].includes(stateAt(s, MINUTES - 1).state)).map((s) => s.id).sort();
}

export function stateNow(s: ScenarioStation): StateName {
  return stateAt(s, MINUTES - 1).state;
}

export function codeOf(state: StateName): number {
  return CODES[state];
}

// ---- SLA rollups (RP `rollups`, schema of the SLA rollups: sla_hour / sla_day) ----------------------------------

const HOUR_MS = 3_600_000;
/** Vietnam's day starts at 17:00 UTC the day before (UTC+7, no DST). */
const VN_OFFSET_MS = 7 * HOUR_MS;

/** Which side of the SLA a minute of a station falls on (the rollups' fields). */
function side(seg: Segment): 'available_s' | 'downtime_s' | 'maintenance_s' | 'station_side_s' | 'other_s' {
  if (seg.state === 'maintenance') return 'maintenance_s';
  if (!isOutage(seg.state)) return 'available_s';
  if (seg.cause === 'uplink') return 'downtime_s';
  if (seg.cause === 'lan' || seg.cause === 'silent' || seg.cause === 'clock') return 'station_side_s';
  return 'other_s';
}

const nearestRank = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** One rollup point per station and period, from the script: `periodStart(ms)` maps a minute's time to its period. */
function rollupPoints(measurement: 'sla_hour' | 'sla_day', periodS: number, periodStart: (t: number) => number): IPoint[] {
  const points: IPoint[] = [];
  for (const s of STATIONS) {
    const byPeriod = new Map<number, { f: Record<string, number>; rtt: number[]; loss: number[] }>();
    for (let m = 0; m < MINUTES; m++) {
      const t = at(m);
      const start = periodStart(t);
      const seg = stateAt(s, m);
      const prev = m > 0 ? stateAt(s, m - 1) : undefined;
      const p = byPeriod.get(start) ?? { f: { available_s: 0, downtime_s: 0, maintenance_s: 0, station_side_s: 0, other_s: 0, outages: 0 }, rtt: [], loss: [] };
      byPeriod.set(start, p);
      p.f[side(seg)]! += 60;
      if (side(seg) === 'downtime_s' && (!prev || side(prev) !== 'downtime_s')) p.f.outages! += 1;
      if (side(seg) === 'available_s') {
        p.rtt.push(20 + ((m * 7 + s.id.length) % 13));
        p.loss.push(seg.state === 'degraded' ? 0.05 : 0);
      }
    }
    for (const [start, p] of byPeriod) {
      const known = p.f.available_s! + p.f.downtime_s! + p.f.maintenance_s! + p.f.station_side_s! + p.f.other_s!;
      const fields: Record<string, number> = { ...p.f, period_s: periodS, unknown_s: periodS - known, sla_target: s.sla_target };
      if (p.rtt.length > 0) {
        Object.assign(fields, {
          rtt_p50_ms: nearestRank(p.rtt, 50), rtt_p95_ms: nearestRank(p.rtt, 95), loss_p50: nearestRank(p.loss, 50),
          loss_p95: nearestRank(p.loss, 95), jitter_p50_ms: 0.5, jitter_p95_ms: 0.5,
        });
      }
      points.push({ measurement, tags: { ...tagsOf(s), circuit: s.circuit }, fields, timestamp: start });
    }
  }
  return points;
}

export function slaHourPoints(): IPoint[] {
  return rollupPoints('sla_hour', 3600, (t) => Math.floor(t / HOUR_MS) * HOUR_MS);
}

export function slaDayPoints(): IPoint[] {
  return rollupPoints('sla_day', 86_400, (t) => Math.floor((t + VN_OFFSET_MS) / 86_400_000) * 86_400_000 - VN_OFFSET_MS);
}

/** Creates the `rollups` RP (not default) and writes both rollups into it, as the evaluator does. */
export async function writeRollups(client: { query(q: string): Promise<unknown>; writePoints(p: IPoint[], o: { precision: 'ms'; retentionPolicy: string }): Promise<void> }, db = 'linkwatch'): Promise<void> {
  await client.query(`CREATE RETENTION POLICY "${ROLLUP_RP}" ON "${db}" DURATION 1830d REPLICATION 1`);
  await client.writePoints([...slaHourPoints(), ...slaDayPoints()], { precision: 'ms', retentionPolicy: ROLLUP_RP });
}

export interface RollupSla { available_s: number; downtime_s: number; outages: number; availability: number; mttrMin: number | null }

/** What the rollups say for a set of stations over [from, to): the figures of the SLA board. */
export function expectedRollupSla(ids: string[], from = NOW - 86_400_000, to = NOW): RollupSla {
  const pts = slaHourPoints().filter((p) => ids.includes(p.tags!.station!) && (p.timestamp as number) >= from && (p.timestamp as number) <= to);
  const sum = (k: string) => pts.reduce((n, p) => n + Number(p.fields![k] ?? 0), 0);
  const available_s = sum('available_s');
  const downtime_s = sum('downtime_s');
  const outages = sum('outages');
  return { available_s, downtime_s, outages, availability: (100 * available_s) / (available_s + downtime_s), mttrMin: outages > 0 ? downtime_s / 60 / outages : null };
}

/** A real influxd in a temp dir, database `linkwatch` filled with the scripted day and its rollups. */
export async function startScenarioInflux(): Promise<{ influx: LocalServer; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'lw-dash-'));
  let influx: LocalServer | undefined;
  const stop = async () => {
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    influx = await startInflux({ dir });
    const client = new InfluxDB({ host: '127.0.0.1', port: influx.port, database: 'linkwatch', schema: SCHEMA });
    await client.createDatabase('linkwatch');
    const points = allPoints();
    for (let i = 0; i < points.length; i += 10_000) await client.writePoints(points.slice(i, i + 10_000), { precision: 'ms' });
    await writeRollups(client);
    return { influx, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
