/**
 * Verdicts end to end on real mosquitto and influxd: 30 simulated stations in 3 districts publish real v1 reports
 * over MQTT, the collector stores them, the evaluator judges them period by period (simulated time, injected `now`),
 * and `linkwatch status --json` (the built CLI) reads the verdicts back.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Evaluator, type Evaluation } from '../../collector/evaluator.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import type { CollectorConfig } from '../../collector/config.js';
import { silentLogger } from '../../lib/log.js';
import { report, type ReportInput, type Role } from '../../protocol/report.js';
import { topicFor } from '../../protocol/topics.js';
import { eventually, startEnv, type TestEnv, type TestStation } from '../helpers/env.js';

const P = 10_000;
// Simulated time runs in the recent past, so InfluxQL's now()-relative defaults and retention never interfere.
const BASE = Math.floor((Date.now() - 3_600_000) / P) * P;
const T = (k: number) => BASE + k * P;

const DISTRICTS = [
  { code: 'cm', name: 'Chợ Mới', isps: ['VNPT', 'VNPT', 'VNPT', 'VNPT', 'VNPT', 'VNPT', 'Viettel', 'Viettel', 'Viettel', 'Viettel'] },
  { code: 'bb', name: 'Ba Bể', isps: Array<string>(10).fill('Viettel') },
  { code: 'bt', name: 'Bạch Thông', isps: ['VNPT', 'VNPT', 'VNPT', 'VNPT', 'VNPT', 'FPT', 'FPT', 'FPT', 'FPT', 'FPT'] },
];
const STATIONS: TestStation[] = DISTRICTS.flatMap((d) =>
  d.isps.map((isp, i) => ({ id: `bk-${d.code}-${i}`, name: `Công an xã ${d.name} ${i}`, commune: `Xã Đồng Tâm ${i}`, district: d.name, isp })),
);

// The faults of phase 1.
const GATEWAY = 'bk-bb-2';
const ISP_EDGE = STATIONS.filter((s) => s.district === 'Chợ Mới' && s.isp === 'VNPT').map((s) => s.id);
const POWER = 'bk-bt-7';
const FLAPPING = 'bk-bb-5';
const BACKLOG = 'bk-bt-3';

interface Fault {
  fail?: Role[];
  backlogAgeS?: number;
}

function buildReport(station: string, k: number, fault: Fault): ReportInput {
  const probe = (target: string, role: Role, kind: 'icmp' | 'tcp' | 'http') => {
    const down = fault.fail?.includes(role);
    return down
      ? { target, role, kind, ok: false, sent: 3, received: 0, loss: 1, error: 'timeout' as const }
      : { target, role, kind, ok: true, sent: 3, received: 3, loss: 0, rtt_min_ms: 4, rtt_avg_ms: 6 + (role === 'service' ? 30 : 0), rtt_max_ms: 9, jitter_ms: 1 };
  };
  // The national service is behind the gateway, ISP and hub: whatever fails before it fails it too.
  const fail = new Set(fault.fail ?? []);
  const order: Role[] = ['gateway', 'isp', 'core', 'service'];
  const first = order.findIndex((r) => fail.has(r));
  if (first >= 0) for (const r of order.slice(first)) fail.add(r);
  fault = { ...fault, fail: [...fail] };
  return report.parse({
    v: 1, station, seq: k, ts: T(k) - 5000, interval_s: P / 1000,
    probes: [probe('gw', 'gateway', 'icmp'), probe('isp', 'isp', 'icmp'), probe('vpn', 'core', 'tcp'), probe('dancu', 'service', 'http')],
    sessions: [{ name: 'dancu-tls', up: true, drops: 0, down_ms: 0 }],
    backlog: [{ source: 'outbox-dir', pending: fault.backlogAgeS ? 42 : 0, ...(fault.backlogAgeS ? { oldest_age_s: fault.backlogAgeS } : {}) }],
    host: { cpu_pct: 10, mem_used_pct: 40, iface_up: true },
    outbox: { depth: 0, dropped: 0 },
    clock: { offset_ms: 3 },
  });
}

type Scenario = (station: string, k: number) => Fault | 'silent';

const phase1: Scenario = (s, k) => {
  if (s === GATEWAY) return { fail: ['gateway'] };
  if (ISP_EDGE.includes(s)) return { fail: ['isp'] };
  if (s === POWER) return 'silent';
  if (s === FLAPPING) return k % 2 === 0 ? { fail: ['isp'] } : {};
  if (s === BACKLOG) return { backlogAgeS: 1000 + 10 * k };
  return {};
};
const phase2: Scenario = () => ({ fail: ['service'] });
const allGood: Scenario = () => ({});

describe('verdicts on real servers: 30 stations, 3 districts, six kinds of fault', () => {
  let env: TestEnv;
  let collector: RunningCollector;
  let cfg: CollectorConfig;
  let configFile: string;
  let publisher: MqttClient;
  let evaluator: Evaluator;
  let simNow = T(0);
  const evaluations = new Map<number, Evaluation>();

  beforeAll(async () => {
    buildCliIfStale();
    env = await startEnv();
    env.writeRegistry(STATIONS);
    configFile = env.writeConfig('collector.yaml', env.collectorConfig({ evaluator: { enabled: false, period: '10s' } }));
    cfg = loadCollectorConfig(configFile);
    collector = await startCollector(cfg, { configFile, log: silentLogger(), now: () => simNow });
    evaluator = newEvaluator();
    publisher = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'province-sim' });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await collector?.stop();
    await env?.close();
  });

  function newEvaluator() {
    return new Evaluator({
      influx: collector.influx, log: silentLogger(), now: () => simNow, registry: collector.registry,
      evaluator: cfg.evaluator, verdicts: cfg.verdicts,
    });
  }

  /** One period: every station that is not silent reports, the reports are stored, the period is evaluated. */
  async function cycle(k: number, scenario: Scenario, ev = evaluator): Promise<Evaluation> {
    simNow = T(k) - 4000;
    let published = 0;
    for (const s of STATIONS) {
      const fault = scenario(s.id, k);
      if (fault === 'silent') continue;
      await publisher.publishAsync(topicFor(s.id, 'report'), JSON.stringify(buildReport(s.id, k, fault)), { qos: 1 });
      published++;
    }
    await eventually(`reports of period ${k} stored`, async () => {
      const r = await env.query<{ count: number }>(`SELECT count("seq") FROM "report" WHERE time = ${T(k) - 5000}ms`);
      return r[0]?.count === published;
    });
    simNow = T(k) + 2500;
    const e = await ev.evaluate();
    expect(e.at).toBe(T(k));
    evaluations.set(k, e);
    return e;
  }

  const notOk = (e: Evaluation) => Object.fromEntries(e.verdicts.filter((v) => v.state !== 'ok').map((v) => [v.station, `${v.state}/${v.cause}`]));
  const expectedPhase1 = {
    [GATEWAY]: 'down/lan',
    ...Object.fromEntries(ISP_EDGE.map((s) => [s, 'down/uplink'])),
    [POWER]: 'offline/silent',
    [FLAPPING]: 'degraded/uplink',
    [BACKLOG]: 'degraded/backlog',
  };

  it('flags exactly the broken stations with the right causes, the district outage as one incident', async () => {
    for (let k = 0; k < 4; k++) expect(notOk(await cycle(k, allGood))).toEqual({});
    let e!: Evaluation;
    for (let k = 4; k <= 13; k++) e = await cycle(k, phase1);
    expect(notOk(e)).toEqual(expectedPhase1);
    expect(e.incidents.map((i) => [i.scope, i.key, i.cause, i.stations, i.open])).toEqual([['district', 'Chợ Mới', 'uplink', 6, true]]);

    // The health points in InfluxDB say the same.
    const health = await env.query<{ station: string; state: string; cause: string; code: number; avail?: number; district: string; name: string }>(
      `SELECT * FROM "health" WHERE time = ${T(13)}ms`,
    );
    expect(health).toHaveLength(30);
    expect(Object.fromEntries(health.filter((h) => h.state !== 'ok').map((h) => [h.station, `${h.state}/${h.cause}`]))).toEqual(expectedPhase1);
    const gw = health.find((h) => h.station === GATEWAY)!;
    expect(gw).toMatchObject({ code: 2, avail: 0, district: 'Ba Bể', name: 'Công an xã Ba Bể 2' });
    // Each outage is counted once.
    const starts = await env.query<{ count: number }>(`SELECT count("outage_start") FROM "health" WHERE "station" = '${ISP_EDGE[0]}'`);
    expect(starts[0]?.count).toBe(1);

    // The district outage is one incident series; nothing else was ever an incident.
    const incidents = await env.query<{ scope: string; key: string; cause: string; stations: number; open: boolean }>(`SELECT * FROM "incident"`);
    expect(new Set(incidents.map((i) => `${i.scope}/${i.key}/${i.cause}/${i.stations}/${i.open}`))).toEqual(new Set(['district/Chợ Mới/uplink/6/true']));
  });

  it('does not flap the verdict of a flapping link', async () => {
    const states = [...evaluations.entries()].filter(([k]) => k >= 4 && k <= 13).map(([, e]) => e.verdicts.find((v) => v.station === FLAPPING)!.state);
    const changes = states.filter((s, i) => i > 0 && s !== states[i - 1]).length;
    expect(changes).toBe(1);
    expect(states.slice(-3)).toEqual(['degraded', 'degraded', 'degraded']);
    const stored = await env.query<{ state: string }>(`SELECT "state" FROM "health" WHERE "station" = '${FLAPPING}' AND time >= ${T(9)}ms AND time <= ${T(13)}ms`);
    expect(stored.map((s) => s.state)).toEqual(Array(5).fill('degraded'));
  });

  it('a second (or restarted) evaluator writes identical points', async () => {
    // The first evaluator read the look-back once and only what was new since; the second reads it all at once.
    expect(evaluator.stats).toMatchObject({ full_reads: 1, evaluations: 14 });
    const second = newEvaluator();
    simNow = T(13) + 2500;
    const again = await second.evaluate();
    const strip = (e: Evaluation) => ({ at: e.at, verdicts: e.verdicts, incidents: e.incidents });
    expect(strip(again)).toEqual(strip(evaluations.get(13)!));
  });

  it('linkwatch status --json names the same stations and the incident, and exits 1', () => {
    const r = runCli(['status', '--config', configFile, '--json']);
    expect(r.status, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as { at: number; total: number; stations: Array<{ station: string; state: string; cause: string; district: string; commune: string }>; incidents: Array<{ scope: string; key: string; cause: string; stations: number }> };
    expect(out.at).toBe(T(13));
    expect(out.total).toBe(30);
    expect(Object.fromEntries(out.stations.map((s) => [s.station, `${s.state}/${s.cause}`]))).toEqual(expectedPhase1);
    // Most severe first: offline, then down, then degraded.
    expect(out.stations[0]!.station).toBe(POWER);
    expect(out.stations.slice(-2).map((s) => s.state)).toEqual(['degraded', 'degraded']);
    expect(out.incidents).toEqual([expect.objectContaining({ scope: 'district', key: 'Chợ Mới', cause: 'uplink', stations: 6 })]);
    const table = runCli(['status', '--config', configFile]);
    expect(table.stdout).toMatch(/^10 of 30 stations not ok\n/);
    expect(table.stdout).toContain('Bạch Thông');
  });

  it('the national service down is one province incident; the district one is closed', async () => {
    let e!: Evaluation;
    for (let k = 14; k <= 17; k++) e = await cycle(k, phase2);
    expect(Object.values(notOk(e))).toEqual(Array(30).fill('down/service'));
    expect(e.incidents.map((i) => [i.scope, i.key, i.cause, i.stations, i.open])).toEqual([['province', 'Bắc Kạn', 'service', 30, true]]);
    const district = await env.query<{ open: boolean }>(`SELECT "open" FROM "incident" WHERE "scope" = 'district' ORDER BY time DESC LIMIT 1`);
    expect(district[0]?.open).toBe(false);
    const r = runCli(['status', '--config', configFile, '--json']);
    expect(r.status).toBe(1);
    expect((JSON.parse(r.stdout) as { incidents: unknown[] }).incidents).toEqual([expect.objectContaining({ scope: 'province', key: 'Bắc Kạn', stations: 30 })]);
  });

  it('clears after two good periods, closes the incident, and status exits 0', async () => {
    expect(notOk(await cycle(18, allGood))).not.toEqual({});
    const e = await cycle(19, allGood);
    expect(notOk(e)).toEqual({});
    expect(e.incidents.map((i) => [i.scope, i.open])).toEqual([['province', false]]);
    const r = runCli(['status', '--config', configFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^All 30 stations ok\./);
  });
});

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['bin/linkwatch.js', ...args], { encoding: 'utf8', timeout: 30_000 });
}

/** The tests run the built CLI; build it when a source it needs is newer than dist/. */
function buildCliIfStale() {
  const built = existsSync('dist/cli/status.js') ? statSync('dist/cli/status.js').mtimeMs : 0;
  const sources = ['cli/status.ts', 'cli/main.ts', 'collector/evaluator.ts', 'collector/main.ts', 'collector/verdict/format.ts'];
  if (sources.some((s) => statSync(s).mtimeMs > built)) spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
}
