/**
 * Bytes on the wire per report and per station-day, measured at the TCP level by a counting proxy between a real
 * agent (in-process `startAgent`, real probes of local targets) and real mosquitto, with a real collector acking into
 * a real InfluxDB. Both directions count: the report PUBLISH and its PUBACK, the collector's ack PUBLISH and its
 * PUBACK, MQTT framing included. Live (one report per message) and backfill (batches of `backfill_batch`), each
 * deflated with the v1 dictionary (the default) and plain JSON.
 *
 *   node dist/bench/bandwidth.js [--live-reports 30] [--interval 2] [--backlog 1000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadAgentConfig, startAgent, type RunningAgent } from '../agent/main.js';
import { openOutbox } from '../agent/outbox-open.js';
import type { RunningCollector } from '../collector/main.js';
import { startInflux, startMosquitto, type LocalServer } from '../deploy/local-servers.js';
import { silentLogger } from '../lib/log.js';
import { arg, machineLine, makeReport, prng, startCountingProxy, waitUntil, startBenchCollector, type CountingProxy, runBench } from './common.js';

const LIVE_REPORTS = arg('live-reports', 30);
const INTERVAL_S = arg('interval', 2);
const BACKLOG = arg('backlog', 1000);
const PER_DAY = 86_400 / 10;
// Estimates beyond the TCP payload, per segment: IPv4 20 + TCP 20 + timestamps 12 bytes (TCP ACKs ride on the MQTT
// acknowledgements that answer each packet; a pure delayed ACK would add as much again).
const IP_TCP_PER_SEGMENT = 52;
// TLS 1.3 with AES-GCM per record: 5 header + 1 content type + 16 tag.
const TLS_PER_RECORD = 22;
const MODES = [
  { name: 'deflate', compress: true },
  { name: 'json', compress: false },
] as const;

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-bandwidth-'));
let broker: LocalServer | undefined;
let influx: LocalServer | undefined;
let collector: RunningCollector | undefined;
const cleanups: Array<() => Promise<void>> = [];

interface Measured {
  reports: number;
  up: number;
  down: number;
  writes: number;
}

function agentConfigFile(station: string, proxyPort: number, compress: boolean, interval: number): string {
  const file = join(dir, `${station}.yaml`);
  writeFileSync(
    file,
    YAML.stringify({
      station,
      interval: `${interval}s`,
      broker: { url: `mqtt://127.0.0.1:${proxyPort}`, username: station, compress },
      outbox: { path: join(dir, 'outbox', station) },
      targets: [
        { name: 'gw', role: 'gateway', kind: 'icmp', host: '127.0.0.1' },
        { name: 'isp', role: 'isp', kind: 'icmp', host: '127.0.0.1' },
        { name: 'vpn', role: 'core', kind: 'tcp', host: '127.0.0.1', port: broker!.port },
        { name: 'dancu', role: 'service', kind: 'http', url: `${influx!.url}/ping` },
      ],
      log_level: 'silent',
    }),
  );
  return file;
}

async function withProxy<T>(fn: (p: CountingProxy) => Promise<T>): Promise<T> {
  const proxy = await startCountingProxy(broker!.port);
  try {
    return await fn(proxy);
  } finally {
    await proxy.close();
  }
}

async function runAgent(file: string): Promise<RunningAgent> {
  const agent = startAgent(loadAgentConfig(file), { configFile: file, log: silentLogger() });
  // Stopped once, whether the measurement finished or threw.
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= agent.stop());
  cleanups.push(stop);
  return { ...agent, stop };
}

async function live(station: string, compress: boolean): Promise<Measured & { connect: number }> {
  return withProxy(async (proxy) => {
    const agent = await runAgent(agentConfigFile(station, proxy.port, compress, INTERVAL_S));
    // The connection's own bytes (CONNECT, SUBSCRIBE, status) and the first report are not part of the steady state.
    await waitUntil(() => agent.uplink.stats.acked >= 1, 60_000);
    const connect = proxy.up.bytes + proxy.down.bytes;
    proxy.reset();
    const acked0 = agent.uplink.stats.acked;
    const ok = await waitUntil(() => agent.uplink.stats.acked - acked0 >= LIVE_REPORTS, LIVE_REPORTS * INTERVAL_S * 3000 + 30_000);
    // Counted when the ack for the last report arrived: its PUBACK back follows within a millisecond.
    await new Promise((r) => setTimeout(r, 200));
    const m = { reports: agent.uplink.stats.acked - acked0, up: proxy.up.bytes, down: proxy.down.bytes, writes: proxy.up.writes + proxy.down.writes, connect };
    await agent.stop();
    if (!ok) console.log(`  live ${station}: only ${m.reports} of ${LIVE_REPORTS} reports acknowledged`);
    return m;
  });
}

async function backfill(station: string, compress: boolean): Promise<Measured> {
  // A backlog as an outage leaves it: BACKLOG reports at 10 s steps ending now, committed by the agent's own outbox.
  const outbox = openOutbox({ dir: join(dir, 'outbox', station), maxBytes: 256 * 1024 * 1024 });
  const rnd = prng(7);
  const t0 = Date.now() - BACKLOG * 10_000;
  for (let i = 0; i < BACKLOG; i++) {
    outbox.append((seq) => ({ ts: t0 + i * 10_000, body: JSON.stringify(makeReport(station, seq, t0 + i * 10_000, rnd)) }));
  }
  outbox.close();
  return withProxy(async (proxy) => {
    // A long interval, so the drain is (almost) all backfill.
    const agent = await runAgent(agentConfigFile(station, proxy.port, compress, 600));
    const ok = await waitUntil(() => agent.outbox.depth() === 0 && agent.uplink.stats.acked >= BACKLOG, 600_000, 50);
    await new Promise((r) => setTimeout(r, 200));
    const reports = agent.uplink.stats.acked;
    await agent.stop();
    if (!ok) console.log(`  backfill ${station}: only ${reports} of ${BACKLOG} acknowledged`);
    // The connection's own bytes are in here too; over a backlog of hundreds of reports they are a rounding error.
    return { reports, up: proxy.up.bytes, down: proxy.down.bytes, writes: proxy.up.writes + proxy.down.writes };
  });
}

async function main() {
  console.log(`bandwidth: live ${LIVE_REPORTS} reports at ${INTERVAL_S} s, backfill of ${BACKLOG} reports`);
  console.log(`machine: ${machineLine()}`);
  [broker, influx] = await Promise.all([startMosquitto({ dir: join(dir, 'mosquitto'), persistence: false }), startInflux({ dir: join(dir, 'influxdb') })]);
  const stations = MODES.flatMap((m) => [`bw-live-${m.name}`, `bw-backfill-${m.name}`]);
  collector = await startBenchCollector({ dir, brokerUrl: broker.url, influxUrl: influx.url, stations: stations, flushInterval: '200ms' });

  const rows: string[] = [];
  const verdicts: string[] = [];
  for (const mode of MODES) {
    const l = await live(`bw-live-${mode.name}`, mode.compress);
    const b = await backfill(`bw-backfill-${mode.name}`, mode.compress);
    for (const [kind, m] of [['live', l], ['backfill', b]] as const) {
      const perReport = (m.up + m.down) / m.reports;
      const segments = m.writes / m.reports;
      const est = perReport + segments * (IP_TCP_PER_SEGMENT + TLS_PER_RECORD);
      const day = (perReport * PER_DAY) / 1e6;
      const dayEst = (est * PER_DAY) / 1e6;
      rows.push(
        `| ${kind} | ${mode.name} | ${m.reports} | ${(m.up / m.reports).toFixed(0)} | ${(m.down / m.reports).toFixed(0)} | ${perReport.toFixed(0)} | ${day.toFixed(2)} | ${segments.toFixed(2)} | ${dayEst.toFixed(2)} |`,
      );
      if (kind === 'live') verdicts.push(`${mode.name}: live ${day.toFixed(2)} MB/day measured, ${dayEst.toFixed(2)} MB/day with TLS and IP/TCP headers estimated — budget ≤ 5 MB: ${dayEst <= 5 ? 'holds' : day <= 5 ? 'holds for MQTT bytes, not with headers' : 'MISSED'}`);
    }
    if ('connect' in l) console.log(`${mode.name}: connection set-up ${l.connect} B (CONNECT, SUBSCRIBE, status, first report and their acks)`);
  }
  console.log('\nper report (TCP payload = MQTT bytes, both directions); per station-day at a 10 s interval (8,640 reports)');
  console.log('| sent as | encoding | reports | up B | down B | total B/report | MB/station-day | segments/report | MB/day est. with TLS + IP/TCP |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('');
  for (const v of verdicts) console.log(v);
}

async function cleanup() {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await collector?.stop();
  await Promise.all([broker?.stop(), influx?.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
