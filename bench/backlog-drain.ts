/**
 * Backlog drain: 24 h of reports at 10 s (8,640) waiting in a station's outbox after an outage, then the uplink comes
 * back. Measures the seconds until every one is acknowledged (so stored in InfluxDB), and checks that the newest, live
 * report went out first. Real agent CLI (a child process), real mosquitto, real collector, real influxd; the outage is
 * a proxy between agent and broker that refuses connections, then lets them through.
 *
 *   node dist/bench/backlog-drain.js [--reports 8640] [--rate 50] [--batch 50]   (rate and batch: the agent's
 *   outbox.backfill_rate and backfill_batch; their defaults are the agent's)
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import YAML from 'yaml';
import { openOutbox } from '../agent/outbox-open.js';
import type { RunningCollector } from '../collector/main.js';
import { startInflux, startMosquitto, type LocalServer } from '../deploy/local-servers.js';
import { decodePayload } from '../protocol/codec.js';
import { ackMessage, fromRanges } from '../protocol/report.js';
import { topicFor } from '../protocol/topics.js';
import { arg, machineLine, makeReport, prng, startCountingProxy, waitUntil, startBenchCollector, type CountingProxy, runBench } from './common.js';

const REPORTS = arg('reports', 8640);
const RATE = arg('rate', 50);
const BATCH = arg('batch', 50);
const STATION = 'bk-cho-moi-yen-dinh';
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/linkwatch.js');

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-drain-'));
let broker: LocalServer | undefined;
let influx: LocalServer | undefined;
let collector: RunningCollector | undefined;
let proxy: CountingProxy | undefined;
let agent: ChildProcess | undefined;
let watcher: mqtt.MqttClient | undefined;

async function main() {
  console.log(`backlog drain: ${REPORTS} reports in the outbox, backfill_rate ${RATE}/s, backfill_batch ${BATCH}`);
  console.log(`machine: ${machineLine()}`);
  [broker, influx] = await Promise.all([startMosquitto({ dir: join(dir, 'mosquitto'), persistence: false }), startInflux({ dir: join(dir, 'influxdb') })]);
  collector = await startBenchCollector({ dir, brokerUrl: broker.url, influxUrl: influx.url, stations: [STATION] });

  // The outage: the last 24 h of reports, committed through the agent's own outbox.
  const outboxDir = join(dir, 'outbox');
  const outbox = openOutbox({ dir: outboxDir, maxBytes: 256 * 1024 * 1024 });
  const rnd = prng(3);
  const t0 = Date.now() - REPORTS * 10_000;
  for (let i = 0; i < REPORTS; i++) outbox.append((seq) => ({ ts: t0 + i * 10_000, body: JSON.stringify(makeReport(STATION, seq, t0 + i * 10_000, rnd)) }));
  outbox.close();

  // What goes over the wire, in order, and what the collector acknowledges.
  const order: Array<{ at: number; seqs: number[] }> = [];
  const acked = new Set<number>();
  watcher = await mqtt.connectAsync(broker.url, { clientId: 'drain-watcher', protocolVersion: 5 });
  await watcher.subscribeAsync([topicFor(STATION, 'report'), topicFor(STATION, 'ack')], { qos: 0 });
  watcher.on('message', (topic, payload) => {
    if (topic.endsWith('/ack')) {
      for (const s of fromRanges(ackMessage.parse(JSON.parse(payload.toString())).stored)) acked.add(s);
      return;
    }
    const v = decodePayload(payload, 64 * 1024 * 1024) as { seq: number } | Array<{ seq: number }>;
    order.push({ at: performance.now(), seqs: Array.isArray(v) ? v.map((r) => r.seq) : [v.seq] });
  });

  proxy = await startCountingProxy(broker.port);
  proxy.setOnline(false);
  const agentFile = join(dir, 'agent.yaml');
  writeFileSync(
    agentFile,
    YAML.stringify({
      station: STATION,
      interval: '10s',
      broker: { url: `mqtt://127.0.0.1:${proxy.port}`, username: STATION },
      outbox: { path: outboxDir, backfill_rate: RATE, backfill_batch: BATCH },
      targets: [{ name: 'vpn', role: 'core', kind: 'tcp', host: '127.0.0.1', port: broker.port }],
      log_level: 'warn',
    }),
  );
  agent = spawn(process.execPath, [BIN, 'agent', '--config', agentFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Still offline: the agent measures and commits its first live report on top of the backlog.
  const committedLive = await waitUntil(() => peekNextSeq(outboxDir) > REPORTS, 30_000, 100);
  if (!committedLive) throw new Error('the agent committed no live report while offline');
  const newestAtReconnect = peekNextSeq(outboxDir) - 1;

  proxy.setOnline(true);
  const start = performance.now();
  const all = () => {
    for (let s = 0; s <= newestAtReconnect; s++) if (!acked.has(s)) return false;
    return true;
  };
  const expectS = REPORTS / RATE;
  const done = await waitUntil(all, Math.max(120_000, expectS * 4000), 100);
  const drainS = (performance.now() - start) / 1000;
  const first = order[0];
  const firstIsLive = first !== undefined && first.seqs.length === 1 && first.seqs[0] === newestAtReconnect;
  const firstBackfillAt = order.find((o) => o.seqs.length > 1)?.at;
  const stored = (await collector.influx.query<{ count: number }>(`SELECT count(seq) FROM report WHERE station = '${STATION}'`))[0]?.count;

  console.log(`\nnewest report at reconnect: seq ${newestAtReconnect}; first on the wire: ${first ? `[${first.seqs.slice(0, 3).join(',')}${first.seqs.length > 3 ? ',…' : ''}] (${first.seqs.length} report${first.seqs.length > 1 ? 's' : ''})` : 'nothing'}`);
  console.log(`live first: ${firstIsLive ? 'yes' : 'NO'}${firstBackfillAt && first ? `, backfill started ${(firstBackfillAt - first.at).toFixed(0)} ms after it` : ''}`);
  console.log(`drained ${done ? 'all' : 'NOT all'} ${newestAtReconnect + 1} reports in ${drainS.toFixed(1)} s (${((newestAtReconnect + 1) / drainS).toFixed(0)} reports/s; the configured rate alone allows ${expectS.toFixed(0)} s)`);
  console.log(`InfluxDB holds ${String(stored)} reports of this station; ${order.length} report messages crossed the broker; ${(proxy.up.bytes / 1e6).toFixed(2)} MB up, ${(proxy.down.bytes / 1e6).toFixed(2)} MB down`);
}

/** One past the newest seq in the outbox, read beside the running agent (read-only; WAL allows a second reader). */
function peekNextSeq(outboxDir: string): number {
  const db = new Database(join(outboxDir, 'outbox.db'), { readonly: true, fileMustExist: true });
  try {
    const max = db.prepare('SELECT MAX(seq) FROM report').pluck().get() as number | null;
    return max === null ? 0 : max + 1;
  } finally {
    db.close();
  }
}

async function cleanup() {
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    const a = agent;
    a.kill('SIGTERM');
    await new Promise<void>((r) => {
      const t = setTimeout(() => (a.kill('SIGKILL'), r()), 10_000);
      a.once('exit', () => (clearTimeout(t), r()));
    });
  }
  await watcher?.endAsync();
  await proxy?.close();
  await collector?.stop();
  await Promise.all([broker?.stop(), influx?.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
