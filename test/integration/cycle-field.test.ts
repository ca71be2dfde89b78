/**
 * The `cycle` field of `report` (collector/cycle-field.ts) against the four measurements it stands for, on real
 * mosquitto and influxd. Reports published over MQTT and stored by the real collector decode to exactly the cycles
 * `toCycles` reads from `report`, `probe`, `session` and `backlog`; and a database where some reports were written
 * without the field (before the upgrade, or by an older collector sharing the subscription) gives the evaluator the
 * same cycles and the same verdicts as one where every report has it.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectorConfig } from '../../collector/config.js';
import { decodeCycle } from '../../collector/cycle-field.js';
import { EvaluationStore } from '../../collector/evaluation/store.js';
import { Evaluator, type Evaluation } from '../../collector/evaluator.js';
import { Influx, pointToLine } from '../../collector/influx.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { reportToLines, reportToPoints } from '../../collector/points.js';
import { loadRegistry, type Station } from '../../collector/registry.js';
import type { Cycle } from '../../collector/verdict/types.js';
import { silentLogger } from '../../lib/log.js';
import { report, type Report, type ReportInput, type Role } from '../../protocol/report.js';
import { topicFor } from '../../protocol/topics.js';
import { eventually, startEnv, type TestEnv, type TestStation } from '../helpers/env.js';

const P = 10_000;
// Simulated time in the recent past, inside the collector's time window and the database's retention.
const BASE = Math.floor((Date.now() - 3_600_000) / P) * P;
const T = (k: number) => BASE + k * P;

const DISTRICTS = ['Chợ Mới', 'Ba Bể', 'Bạch Thông'];
const STATIONS: TestStation[] = Array.from({ length: 10 }, (_, i) => ({
  id: `bk-st-${i}`, name: `Công an xã Đồng Tâm ${i}`, commune: `Xã Quảng Chu ${i}`, district: DISTRICTS[i % 3]!, isp: i % 2 ? 'Viettel' : 'VNPT',
}));
const IDS = STATIONS.map((s) => s.id);

/**
 * Station `i`'s report of period `k`: probes out of order, answered ones with and without jitter, failed ones with no
 * RTT, partial loss; sessions up and down; backlog sources with pending only, age only, both, and neither (bytes or an
 * error only); a clock offset on odd stations; `down` fails that role and everything behind it.
 */
function reportOf(i: number, k: number, down?: Role): Report {
  const order: Role[] = ['gateway', 'isp', 'core', 'service'];
  const failed = (role: Role) => down !== undefined && order.indexOf(role) >= order.indexOf(down);
  const probe = (target: string, role: Role, kind: 'icmp' | 'tcp' | 'http', answered: Partial<ReportInput['probes'][number]>) =>
    failed(role)
      ? { target, role, kind, ok: false, sent: 3, received: 0, loss: 1, error: 'timeout' as const }
      : { target, role, kind, ok: true, sent: 5, received: 5, loss: 0, ...answered };
  const input: ReportInput = {
    v: 1, station: IDS[i]!, seq: k, ts: T(k) - 5000, interval_s: i % 4 === 3 ? 2.5 : 10,
    probes: [
      probe('zalo', 'service', 'http', { rtt_avg_ms: 48.25 + k, phases: { dns_ms: 2, connect_ms: 8.5, ttfb_ms: 40 } }),
      probe('dancu', 'service', 'http', { ok: k % 3 !== 0, loss: k % 3 === 0 ? 1 : 0, error: k % 3 === 0 ? 'http_status' : undefined, status: k % 3 === 0 ? 503 : 200, rtt_avg_ms: 61 }),
      probe('gw', 'gateway', 'icmp', { rtt_min_ms: 0.4, rtt_avg_ms: 0.62 + i / 100, rtt_max_ms: 1.1, jitter_ms: 0.13 }),
      probe('isp-hop', 'isp', 'icmp', { received: 1, loss: 0.8, rtt_min_ms: 12.5, rtt_avg_ms: 12.5, rtt_max_ms: 12.5 }),
      probe('vpn', 'core', 'tcp', { sent: 1, received: 1, rtt_avg_ms: 21.7, jitter_ms: 0 }),
    ],
    sessions: i % 3 === 2 ? [] : [
      { name: 'vpn-ipsec', up: k % 4 !== 1, drops: k, down_ms: k % 4 === 1 ? 4000 : 0 },
      { name: 'dancu-tls', up: true, drops: 0, down_ms: 0 },
    ],
    backlog: i % 3 === 1 ? [] : [
      { source: 'outbox-dir', pending: 3 + k },
      { source: 'db-queue', oldest_age_s: 12.5 },
      { source: 'ftp', pending: 0, oldest_age_s: 0 },
      { source: 'spool', bytes: 1024 },
      { source: 'api', error: 'ECONNREFUSED' },
    ],
    host: { cpu_pct: 12, mem_used_pct: 41.5, iface_up: true },
    outbox: { depth: 0, dropped: 0 },
    clock: i % 2 ? { offset_ms: -1234.5 + k } : {},
  };
  return report.parse(input);
}

/** Each station's cycles as the `cycle` field of its stored reports says them, read on their own. */
async function fieldCycles(env: TestEnv, from: number, to: number): Promise<Map<string, Cycle[]>> {
  const rows = await env.query<{ station: string; time: Date; cycle?: string }>(`SELECT "cycle" FROM "report" WHERE time > ${from}ms AND time <= ${to}ms GROUP BY "station"`);
  const out = new Map<string, Cycle[]>();
  for (const r of rows) {
    const c = decodeCycle(r.cycle!, r.time.getTime());
    expect(c, r.cycle).toBeDefined();
    out.set(r.station, [...(out.get(r.station) ?? []), c!]);
  }
  return out;
}

describe('the cycle field on real servers', () => {
  let env: TestEnv;
  let cfg: CollectorConfig;
  let collector: RunningCollector;
  let publisher: MqttClient;
  let registry: Map<string, Station>;

  beforeAll(async () => {
    env = await startEnv();
    const registryFile = env.writeRegistry(STATIONS);
    registry = loadRegistry(registryFile);
    const configFile = env.writeConfig('collector.yaml', env.collectorConfig({ evaluator: { enabled: false, period: '10s' } }));
    cfg = loadCollectorConfig(configFile);
    collector = await startCollector(cfg, { configFile, log: silentLogger() });
    publisher = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'cycle-field-sim' });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await collector?.stop();
    await env?.close();
  });

  it('decodes to exactly the cycles the four measurements give, for reports stored by the collector', async () => {
    const K = 6;
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < IDS.length; i++) {
        await publisher.publishAsync(topicFor(IDS[i]!, 'report'), JSON.stringify(reportOf(i, k, i === 4 && k >= 3 ? 'gateway' : undefined)), { qos: 1 });
      }
    }
    const [from, to] = [T(0) - P, T(K)];
    await eventually('every report stored', async () => {
      const r = await env.query<{ count: number }>(`SELECT count("seq") FROM "report" WHERE time > ${from}ms AND time <= ${to}ms`);
      return r[0]?.count === K * IDS.length;
    });
    const store = new EvaluationStore(collector.influx, P / 1000);
    const measured = await store.measuredCycles(from, to);
    const all = [...measured.values()].flat();
    // The reports say what the comparison is about: it is not between two empty or trivial reads.
    expect(all).toHaveLength(K * IDS.length);
    expect(all.some((c) => c.probes.some((p) => !p.ok && p.rtt_ms === undefined && p.jitter_ms === undefined))).toBe(true);
    expect(all.some((c) => c.probes.some((p) => p.ok && p.rtt_ms !== undefined && p.jitter_ms === undefined))).toBe(true);
    expect(all.some((c) => c.sessions.some((s) => !s.up && s.drops > 0))).toBe(true);
    expect(all.some((c) => c.backlog.some((b) => b.pending === undefined) && c.backlog.some((b) => b.oldest_age_s === undefined))).toBe(true);
    expect(all.some((c) => c.clock_offset_ms !== undefined) && all.some((c) => c.clock_offset_ms === undefined)).toBe(true);

    expect(await fieldCycles(env, from, to)).toEqual(measured);
    // And the evaluator's read (the field, with its fallback) gives the same.
    expect(await store.cycles(IDS, from, to)).toEqual(measured);
    // The tags took the Vietnamese names as they are.
    const [tagged] = await env.query<{ district: string }>(`SELECT "cycle", "district" FROM "report" WHERE "station" = 'bk-st-1' LIMIT 1`);
    expect(tagged?.district).toBe('Ba Bể');
  });

  it('gives the same cycles and verdicts when some reports were written without it (before an upgrade, or by an older collector)', async () => {
    // Two databases with the same reports: in `full` every report has the field; in `mixed` station 0 never has it,
    // station 1 only from period 6 on (upgraded), station 2 every other period (an old and a new collector sharing
    // the subscription), the rest always.
    const full = new Influx({ url: env.influx.url, database: 'full', timeout: 10_000 });
    const mixed = new Influx({ url: env.influx.url, database: 'mixed', timeout: 10_000 });
    await full.ensureDatabase();
    await mixed.ensureDatabase();
    const withoutField = (i: number, k: number) => i === 0 || (i === 1 && k < 6) || (i === 2 && k % 2 === 1);
    const evaluatorOf = (influx: Influx, now: () => number) =>
      new Evaluator({ influx, log: silentLogger(), now, registry: () => registry, evaluator: cfg.evaluator, verdicts: cfg.verdicts });
    let simNow = T(0);
    const fullEvaluator = evaluatorOf(full, () => simNow);
    const mixedEvaluator = evaluatorOf(mixed, () => simNow);
    // Station 0 (never with the field) loses its gateway, station 2 its ISP: their verdicts come from old-shape reports.
    const down = (i: number, k: number): Role | undefined => (i === 0 && k >= 4 ? 'gateway' : i === 2 && k >= 4 ? 'isp' : undefined);

    const K = 12;
    let last: [Evaluation, Evaluation] | undefined;
    for (let k = 0; k < K; k++) {
      const newShape: string[] = [];
      const mixedShape: string[] = [];
      for (let i = 0; i < IDS.length; i++) {
        const r = reportOf(i, k, down(i, k));
        const station = registry.get(IDS[i]!)!;
        const lines = reportToLines(r, station, r.ts + 200).lines;
        newShape.push(lines);
        if (!withoutField(i, k)) mixedShape.push(lines);
        else {
          for (const p of reportToPoints(r, station, r.ts + 200)) {
            if (p.measurement === 'report') delete (p.fields as Record<string, unknown>).cycle;
            mixedShape.push(pointToLine(p));
          }
        }
      }
      await full.writeLines(newShape.join('\n'));
      await mixed.writeLines(mixedShape.join('\n'));
      simNow = T(k) + 2500;
      last = [await fullEvaluator.evaluate(), await mixedEvaluator.evaluate()];
      expect(last[1].verdicts).toEqual(last[0].verdicts);
      expect(last[1].incidents).toEqual(last[0].incidents);
    }
    const [, e] = last!;
    expect(e.verdicts.filter((v) => v.cause === 'silent')).toEqual([]);
    expect(Object.fromEntries(e.verdicts.filter((v) => v.state !== 'ok').map((v) => [v.station, `${v.state}/${v.cause}`]))).toMatchObject({
      'bk-st-0': 'down/lan', 'bk-st-2': 'down/uplink',
    });
    // The old-shape reports are really there without the field.
    const [withField] = await mixed.query(`SELECT count("cycle") FROM "report" WHERE "station" = 'bk-st-0'`) as unknown as Array<{ count?: number }>;
    expect(withField?.count ?? 0).toBe(0);

    // The reads themselves: the incremental one (mixed rows in one span) and a restart's full read.
    const [from, to] = [T(0) - P, T(K)];
    const fullCycles = await new EvaluationStore(full, P / 1000).measuredCycles(from, to);
    expect(await new EvaluationStore(mixed, P / 1000).cycles(IDS, from, to)).toEqual(fullCycles);
    expect(await new EvaluationStore(mixed, P / 1000).cycles(IDS.slice(0, 3), from, to)).toEqual(new Map(IDS.slice(0, 3).map((s) => [s, fullCycles.get(s)])));
    const restarted = evaluatorOf(mixed, () => simNow);
    const again = await restarted.evaluate();
    expect(restarted.stats.full_reads).toBe(1);
    expect(again.verdicts).toEqual(e.verdicts);
  });

  it('reads a database written wholly before the upgrade, more stations than it names in a filter, from the measurements', async () => {
    // Right after the upgrade every report of the look-back lacks the field: 250 stations, each two periods.
    const old = new Influx({ url: env.influx.url, database: 'before_upgrade', timeout: 10_000 });
    await old.ensureDatabase();
    const template = registry.get(IDS[0]!)!;
    const lines: string[] = [];
    for (let n = 0; n < 250; n++) {
      const station: Station = { ...template, id: `bk-old-${n}`, district: DISTRICTS[n % 3]! };
      for (const k of [0, 1]) {
        const r = report.parse({ ...reportOf(n % IDS.length, k), station: station.id });
        for (const p of reportToPoints(r, station, r.ts + 200)) {
          if (p.measurement === 'report') delete (p.fields as Record<string, unknown>).cycle;
          lines.push(pointToLine(p));
        }
      }
    }
    await old.writeLines(lines.join('\n'));
    const store = new EvaluationStore(old, P / 1000);
    const [from, to] = [T(0) - P, T(2)];
    const measured = await store.measuredCycles(from, to);
    expect([...measured.values()].flat()).toHaveLength(500);
    expect((await store.recent(from, to, to, 2000)).cycles).toEqual(measured);
    expect((await store.seed(T(2), 3 * P, 2000)).cycles).toEqual(measured);
  });
});
