/**
 * Collector throughput against the ceilings of this machine, measured in one run:
 *  1. broker ceiling: mosquitto delivering the payloads to a bare mqtt.js subscriber that only counts them;
 *  2. InfluxDB ceiling: influxd accepting the same points as pre-built line protocol, 5,000 a request, 2 at a time;
 *  3. the collector (the real CLI, its own process): real mosquitto → decode → validate → line protocol → influxd,
 *     each report acknowledged after its write; its peak RSS is sampled while it drains (MQTT 5 flow control keeps the
 *     flood in the broker, so it runs with the default influx.max_pending_points);
 *  4. the peer: a batched Node-RED flow (bench/node-red.ts) draining the same queued reports, 625 per write.
 * The reports are queued in the broker first (a persistent session), then drained, so the publisher never competes
 * for the 2 cores while a rate is being timed. Each stage is measured `--rounds` times, interleaved.
 *
 *   node dist/bench/collector-throughput.js [--reports 40000] [--stations 2000] [--rounds 3] [--encoding deflate|json]
 *     [--profile DIR]   (a CPU profile of the collector process per round)
 *     [--node-red 0]    (leave out the Node-RED flow; it is installed from the npm registry once, into a cache dir)
 *     [--node-flags '--max-semi-space-size=4 …']   (node/V8 flags for the collector process, to compare heap settings)
 *     [--baseline OLD/bin/linkwatch.js]   (the same collector stage, each round, with another build of the CLI)
 *     [--collector-args '--bounded-heap']   (options of `linkwatch collector` for the measured build, not the baseline)
 * The collector's garbage collection is read two ways: its GC pauses from its own /metrics (prom-client's
 * `nodejs_gc_duration_seconds`, wall time on the main thread), and the CPU of its threads other than the main one,
 * which are mostly V8's concurrent marking and sweeping helpers (from /proc/<pid>/task).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import YAML from 'yaml';
import { reportToLines } from '../collector/points.js';
import type { Station } from '../collector/registry.js';
import { freePort, startInflux, startMosquitto, type LocalServer } from '../deploy/local-servers.js';
import { encodePayload, type Encoding } from '../protocol/codec.js';
import { ackMessage } from '../protocol/report.js';
import { reportFilter, TOPIC_ROOT, topicFor } from '../protocol/topics.js';
import { installNodeRed, NODE_RED_JOIN, NODE_RED_VERSION, startNodeRed, writeNodeRedFlow } from './node-red.js';
import { arg, cpuSeconds, DISTRICTS, ISPS, machineBusySeconds, machineLine, makeReport, median, memoryMb, prng, spread, stationIds, stopChildren, waitUntil, writeRegistry, runBench } from './common.js';

const N = arg('reports', 40_000);
const STATIONS = arg('stations', 2_000);
const ROUNDS = arg('rounds', 3);
const ENCODING = arg('encoding', 'deflate') as Encoding;
/** A directory: the collector writes a V8 CPU profile there (node --cpu-prof). */
const PROFILE = arg('profile', '');
/** 0 leaves out the batched Node-RED flow (bench/node-red.ts). */
const NODE_RED = arg('node-red', 1);
const NODE_FLAGS = arg('node-flags', '').split(/\s+/).filter((f) => f.length > 0);
const COLLECTOR_ARGS = arg('collector-args', '').split(/\s+/).filter((f) => f.length > 0);
/** Another build of the CLI (e.g. the commit before a change) whose collector drains the same flood each round. */
const BASELINE = arg('baseline', '');
const INFLUX_BATCH = 5_000;
const INFLUX_CONCURRENCY = 2;
const DRAIN_TIMEOUT_MS = 300_000;
// Nothing acknowledged for this long: the run is stuck (it is reported, not waited on for ever).
const STALL_MS = 30_000;
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/linkwatch.js');
const ackFilter = `${TOPIC_ROOT}/+/ack`;

interface Figures {
  wall_s: number;
  reports_per_s: number;
  points_per_s: number;
  /** CPU seconds of the measured process per 1,000 reports. */
  cpu_per_1k: number;
  mosquitto_cpu_s: number;
  influxd_cpu_s: number;
  /** Busy CPU of the whole machine minus the processes above: noise. */
  other_cpu_s: number;
  /** Peak RSS of the measured process while it drained (MB); 0 where not measured. */
  rss_peak_mb: number;
  /** Seconds of GC pauses of the measured process while it drained; 0 where not measured. */
  gc_s: number;
  /** CPU seconds of its threads other than the main one (V8's GC helpers, mostly); 0 where not measured. */
  helpers_cpu_s: number;
}

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-throughput-'));
let broker: LocalServer | undefined;
let influx: LocalServer | undefined;
const children = new Set<ChildProcess>();

async function main() {
  console.log(`collector throughput: ${N} reports from ${STATIONS} stations, ${ENCODING} payloads, ${ROUNDS} rounds${NODE_FLAGS.length > 0 ? `; collector node flags: ${NODE_FLAGS.join(' ')}` : ''}${COLLECTOR_ARGS.length > 0 ? `; linkwatch collector ${COLLECTOR_ARGS.join(' ')}` : ''}`);
  console.log(`machine: ${machineLine()}`);
  [broker, influx] = await Promise.all([
    startMosquitto({ dir: join(dir, 'mosquitto'), persistence: false }),
    startInflux({ dir: join(dir, 'influxdb') }),
  ]);
  const ids = stationIds(STATIONS);
  const registryFile = writeRegistry(join(dir, 'stations.csv'), ids);
  const red = NODE_RED ? installNodeRed() : undefined;
  const registry: Record<string, { district: string; province: string; isp: string }> = {};

  // The same reports every run: station i sends reports 0…k at 10 s steps, all within the last day.
  const rnd = prng(42);
  const perStation = Math.ceil(N / STATIONS);
  const t0 = Date.now() - 86_400_000;
  const topics: string[] = [];
  const payloads: Buffer[] = [];
  const lines: string[] = [];
  let points = 0;
  for (let i = 0; i < N; i++) {
    const s = i % STATIONS;
    const k = Math.floor(i / STATIONS);
    const r = makeReport(ids[s]!, k, t0 + k * 10_000 + s, rnd);
    topics.push(topicFor(ids[s]!, 'report'));
    payloads.push(encodePayload(r, ENCODING));
    const station: Station = { id: ids[s]!, name: '', commune: '', district: DISTRICTS[s % DISTRICTS.length]!, province: 'Bắc Kạn', lat: 0, lon: 0, isp: ISPS[s % ISPS.length]!, circuit: '', sla_target: 99.5, sla_class: 'default' };
    registry[station.id] = { district: station.district, province: station.province, isp: station.isp };
    const lp = reportToLines(r, station, t0 + 86_400_000);
    lines.push(lp.lines);
    points += lp.points;
  }
  const pointsPerReport = points / N;
  const payloadBytes = payloads.reduce((a, p) => a + p.length, 0);
  console.log(`payload ${(payloadBytes / N).toFixed(0)} B/report (${ENCODING}), ${pointsPerReport} points/report, perStation ${perStation}`);

  const runs = { broker: [] as Figures[], influx: [] as Figures[], collector: [] as Figures[], baseline: [] as Figures[], nodeRed: [] as Figures[] };
  for (let round = 1; round <= ROUNDS; round++) {
    runs.broker.push(await brokerCeiling(topics, payloads, pointsPerReport, round));
    runs.influx.push(await influxCeiling(lines, points, round));
    runs.collector.push(await collectorRun(BIN, registryFile, topics, payloads, pointsPerReport, round));
    if (BASELINE) runs.baseline.push(await collectorRun(BASELINE, registryFile, topics, payloads, pointsPerReport, round, 'baseline'));
    if (red) runs.nodeRed.push(await nodeRedRun(red, registry, topics, payloads, pointsPerReport, round));
    const [b, i, c, n] = [runs.broker.at(-1)!, runs.influx.at(-1)!, runs.collector.at(-1)!, runs.nodeRed.at(-1)];
    console.log(
      `round ${round}: broker ${b.reports_per_s.toFixed(0)} msg/s · influxd ${i.points_per_s.toFixed(0)} points/s · collector ${c.reports_per_s.toFixed(0)} reports/s = ${c.points_per_s.toFixed(0)} points/s` +
        ` (${(c.points_per_s / Math.min(b.points_per_s, i.points_per_s)).toFixed(2)} × lower ceiling; other CPU ${c.other_cpu_s.toFixed(1)} s; peak RSS ${c.rss_peak_mb.toFixed(0)} MB; GC ${gcShare(c)} of its CPU)` +
        (n ? ` · Node-RED ${n.reports_per_s.toFixed(0)} reports/s (collector ${(c.reports_per_s / n.reports_per_s).toFixed(2)}×)` : ''),
    );
    const base = runs.baseline.at(-1);
    if (base) console.log(
      `  baseline build: ${base.reports_per_s.toFixed(0)} reports/s (${(base.points_per_s / Math.min(b.points_per_s, i.points_per_s)).toFixed(2)} × lower ceiling), ${base.cpu_per_1k.toFixed(3)} CPU-s per 1,000 reports,` +
        ` peak RSS ${base.rss_peak_mb.toFixed(0)} MB; GC ${gcShare(base)} of its CPU`,
    );
  }
  report(runs, pointsPerReport, payloadBytes / N);
}

/** Queues the payloads for a persistent session `clientId` subscribed to the report topics. */
async function preload(clientId: string, topics: string[], payloads: Buffer[]): Promise<void> {
  const url = broker!.url;
  // Create the session and its subscription, then leave: the broker queues what follows.
  const sub = await mqtt.connectAsync(url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
  await sub.subscribeAsync(reportFilter(false), { qos: 1 });
  await sub.endAsync();
  const pub = await mqtt.connectAsync(url, { clientId: `${clientId}-pub`, protocolVersion: 5 });
  const WINDOW = 1000;
  let next = 0;
  let acked = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (next < payloads.length && next - acked < WINDOW) {
        const i = next++;
        pub.publish(topics[i]!, payloads[i]!, { qos: 1 }, (err) => {
          if (err) return reject(err);
          if (++acked === payloads.length) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await pub.endAsync();
}

function usage(pidOf: LocalServer) {
  return cpuSeconds(pidOf.pid()!);
}

function figures(n: number, pointsPerReport: number, wallS: number, selfCpuS: number, before: Snapshot, rssPeakMb = 0, gcS = 0, helpersCpuS = 0): Figures {
  const after = snapshot();
  const mosq = after.mosquitto - before.mosquitto;
  const inf = after.influxd - before.influxd;
  return {
    wall_s: wallS,
    reports_per_s: n / wallS,
    points_per_s: (n * pointsPerReport) / wallS,
    cpu_per_1k: (selfCpuS / n) * 1000,
    mosquitto_cpu_s: mosq,
    influxd_cpu_s: inf,
    other_cpu_s: after.machine - before.machine - mosq - inf - selfCpuS,
    rss_peak_mb: rssPeakMb,
    gc_s: gcS,
    helpers_cpu_s: helpersCpuS,
  };
}

type Snapshot = { mosquitto: number; influxd: number; machine: number };
function snapshot(): Snapshot {
  return { mosquitto: usage(broker!), influxd: usage(influx!), machine: machineBusySeconds() };
}

const cpuOfSelf = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function brokerCeiling(topics: string[], payloads: Buffer[], pointsPerReport: number, round: number): Promise<Figures> {
  const clientId = `bare-${round}`;
  await preload(clientId, topics, payloads);
  let received = 0;
  let client: MqttClient | undefined;
  const before = snapshot();
  const cpu0 = cpuOfSelf();
  const start = performance.now();
  client = mqtt.connect(broker!.url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600, receiveMaximum: 1000 } });
  client.on('message', () => received++);
  const done = await waitUntil(() => received >= payloads.length, DRAIN_TIMEOUT_MS, 5);
  const wall = (performance.now() - start) / 1000;
  const f = figures(received, pointsPerReport, wall, cpuOfSelf() - cpu0, before);
  await client.endAsync();
  if (!done) console.log(`  broker ceiling: only ${received} of ${payloads.length} delivered`);
  return f;
}

async function influxQuery(q: string, db?: string): Promise<unknown> {
  const body = new URLSearchParams({ q, ...(db ? { db } : {}) });
  const r = await fetch(`${influx!.url}/query`, { method: 'POST', body });
  const j = (await r.json()) as { results?: Array<{ error?: string; series?: Array<{ values: unknown[][] }> }> };
  if (!r.ok || j.results?.[0]?.error) throw new Error(`InfluxDB: ${JSON.stringify(j)}`);
  return j.results?.[0]?.series?.[0]?.values?.[0]?.[1];
}

async function influxCeiling(lines: string[], points: number, round: number): Promise<Figures> {
  const db = `ceiling_${round}`;
  await influxQuery(`CREATE DATABASE ${db}`);
  // Whole reports per request, about INFLUX_BATCH points each, like the collector's batches.
  const perReport = points / lines.length;
  const step = Math.max(1, Math.round(INFLUX_BATCH / perReport));
  const bodies: string[] = [];
  for (let i = 0; i < lines.length; i += step) bodies.push(lines.slice(i, i + step).join('\n'));
  const url = `${influx!.url}/write?db=${db}&precision=ms`;
  const before = snapshot();
  const cpu0 = cpuOfSelf();
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
      if (r.status !== 204) throw new Error(`InfluxDB /write: ${r.status} ${await r.text()}`);
    }
  };
  await Promise.all(Array.from({ length: INFLUX_CONCURRENCY }, worker));
  const wall = (performance.now() - start) / 1000;
  const f = figures(lines.length, perReport, wall, cpuOfSelf() - cpu0, before);
  const stored = await influxQuery(`SELECT count(seq) FROM report`, db);
  if (stored !== lines.length) console.log(`  influx ceiling: ${String(stored)} of ${lines.length} reports stored`);
  await influxQuery(`DROP DATABASE ${db}`);
  return f;
}

async function collectorRun(bin: string, registryFile: string, topics: string[], payloads: Buffer[], pointsPerReport: number, round: number, name = 'collector'): Promise<Figures> {
  const database = `${name}_${round}`;
  const clientId = `${name}-bench-${round}`;
  await preload(clientId, topics, payloads);
  const configFile = join(dir, `${name}-${round}.yaml`);
  const httpPort = await freePort();
  writeFileSync(
    configFile,
    YAML.stringify({
      broker: { url: broker!.url, client_id: clientId, shared: false, session_expiry: '1h' },
      // The default max_pending_points: MQTT 5 flow control keeps the flood in the broker. A report the collector
      // refused would never be acked (this bench has no agents to send it again), so all acked = none refused.
      influx: { url: influx!.url, database },
      stations: registryFile,
      dead_letter: { path: join(dir, `dead-letter-${name}-${round}`) },
      log_level: 'info',
      // Ingest only: verdicts are a separate periodic job, measured by bench:detection.
      evaluator: { enabled: false },
      http: { listen: `127.0.0.1:${httpPort}` },
    }),
  );
  await influxQuery(`CREATE DATABASE ${database}`);
  // The acks tell when every report is stored (the collector acks only after InfluxDB answered 204).
  let acked = 0;
  const watcher = await mqtt.connectAsync(broker!.url, { clientId: `ack-watcher-${name}-${round}`, protocolVersion: 5 });
  await watcher.subscribeAsync(ackFilter, { qos: 0 });
  watcher.on('message', (_, payload) => {
    for (const [a, b] of ackMessage.parse(JSON.parse(payload.toString())).stored) acked += b - a + 1;
  });
  // The real CLI in its own process, so its CPU and garbage collection are its own; timed from its connection on,
  // so the start-up (loading modules, the registry) is not counted.
  const child = spawn(process.execPath, [...NODE_FLAGS, ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : []), bin, 'collector', '--config', configFile, ...(name === 'collector' ? COLLECTOR_ARGS : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let before: Snapshot | undefined;
  let cpu0 = 0;
  let start = 0;
  let out = '';
  let gc0: Promise<number> | undefined;
  let main0 = 0;
  child.stdout!.on('data', (d: Buffer) => {
    if (before) return;
    out += d.toString();
    if (out.includes('"msg":"broker connected"')) {
      cpu0 = cpuSeconds(child.pid!);
      main0 = cpuSeconds(child.pid!, child.pid!);
      start = performance.now();
      before = snapshot();
      gc0 = gcSeconds(httpPort);
    }
  });
  let last = 0;
  let lastChange = Date.now();
  let rssPeak = 0;
  let rssAt = 0;
  const done = await waitUntil(() => {
    if (before && Date.now() - rssAt >= 100 && child.exitCode === null) {
      rssAt = Date.now();
      rssPeak = Math.max(rssPeak, memoryMb(child.pid!).rss);
    }
    if (acked !== last) (last = acked), (lastChange = Date.now());
    if (child.exitCode !== null) throw new Error(`collector exited (${child.exitCode}): ${out.slice(-2000)}`);
    return acked >= payloads.length || (before !== undefined && Date.now() - lastChange > STALL_MS);
  }, DRAIN_TIMEOUT_MS, 5);
  const wall = (performance.now() - start) / 1000;
  rssPeak = Math.max(rssPeak, memoryMb(child.pid!).rss);
  const gcS = (await gcSeconds(httpPort)) - (await (gc0 ?? Promise.resolve(0)));
  const cpuS = cpuSeconds(child.pid!) - cpu0;
  const f = figures(acked, pointsPerReport, wall, cpuS, before ?? snapshot(), rssPeak, gcS, cpuS - (cpuSeconds(child.pid!, child.pid!) - main0));
  await stopChild(child);
  await watcher.endAsync();
  if (!done || acked < payloads.length) console.log(`  ${name}: ${acked} of ${payloads.length} reports acknowledged`);
  const stored = await influxQuery(`SELECT count(seq) FROM report`, database);
  if (stored !== payloads.length) console.log(`  ${name}: ${String(stored)} of ${payloads.length} reports in InfluxDB`);
  await influxQuery(`DROP DATABASE ${database}`);
  return f;
}

/** Seconds the collector has spent in GC pauses so far, from its /metrics (0 when it does not answer yet). */
async function gcSeconds(port: number): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  let s = 0;
  for (const m of text.matchAll(/^linkwatch_collector_process_nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm)) s += Number(m[1]);
  return s;
}

/** The batched Node-RED flow on the same queued reports, timed from its broker connection until InfluxDB holds them all. */
async function nodeRedRun(red: string, stations: Record<string, { district: string; province: string; isp: string }>, topics: string[], payloads: Buffer[], pointsPerReport: number, round: number): Promise<Figures> {
  const database = `nodered_${round}`;
  const clientId = `node-red-bench-${round}`;
  await preload(clientId, topics, payloads);
  await influxQuery(`CREATE DATABASE ${database}`);
  const userDir = join(dir, `node-red-${round}`);
  const settings = writeNodeRedFlow(userDir, { brokerPort: Number(new URL(broker!.url).port), clientId, influxUrl: influx!.url, database, stations }, await freePort());
  const child = startNodeRed(red, settings, userDir);
  children.add(child);
  let before: Snapshot | undefined;
  let cpu0 = 0;
  let start = 0;
  let out = '';
  const onData = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
    if (!before && /Connected to broker/.test(out)) {
      cpu0 = cpuSeconds(child.pid!);
      start = performance.now();
      before = snapshot();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let stored = 0;
  let last = 0;
  let lastChange = Date.now();
  let rssPeak = 0;
  let polled = 0;
  await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error(`node-red exited (${child.exitCode}): ${out.slice(-2000)}`);
    if (!before) return false;
    rssPeak = Math.max(rssPeak, memoryMb(child.pid!).rss);
    if (Date.now() - polled < 250) return false;
    polled = Date.now();
    stored = Number((await influxQuery(`SELECT count(seq) FROM report`, database).catch(() => 0)) ?? 0);
    if (stored !== last) (last = stored), (lastChange = Date.now());
    return stored >= payloads.length || Date.now() - lastChange > STALL_MS;
  }, DRAIN_TIMEOUT_MS, 20);
  const wall = (performance.now() - start) / 1000;
  const f = figures(stored, pointsPerReport, wall, cpuSeconds(child.pid!) - cpu0, before ?? snapshot(), rssPeak);
  await stopChild(child);
  if (stored < payloads.length) console.log(`  Node-RED: ${stored} of ${payloads.length} reports in InfluxDB; last output: ${out.slice(-1500)}`);
  await influxQuery(`DROP DATABASE ${database}`);
  return f;
}

async function stopChild(child: ChildProcess): Promise<void> {
  await stopChildren([child]);
  children.delete(child);
}

/** GC pauses and the helper threads' CPU as shares of the process's CPU, e.g. `pauses 14 %, helpers 9 %`. */
function gcShare(f: Figures): string {
  const cpu = (f.cpu_per_1k * f.reports_per_s * f.wall_s) / 1000;
  return `pauses ${((100 * f.gc_s) / cpu).toFixed(0)} %, helper threads ${((100 * f.helpers_cpu_s) / cpu).toFixed(0)} %`;
}

function report(runs: Record<'broker' | 'influx' | 'collector' | 'baseline' | 'nodeRed', Figures[]>, pointsPerReport: number, payloadBytes: number) {
  const col = (fs: Figures[], k: keyof Figures, d = 0) => spread(fs.map((f) => f[k]), d);
  console.log(`\n| stage | reports/s | points/s | CPU-s per 1,000 reports (subscriber / client / collector process) | mosquitto CPU-s | influxd CPU-s | other CPU-s | peak RSS MB |`);
  console.log('|---|---|---|---|---|---|---|---|');
  const stages: Array<[string, Figures[]]> = [['broker → bare subscriber', runs.broker], ['line protocol → influxd (5k/request, 2 in flight)', runs.influx], ['mosquitto → collector → influxd', runs.collector]];
  if (runs.baseline.length > 0) stages.push([`mosquitto → collector, baseline build (${BASELINE}) → influxd`, runs.baseline]);
  if (runs.nodeRed.length > 0) stages.push([`mosquitto → Node-RED ${NODE_RED_VERSION} (${NODE_RED_JOIN} reports a write) → influxd`, runs.nodeRed]);
  for (const [name, fs] of stages) {
    console.log(`| ${name} | ${col(fs, 'reports_per_s')} | ${col(fs, 'points_per_s')} | ${col(fs, 'cpu_per_1k', 3)} | ${col(fs, 'mosquitto_cpu_s', 1)} | ${col(fs, 'influxd_cpu_s', 1)} | ${col(fs, 'other_cpu_s', 1)} | ${fs[0]!.rss_peak_mb ? col(fs, 'rss_peak_mb') : '–'} |`);
  }
  const ratios = runs.collector.map((c, i) => c.points_per_s / Math.min(runs.broker[i]!.points_per_s, runs.influx[i]!.points_per_s));
  const lower = median(runs.broker.map((b) => b.points_per_s)) < median(runs.influx.map((i) => i.points_per_s)) ? 'broker' : 'InfluxDB';
  const r = median(ratios);
  console.log(`\ncollector / lower ceiling (${lower}), per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${r.toFixed(2)} — budget ≥ 0.80: ${r >= 0.8 ? 'holds' : 'MISSED'}`);
  if (runs.nodeRed.length > 0) {
    const vs = runs.collector.map((c, i) => c.reports_per_s / runs.nodeRed[i]!.reports_per_s);
    const m = median(vs);
    const cpuVs = median(runs.collector.map((c, i) => c.cpu_per_1k / runs.nodeRed[i]!.cpu_per_1k));
    console.log(`collector / batched Node-RED flow, per round: ${vs.map((x) => x.toFixed(2)).join(', ')}; median ${m.toFixed(2)} — budget ≥ 1.50: ${m >= 1.5 ? 'holds' : 'MISSED'}; CPU per report ${cpuVs.toFixed(2)}× Node-RED's`);
  }
  const rss = median(runs.collector.map((c) => c.rss_peak_mb));
  console.log(`collector peak RSS while draining: ${runs.collector.map((c) => c.rss_peak_mb.toFixed(0)).join(', ')} MB — budget ≤ 150 MB: ${rss <= 150 ? 'holds' : 'MISSED'}; GC ${runs.collector.map(gcShare).join('; ')} of its CPU`);
  const cpu = median(runs.collector.map((c) => c.cpu_per_1k));
  console.log(`collector CPU: ${cpu.toFixed(3)} s per 1,000 reports → 11,300 stations at 10 s (1,130 reports/s) need ${(cpu * 1.13).toFixed(2)} of a core`);
  console.log(`(${pointsPerReport} points and ${payloadBytes.toFixed(0)} payload bytes per report)`);
}

async function cleanup() {
  await stopChildren(children);
  await Promise.all([broker?.stop(), influx?.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
