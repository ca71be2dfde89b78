/**
 * Revising the past on real mosquitto and influxd: a station whose ISP edge fails cannot reach the broker, so it is
 * judged offline/silent; when it is back it sends its live reports first and its backlog later (real v1 reports over
 * MQTT, simulated measurement times, injected `now`). The evaluator then rewrites the health points of the silent span
 * from the backfilled reports. A second station with a power cut (no reports, nothing backfilled) stays silent.
 */
import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../../collector/evaluator.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import type { CollectorConfig } from '../../collector/config.js';
import { silentLogger } from '../../lib/log.js';
import { report, type ReportInput, type Role } from '../../protocol/report.js';
import { topicFor } from '../../protocol/topics.js';
import { eventually, startEnv, type TestEnv, type TestStation } from '../helpers/env.js';

const P = 10_000;
const BASE = Math.floor((Date.now() - 3_600_000) / P) * P;
const T = (k: number) => BASE + k * P;

const UPLINK = 'bk-na-1';
const POWER = 'bk-na-2';
const BLIP = 'bk-na-3';
const STATIONS: TestStation[] = [
  { id: UPLINK, name: 'Công an xã Côn Minh', commune: 'Côn Minh', district: 'Na Rì', isp: 'VNPT' },
  { id: POWER, name: 'Công an xã Kim Hỷ', commune: 'Kim Hỷ', district: 'Na Rì', isp: 'VNPT' },
  { id: BLIP, name: 'Công an xã Lạng San', commune: 'Lạng San', district: 'Na Rì', isp: 'Viettel' },
];
// The ISP edge fails from period 5 to 14; the power is cut over the same periods.
const FAULT = (k: number) => k >= 5 && k <= 14;
// A third station loses the broker over periods 5–8, but its ISP edge failed only in 5 and 6 (the agent was still
// reconnecting after that): too short to be down, so its silent points and their outage start must go.
const BLIP_OFF = (k: number) => k >= 5 && k <= 8;

function buildReport(station: string, k: number, ispDown: boolean, depth: number): ReportInput {
  const probe = (target: string, role: Role) => (ispDown && role !== 'gateway'
    ? { target, role, kind: 'icmp' as const, ok: false, sent: 3, received: 0, loss: 1, error: 'timeout' as const }
    : { target, role, kind: 'icmp' as const, ok: true, sent: 3, received: 3, loss: 0, rtt_min_ms: 4, rtt_avg_ms: 6, rtt_max_ms: 9, jitter_ms: 1 });
  return report.parse({
    v: 1, station, seq: k, ts: T(k) - 5000, interval_s: P / 1000,
    probes: [probe('gw', 'gateway'), probe('isp', 'isp'), probe('vpn', 'core'), probe('dancu', 'service')],
    outbox: { depth, dropped: 0 },
  });
}

interface Health { time: Date; state: string; cause: string; since: number; avail: number; outage_start?: number | null }

describe('revising health after a backfill, on real servers', () => {
  let env: TestEnv;
  let collector: RunningCollector;
  let cfg: CollectorConfig;
  let publisher: MqttClient;
  let evaluator: Evaluator;
  let simNow = T(0);
  const logLines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    env = await startEnv();
    env.writeRegistry(STATIONS);
    const configFile = env.writeConfig('collector.yaml', env.collectorConfig({ evaluator: { enabled: false, period: '10s' } }));
    cfg = loadCollectorConfig(configFile);
    collector = await startCollector(cfg, { configFile, log: silentLogger(), now: () => simNow });
    const sink = new Writable({ write(chunk: Buffer, _, done) { logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
    evaluator = new Evaluator({
      influx: collector.influx, log: pino({ level: 'info' }, sink), now: () => simNow, registry: collector.registry,
      evaluator: cfg.evaluator, verdicts: cfg.verdicts,
    });
    publisher = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'na-ri-sim' });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await collector?.stop();
    await env?.close();
  });

  /** Publishes `reports` (one message each, or one batch), waits until InfluxDB has them all. */
  async function deliver(station: string, reports: ReportInput[], batch = false) {
    const payloads = batch ? [JSON.stringify(reports)] : reports.map((r) => JSON.stringify(r));
    for (const p of payloads) await publisher.publishAsync(topicFor(station, 'report'), p, { qos: 1 });
    await eventually(`${reports.length} reports of ${station} stored`, async () => {
      const span = `time >= ${reports[0]!.ts}ms AND time <= ${reports[reports.length - 1]!.ts}ms`;
      const r = await env.query<{ count: number }>(`SELECT count("seq") FROM "report" WHERE "station" = '${station}' AND ${span}`);
      return r[0]?.count === reports.length;
    });
  }

  const evaluate = async (k: number) => {
    simNow = T(k) + 2500;
    const e = await evaluator.evaluate();
    expect(e.at).toBe(T(k));
    return e;
  };

  const health = (station: string, to = 17) =>
    env.query<Health>(`SELECT "state", "cause", "since", "avail", "outage_start" FROM "health" WHERE "station" = '${station}' AND time >= ${T(0)}ms AND time <= ${T(to)}ms`);
  const verdicts = async (station: string, to = 17) => (await health(station, to)).map((h) => `${h.state}/${h.cause}`);
  /** The SLA figures the dashboards compute (docs/influxdb-schema.md) over periods 0–16. */
  async function sla(station: string) {
    const span = `"station" = '${station}' AND time >= ${T(0)}ms AND time <= ${T(16)}ms`;
    const [a] = await env.query<{ mean: number; outages: number }>(`SELECT 100 * mean("avail") AS "mean", count("outage_start") AS "outages" FROM "health" WHERE ${span}`);
    const byCause = await env.query<{ cause: string; n: number }>(`SELECT "cause", "outage_start" AS "n" FROM "health" WHERE ${span} AND "outage_start" = 1`);
    return { availability: Number(a!.mean.toFixed(2)), outages: a!.outages ?? 0, causes: byCause.map((r) => r.cause) };
  }

  const backlog: ReportInput[] = [];
  const blipBacklog: ReportInput[] = [];
  let first: unknown;
  const before: Record<string, Awaited<ReturnType<typeof sla>>> = {};

  it('judges both stations offline/silent while they cannot reach the broker', async () => {
    const started = Date.now();
    for (let k = 0; k <= 16; k++) {
      simNow = T(k) - 4000;
      if (FAULT(k)) {
        // The agent behind the failed ISP edge goes on measuring into its outbox; the one without power does not.
        backlog.push(buildReport(UPLINK, k, true, backlog.length));
      } else {
        // Back at 15: the live report goes at once; the backlog waits (live first, then backfill).
        await deliver(UPLINK, [buildReport(UPLINK, k, false, k > 14 ? backlog.length : 0)]);
        await deliver(POWER, [buildReport(POWER, k, false, 0)]);
      }
      if (BLIP_OFF(k)) blipBacklog.push(buildReport(BLIP, k, k <= 6, blipBacklog.length));
      else await deliver(BLIP, [buildReport(BLIP, k, false, k > 8 ? blipBacklog.length : 0)]);
      await evaluate(k);
    }
    const expected = [...Array(7).fill('ok/none'), ...Array(8).fill('offline/silent'), 'ok/none', 'ok/none'];
    expect(await verdicts(UPLINK, 16)).toEqual(expected);
    expect(await verdicts(POWER, 16)).toEqual(expected);
    before[UPLINK] = await sla(UPLINK);
    before[POWER] = await sla(POWER);
    before[BLIP] = await sla(BLIP);
    expect(await verdicts(BLIP, 16)).toEqual([...Array(7).fill('ok/none'), 'offline/silent', 'offline/silent', ...Array(8).fill('ok/none')]);
    expect(before[BLIP]).toEqual({ availability: 88.24, outages: 1, causes: ['silent'] });
    expect(before[UPLINK]).toEqual({ availability: 52.94, outages: 1, causes: ['silent'] });
    expect(before[POWER]).toEqual({ availability: 52.94, outages: 1, causes: ['silent'] });
    expect(evaluator.stats).toMatchObject({ revisions: 0, revision_failures: 0 });
    console.log(`live phase: ${Date.now() - started} ms`);
  });

  it('after the backfill, the silent span reads down/uplink with one outage; the power cut stays silent', async () => {
    simNow = T(17) - 4000;
    await deliver(UPLINK, backlog, true);
    await deliver(BLIP, blipBacklog, true);
    await deliver(UPLINK, [buildReport(UPLINK, 17, false, 0)]);
    await deliver(POWER, [buildReport(POWER, 17, false, 0)]);
    const e = await evaluate(17);
    first = e.verdicts;

    const h = await health(UPLINK, 16);
    expect(h.map((p) => `${p.state}/${p.cause}`)).toEqual([...Array(7).fill('ok/none'), ...Array(9).fill('down/uplink'), 'ok/none']);
    const span = h.slice(7, 15);
    expect(span.every((p) => p.avail === 0 && p.since === T(5) - 5000)).toBe(true);
    expect(h.filter((p) => p.outage_start === 1).map((p) => p.time.getTime())).toEqual([T(7)]);
    // Back: ok from the first good report (live, it said from when the evaluator heard again: the end of period 14).
    expect(h[16]!.since).toBe(T(15) - 5000);
    // The live verdict that follows is seeded by the revised points, so it is what an evaluator that had every
    // report in time says: ok since the first good report. (One outage, raised and cleared, is not flapping.)
    expect(e.verdicts.find((v) => v.station === UPLINK)).toMatchObject({ state: 'ok', cause: 'none', since: T(15) - 5000, outage_start: false });

    expect(await verdicts(POWER)).toEqual([...Array(7).fill('ok/none'), ...Array(8).fill('offline/silent'), 'ok/none', 'ok/none', 'ok/none']);

    // Two bad cycles are no outage: the overwrite alone would have kept the old outage_start field (InfluxDB merges
    // the fields of a point written again), so the revision deletes that point first.
    expect(await verdicts(BLIP, 16)).toEqual(Array(17).fill('ok/none'));
    const after = { [UPLINK]: await sla(UPLINK), [POWER]: await sla(POWER), [BLIP]: await sla(BLIP) };
    expect(after[BLIP]).toEqual({ availability: 100, outages: 0, causes: [] });
    expect(after[UPLINK]).toEqual({ availability: 47.06, outages: 1, causes: ['uplink'] });
    expect(after[POWER]).toEqual(before[POWER]);
    console.log(`SLA periods 0–16, ${UPLINK}: before ${JSON.stringify(before[UPLINK])}, after ${JSON.stringify(after[UPLINK])}; ${POWER}: ${JSON.stringify(after[POWER])}; ${BLIP}: before ${JSON.stringify(before[BLIP])}, after ${JSON.stringify(after[BLIP])}`);

    expect(evaluator.stats).toMatchObject({ revisions: 2, revised_points: 20, revision_failures: 0, failures: 0 });
    // One full read at the start, then only what was new; the two backfilled stations were read again in full.
    expect(evaluator.stats).toMatchObject({ full_reads: 1, rereads: 2 });
    const line = logLines.find((l) => l.msg === 'health revised' && l.station === UPLINK);
    expect(line).toMatchObject({
      level: 30, station: UPLINK, from: new Date(T(7)).toISOString(), to: new Date(T(16)).toISOString(), points: 10,
      changes: { 'offline/silent → down/uplink': 8, 'ok/none → down/uplink': 1 },
    });
  });

  it('a second (or restarted) evaluator finds nothing left to revise and writes the same verdicts', async () => {
    const second = new Evaluator({
      influx: collector.influx, log: silentLogger(), now: () => simNow, registry: collector.registry,
      evaluator: cfg.evaluator, verdicts: cfg.verdicts,
    });
    const snapshot = await health(UPLINK);
    simNow = T(17) + 2500;
    const e = await second.evaluate();
    expect(second.stats).toMatchObject({ revisions: 0, revision_failures: 0 });
    expect(e.verdicts).toEqual(first);
    expect(await health(UPLINK)).toEqual(snapshot);
  });
});
