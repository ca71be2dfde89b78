/**
 * Detection latency on real servers: seconds from an injected fault to the verdict in InfluxDB.
 *
 *   npm run bench:detection [-- --interval 1s --stations 20]
 *
 * Starts mosquitto and influxd on free ports in a temp dir, a collector with its evaluator (period = the simulated
 * agents' interval), and simulated stations publishing real v1 reports over MQTT, stamped with the wall clock.
 * After a warm-up it breaks one station's gateway, one station's ISP edge and one station's power, and polls InfluxDB
 * for the first `health` point that names each fault, then restores them and times the all-clear.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InfluxDB } from 'influx';
import mqtt from 'mqtt';
import YAML from 'yaml';
import { loadCollectorConfig, startCollector } from '../collector/main.js';
import { startInflux, startMosquitto } from '../deploy/local-servers.js';
import { parseDuration } from '../lib/units.js';
import { silentLogger } from '../lib/log.js';
import { report, type Role } from '../protocol/report.js';
import { topicFor } from '../protocol/topics.js';

const { values: args } = parseArgs({ options: { interval: { type: 'string', default: '1s' }, stations: { type: 'string', default: '20' } } });
const intervalMs = parseDuration(args.interval);
const count = Math.max(4, Number(args.stations));
const settleMs = Math.min(1000, Math.round(intervalMs * 0.3));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Fault = 'none' | 'gateway' | 'isp' | 'power';
const ROLES: Role[] = ['gateway', 'isp', 'core', 'service'];

function buildReport(station: string, seq: number, fault: Fault) {
  const failFrom = fault === 'gateway' ? 0 : fault === 'isp' ? 1 : 99;
  return report.parse({
    v: 1, station, seq, ts: Date.now(), interval_s: intervalMs / 1000,
    probes: ROLES.map((role, i) => (i >= failFrom
      ? { target: role, role, kind: 'icmp', ok: false, sent: 3, received: 0, loss: 1, error: 'timeout' }
      : { target: role, role, kind: 'icmp', ok: true, sent: 3, received: 3, loss: 0, rtt_avg_ms: 5 + i * 5, jitter_ms: 1 })),
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'lw-bench-detect-'));
  const [broker, influxd] = await Promise.all([startMosquitto({ dir: join(dir, 'mosquitto'), persistence: false }), startInflux({ dir: join(dir, 'influxdb') })]);
  const stations = Array.from({ length: count }, (_, i) => `bench-${i}`);
  const registry = join(dir, 'stations.csv');
  writeFileSync(registry, `id,name,commune,district,province,lat,lon,isp,circuit,sla_target\n${stations.map((s, i) => `${s},Công an xã ${i},Xã ${i},Huyện ${i % 3},Bắc Kạn,22.1,105.8,VNPT,c${i},99.5`).join('\n')}\n`);
  const configFile = join(dir, 'collector.yaml');
  writeFileSync(configFile, YAML.stringify({
    broker: { url: broker.url, client_id: 'bench-collector' },
    influx: { url: influxd.url, database: 'linkwatch', flush_interval: '100ms' },
    stations: registry,
    dead_letter: { path: join(dir, 'dead-letter') },
    log_level: 'silent',
    evaluator: { enabled: true, period: `${intervalMs}ms`, settle: `${settleMs}ms` },
  }));
  const cfg = loadCollectorConfig(configFile);
  const collector = await startCollector(cfg, { configFile, log: silentLogger() });
  const db = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: 'linkwatch' });
  const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'bench-province' });

  const faults = new Map<string, Fault>();
  let seq = 0;
  let publishing = true;
  const loop = (async () => {
    while (publishing) {
      const tick = Date.now();
      seq++;
      await Promise.all(stations.filter((s) => faults.get(s) !== 'power').map((s) => pub.publishAsync(topicFor(s, 'report'), JSON.stringify(buildReport(s, seq, faults.get(s) ?? 'none')), { qos: 1 })));
      await sleep(Math.max(0, intervalMs - (Date.now() - tick)));
    }
  })();

  const latest = async (station: string) => {
    const r = (await db.query(`SELECT "state", "cause" FROM "health" WHERE "station" = '${station}' ORDER BY time DESC LIMIT 1`)) as unknown as Array<{ state: string; cause: string }>;
    return r[0];
  };
  const waitFor = async (station: string, pred: (h: { state: string; cause: string }) => boolean, from: number) => {
    for (;;) {
      const h = await latest(station).catch(() => undefined);
      if (h && pred(h)) return { seconds: (Date.now() - from) / 1000, ...h };
      if (Date.now() - from > 60 * intervalMs + 30_000) throw new Error(`no verdict for ${station} within the time limit`);
      await sleep(50);
    }
  };

  try {
    process.stdout.write(`detection latency: ${count} stations, interval = evaluator period = ${intervalMs} ms, settle ${settleMs} ms, raise after ${cfg.verdicts.raise} bad cycles, clear after ${cfg.verdicts.clear}, silent after ${cfg.verdicts.silence_intervals} intervals\n`);
    await Promise.all(stations.map((s) => waitFor(s, (h) => h.state === 'ok', Date.now())));
    await sleep(2 * intervalMs);
    const t0 = Date.now();
    faults.set('bench-0', 'gateway').set('bench-1', 'isp').set('bench-2', 'power');
    const detected = await Promise.all([
      waitFor('bench-0', (h) => h.state === 'down', t0),
      waitFor('bench-1', (h) => h.state === 'down', t0),
      waitFor('bench-2', (h) => h.state === 'offline', t0),
    ]);
    for (const [what, d] of [['gateway broken', detected[0]!], ['ISP edge broken', detected[1]!], ['power cut (silence)', detected[2]!]] as const) {
      process.stdout.write(`  ${what.padEnd(22)} → ${`${d.state}/${d.cause}`.padEnd(15)} in InfluxDB after ${d.seconds.toFixed(2)} s\n`);
    }
    const t1 = Date.now();
    faults.clear();
    const cleared = await Promise.all(['bench-0', 'bench-1', 'bench-2'].map((s) => waitFor(s, (h) => h.state === 'ok', t1)));
    process.stdout.write(`  ${'all restored'.padEnd(22)} → ${'ok/none'.padEnd(15)} in InfluxDB after ${Math.max(...cleared.map((c) => c.seconds)).toFixed(2)} s (slowest of 3)\n`);
    process.stdout.write(`  evaluations: ${collector.evaluator?.stats.evaluations}, last took ${collector.evaluator?.stats.last_ms} ms, failures ${collector.evaluator?.stats.failures}\n`);
  } finally {
    publishing = false;
    await loop;
    await pub.endAsync();
    await collector.stop();
    await Promise.all([broker.stop(), influxd.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
