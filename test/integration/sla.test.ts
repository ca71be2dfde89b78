/**
 * The SLA end to end on real mosquitto and influxd: five stations report over MQTT for three hours of simulated time
 * (60 s periods) — an ISP-edge outage across an hour boundary at one, a LAN fault at another, a maintenance window
 * (with its ISP edge failing inside it) at a third, a healthy fourth, and a fifth whose ISP outage makes it silent
 * until its agent backfills the reports. The real evaluator judges every period and its rollup job writes the
 * rollups; the built CLI's `linkwatch sla` reads them back as JSON, CSV and PDF.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../../collector/evaluator.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import type { CollectorConfig } from '../../collector/config.js';
import { RollupJob } from '../../collector/sla/rollup-job.js';
import type { Statement, StatementRow } from '../../collector/sla/statement.js';
import { nextVnMonth } from '../../collector/sla/time.js';
import { silentLogger } from '../../lib/log.js';
import { report, type ReportInput, type Role } from '../../protocol/report.js';
import { topicFor } from '../../protocol/topics.js';
import { eventually, startEnv, type TestEnv, type TestStation } from '../helpers/env.js';

const P = 60_000;
const HOUR = 3_600_000;
// Three whole hours in the recent past (so retention and now()-relative defaults never interfere).
const BASE = Math.floor((Date.now() - 5 * HOUR) / HOUR) * HOUR;
const T = (k: number) => BASE + k * P;
const K = 180;

const STATIONS: TestStation[] = [
  { id: 'bk-isp', name: 'Công an xã Yên Đĩnh', commune: 'Xã Yên Đĩnh', district: 'Chợ Mới', isp: 'VNPT' },
  { id: 'bk-lan', name: 'Công an xã Đồng Lạc', commune: 'Xã Đồng Lạc', district: 'Chợ Đồn', isp: 'Viettel' },
  { id: 'bk-mnt', name: 'Công an phường Đức Xuân', commune: 'Phường Đức Xuân', district: 'Bắc Kạn', isp: 'VNPT' },
  { id: 'bk-ok', name: 'Công an xã Quảng Khê', commune: 'Xã Quảng Khê', district: 'Ba Bể', isp: 'FPT' },
  { id: 'bk-bf', name: 'Công an xã Nà Phặc', commune: 'Xã Nà Phặc', district: 'Ngân Sơn', isp: 'Viettel' },
];

// The script: periods k (the report measured at T(k) − 30 s) with a fault.
const ISP_FAULT = { from: 41, to: 80 }; // 40 min, across the hour boundary at k = 60
const LAN_FAULT = { from: 91, to: 120 }; // 30 min
const MAINTENANCE = { from: 130, to: 160 }; // window [T(130), T(160)): 30 min
const MNT_ISP_FAULT = { from: 135, to: 150 }; // inside the window: excluded
const BF_FAULT = { from: 100, to: 120 }; // 21 min; the station's reports arrive only afterwards
const within = (k: number, r: { from: number; to: number }) => k >= r.from && k <= r.to;

function failing(station: string, k: number): Role[] {
  if (station === 'bk-isp' && within(k, ISP_FAULT)) return ['isp', 'core', 'service'];
  if (station === 'bk-lan' && within(k, LAN_FAULT)) return ['gateway', 'isp', 'core', 'service'];
  if (station === 'bk-mnt' && within(k, MNT_ISP_FAULT)) return ['isp', 'core', 'service'];
  if (station === 'bk-bf' && within(k, BF_FAULT)) return ['isp', 'core', 'service'];
  return [];
}

function buildReport(station: string, k: number, backfill = false): ReportInput {
  const fail = failing(station, k);
  const probe = (target: string, role: Role, kind: 'icmp' | 'tcp' | 'http', rtt: number) =>
    fail.includes(role)
      ? { target, role, kind, ok: false, sent: 3, received: 0, loss: 1, error: 'timeout' as const }
      : { target, role, kind, ok: true, sent: 3, received: 3, loss: 0, rtt_min_ms: rtt - 2, rtt_avg_ms: rtt + (k % 5), rtt_max_ms: rtt + 6, jitter_ms: 1 + (k % 3) };
  return report.parse({
    v: 1, station, seq: k, ts: T(k) - 30_000, interval_s: P / 1000,
    probes: [probe('gw', 'gateway', 'icmp', 2), probe('isp', 'isp', 'icmp', 12), probe('vpn', 'core', 'tcp', 25), probe('dancu', 'service', 'http', 60)],
    sessions: [], backlog: [], host: { cpu_pct: 5, mem_used_pct: 30, iface_up: true },
    outbox: { depth: backfill ? 20 : 0, dropped: 0 }, clock: { offset_ms: 2 },
  });
}

describe('linkwatch sla on real servers: an ISP outage, a LAN fault, maintenance, a healthy station, a backfilled outage', () => {
  let env: TestEnv;
  let collector: RunningCollector;
  let cfg: CollectorConfig;
  let configFile: string;
  let publisher: MqttClient;
  let simNow = T(K) + 60_000;
  let json: Statement;
  let rolls: RollupJob;

  beforeAll(async () => {
    env = await startEnv();
    env.writeRegistry(STATIONS);
    const maintenance = join(env.dir, 'maintenance.yaml');
    writeFileSync(maintenance, `windows:\n  - station: bk-mnt\n    start: ${new Date(T(MAINTENANCE.from)).toISOString()}\n    end: ${new Date(T(MAINTENANCE.to)).toISOString()}\n    reason: thay bộ định tuyến\n`);
    configFile = env.writeConfig('collector.yaml', env.collectorConfig({ evaluator: { enabled: false, period: '60s', settle: '5s' }, verdicts: { maintenance } }));
    cfg = loadCollectorConfig(configFile);
    collector = await startCollector(cfg, { configFile, log: silentLogger(), now: () => simNow });
    publisher = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'sla-sim' });

    const held = (s: string, k: number) => s === 'bk-bf' && within(k, BF_FAULT);
    const publish = async (pred: (s: string, k: number) => boolean, backfill = false) => {
      let n = 0;
      for (let k = 1; k <= K; k++) {
        for (const s of STATIONS) {
          if (!pred(s.id, k)) continue;
          await publisher.publishAsync(topicFor(s.id, 'report'), JSON.stringify(buildReport(s.id, k, backfill)), { qos: 1 });
          n++;
        }
      }
      return n;
    };
    const live = await publish((s, k) => !held(s, k));
    await eventually('live reports stored', async () => (await env.query<{ count: number }>(`SELECT count("seq") FROM "report"`))[0]?.count === live, 60_000);

    rolls = new RollupJob({
      influx: collector.influx, database: env.database, log: silentLogger(), registry: collector.registry, periodMs: P,
      vpnIsps: cfg.sla.vpn_isps, rawRetentionMs: cfg.influx.raw_retention, rollupRetentionMs: cfg.influx.rollup_retention,
    });
    const evaluator = new Evaluator({
      influx: collector.influx, log: silentLogger(), now: () => simNow, registry: collector.registry,
      evaluator: cfg.evaluator, verdicts: cfg.verdicts, rollups: rolls,
    });
    const evaluate = async (k: number) => {
      simNow = T(k) + 5_000;
      const e = await evaluator.evaluate();
      expect(e.at).toBe(T(k));
    };
    for (let k = 1; k <= 135; k++) await evaluate(k);
    // bk-bf's agent is back: it backfills the reports it kept while its ISP edge was down.
    const backfilled = await publish(held, true);
    await eventually('backfilled reports stored', async () => (await env.query<{ count: number }>(`SELECT count("seq") FROM "report"`))[0]?.count === live + backfilled, 60_000);
    for (let k = 136; k <= K; k++) await evaluate(k);
    simNow = Date.now();

    const r = runCli(['sla', '--config', configFile, '--from', new Date(BASE).toISOString(), '--to', new Date(T(K)).toISOString(), '--format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    json = JSON.parse(r.stdout) as Statement;
  }, 300_000);

  afterAll(async () => {
    await publisher?.endAsync();
    await collector?.stop();
    await env?.close();
  });

  const row = (id: string): StatementRow => json.rows.find((r) => r.station === id)!;
  const near = (actual: number, expected: number, tolerance = 2 * P) => expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
  const scriptedSpan = (r: { from: number; to: number }) => ({ start: T(r.from - 1), end: T(r.to), seconds: (r.to - r.from + 1) * 60 });

  it('writes one sla_hour point per station and hour, and the days and months, in the rollups policy', async () => {
    const hours = await env.query<{ count: number }>(`SELECT count("period_s") FROM "rollups"."sla_hour" WHERE time >= ${BASE}ms AND time < ${T(K)}ms`);
    expect(hours[0]?.count).toBe(3 * STATIONS.length);
    const tagged = await env.query<{ circuit: string; district: string }>(`SELECT * FROM "rollups"."sla_hour" WHERE "station" = 'bk-isp' AND time = ${BASE}ms`);
    expect(tagged[0]).toMatchObject({ circuit: 'VNPT-bk-isp', district: 'Chợ Mới', period_s: 3600, sla_target: 99.5 });
    const days = await env.query<{ available_s: number; downtime_s: number }>(`SELECT sum("available_s") AS "available_s", sum("downtime_s") AS "downtime_s" FROM "rollups"."sla_day" WHERE "station" = 'bk-isp'`);
    expect(days[0]!.available_s + days[0]!.downtime_s).toBe(3 * 3600);
    const months = await env.query<{ available_s: number; downtime_s: number; period_s: number }>(`SELECT sum("available_s") AS "available_s", sum("downtime_s") AS "downtime_s" FROM "rollups"."sla_month" WHERE "station" = 'bk-isp'`);
    expect(months[0]!.available_s + months[0]!.downtime_s).toBe(3 * 3600);
    expect(months[0]!.downtime_s).toBe(days[0]!.downtime_s);
    // A day spans 24 h and a month its own length in Vietnamese time, however little of it has rollups (the rest is unknown).
    const daySpans = await env.query<{ period_s: number }>(`SELECT "period_s" FROM "rollups"."sla_day" WHERE "station" = 'bk-isp'`);
    expect(daySpans.length).toBeGreaterThan(0);
    expect(daySpans.map((r) => r.period_s)).toEqual(daySpans.map(() => 86_400));
    const monthSpans = await env.query<{ time: Date; period_s: number }>(`SELECT "period_s" FROM "rollups"."sla_month" WHERE "station" = 'bk-isp'`);
    expect(monthSpans.length).toBeGreaterThan(0);
    expect(monthSpans.map((r) => r.period_s)).toEqual(monthSpans.map((r) => (nextVnMonth(r.time.getTime()) - r.time.getTime()) / 1000));
    const policies = await collector.influx.client.showRetentionPolicies(env.database);
    expect(policies.find((p) => p.name === 'rollups')).toMatchObject({ duration: '43920h0m0s' });
    expect(policies.find((p) => p.default)).toMatchObject({ duration: '2160h0m0s' });
  });

  it('charges the ISP-edge outage to the ISP, with its start, end and cause, as one outage across the hour boundary', () => {
    const r = row('bk-isp');
    const span = scriptedSpan(ISP_FAULT);
    near(r.downtime_s * 1000, span.seconds * 1000);
    expect(r.outages).toHaveLength(1);
    const o = r.outages[0]!;
    expect(o.cause).toBe('uplink');
    near(Date.parse(o.start), span.start);
    near(Date.parse(o.end), span.end);
    expect(o.duration_s).toBe(r.downtime_s);
    expect(r.availability_pct).toBeCloseTo((100 * (10_800 - r.downtime_s)) / 10_800, 3);
    expect(r.slo_met).toBe(false);
    expect(r.mttr_s).toBe(r.downtime_s);
    expect(r.mtbf_s).toBe(10_800 - r.downtime_s);
    expect(r.excluded_s).toEqual({ maintenance: 0, station_side: 0, other: 0 });
    expect(r.data_completeness_pct).toBe(100);
  });

  it('excludes the LAN fault as station-side: full availability, no outage', () => {
    const r = row('bk-lan');
    near(r.excluded_s.station_side * 1000, scriptedSpan(LAN_FAULT).seconds * 1000);
    expect(r).toMatchObject({ downtime_s: 0, availability_pct: 100, slo_met: true, outages: [], mttr_s: null, mtbf_s: null });
    expect(r.excluded_s.maintenance).toBe(0);
  });

  it('excludes the maintenance window (and the ISP failure inside it) exactly', () => {
    const r = row('bk-mnt');
    expect(r.excluded_s).toEqual({ maintenance: (MAINTENANCE.to - MAINTENANCE.from) * 60, station_side: 0, other: 0 });
    expect(r).toMatchObject({ downtime_s: 0, availability_pct: 100, outages: [] });
  });

  it('gives the healthy station full availability and its ISP-edge latency percentiles', () => {
    const r = row('bk-ok');
    expect(r).toMatchObject({ downtime_s: 0, availability_pct: 100, slo_met: true, outages: [], available_s: 10_800, data_completeness_pct: 100 });
    expect(r.excluded_s).toEqual({ maintenance: 0, station_side: 0, other: 0 });
    // rtt_avg_ms of the ISP edge is 12 + (k mod 5): 12..16 ms.
    expect(r.rtt_p50_ms).toBe(14);
    expect(r.rtt_p95_ms).toBe(16);
    expect(r.loss_p95).toBe(0);
  });

  it('charges the outage a backfill revealed to the ISP, not to the station (the rollups were revised)', () => {
    const r = row('bk-bf');
    const span = scriptedSpan(BF_FAULT);
    expect(r.excluded_s.station_side).toBe(0);
    expect(r.outages).toHaveLength(1);
    expect(r.outages[0]!.cause).toBe('uplink');
    // Live, the station was silent: the revision starts at the first silent point, 3 periods after the fault began.
    near(Date.parse(r.outages[0]!.start), span.start, 3 * P);
    near(Date.parse(r.outages[0]!.end), span.end);
    near(r.downtime_s * 1000, span.seconds * 1000, 3 * P);
    expect(rolls.stats.rerolled_hours).toBeGreaterThan(0);
  });

  it('--isp gives only that ISP\'s circuits', () => {
    const r = runCli(['sla', '--config', configFile, '--from', new Date(BASE).toISOString(), '--to', new Date(T(K)).toISOString(), '--format', 'json', '--isp', 'vnpt']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Statement).rows.map((x) => x.station)).toEqual(['bk-isp', 'bk-mnt']);
    const bad = runCli(['sla', '--config', configFile, '--month', '2026-11', '--isp', 'Mobifone']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('VNPT');
  });

  it('the CSV carries the same figures', () => {
    const r = runCli(['sla', '--config', configFile, '--from', new Date(BASE).toISOString(), '--to', new Date(T(K)).toISOString(), '--format', 'csv']);
    expect(r.status, r.stderr).toBe(0);
    const [head, ...lines] = r.stdout.trim().split('\r\n');
    const cols = head!.split(',');
    const byStation = new Map(lines.map((l) => [l.split(',')[0]!, l]));
    for (const j of json.rows) {
      const line = byStation.get(j.station)!;
      const cell = (c: string) => line.split(',')[cols.indexOf(c)];
      expect(line).toContain(j.name);
      expect(Number(cell('availability_pct'))).toBe(j.availability_pct);
      expect(Number(cell('downtime_s'))).toBe(j.downtime_s);
      expect(Number(cell('excluded_maintenance_s'))).toBe(j.excluded_s.maintenance);
      expect(Number(cell('excluded_station_side_s'))).toBe(j.excluded_s.station_side);
      expect(Number(cell('outage_count'))).toBe(j.outages.length);
      for (const o of j.outages) expect(line).toContain(`${o.start}/${o.end}/${o.duration_s}/${o.cause}`);
    }
  });

  it('the PDF carries the same figures, in Vietnamese with its diacritics', () => {
    const file = join(env.dir, 'sla.pdf');
    for (const lang of ['en', 'vi']) {
      const r = runCli(['sla', '--config', configFile, '--from', new Date(BASE).toISOString(), '--to', new Date(T(K)).toISOString(), '--format', 'pdf', '--lang', lang, '--out', file]);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');
      const text = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).stdout.normalize('NFC');
      const isp = row('bk-isp');
      const decimal = (v: number) => (lang === 'vi' ? v.toFixed(3).replace('.', ',') : v.toFixed(3));
      expect(text).toContain(`${decimal(isp.availability_pct!)} %`);
      for (const j of json.rows) expect(text).toContain(j.name);
      expect(text).toContain(isp.outages[0]!.start.slice(0, 16).replace('T', ' '));
      if (lang === 'vi') {
        expect(text).toContain('Báo cáo cam kết chất lượng dịch vụ (SLA)');
        expect(text).toContain('Lỗi phía đơn vị (loại trừ)');
        expect(text).toContain('Không đạt'.toLowerCase());
      } else {
        expect(text).toContain('Maintenance (excluded)');
        expect(text).toMatch(/RFC 2330/);
        expect(text).toMatch(/RFC 3393/);
        expect(text).toMatch(/ITU-T Y\.1540/);
        expect(text).toMatch(/RFC 7680/);
      }
    }
  });
});

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['bin/linkwatch.js', ...args], { encoding: 'utf8', timeout: 60_000 });
}
