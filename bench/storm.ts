/**
 * A province-wide outage, recovered: `--stations` stations were cut off for 24 h, each with `--reports` reports (8,640
 * at 10 s) waiting in its outbox, and all reconnect at once to one collector.
 *
 * The stations run the agent's real outbox (`openOutbox`) and `Uplink` (MQTT, newest first, backfill at `backfill_rate`,
 * re-send after `ack_timeout`), all in this process, each with its own outbox file and connection, and keep measuring:
 * every `--interval` each commits a live report and sends it at once, as `Agent` does. The outage itself is
 * simulated: its 24 h of reports are committed through `Outbox.append` for the first station, stamped over the
 * last 24 h, and the file copied for the others with their station id (8,640 fsynced commits × 150 would take hours).
 * The recovery runs on the real clock, because the collector (the real CLI, its own process), mosquitto and influxd
 * are real.
 *
 * Printed: the time until every station's live reports are current again (each acknowledged within one interval of
 * its measurement, from then on), the time until the backlog is drained, the collector's refusals (writer full) and
 * the agents' re-sends, the collector's CPU and peak RSS.
 *
 *   node dist/bench/storm.js [--stations 150] [--reports 8640] [--interval 10] [--rate 50] [--batch 50]
 *     [--ack-timeout 30] [--timeout 3600]
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { agentConfigSchema } from '../agent/config.js';
import type { Outbox } from '../agent/outbox.js';
import { openOutbox } from '../agent/outbox-open.js';
import { Uplink } from '../agent/uplink.js';
import { startInflux, startMosquitto, type LocalServer } from '../deploy/local-servers.js';
import { silentLogger } from '../lib/log.js';
import { arg, cpuSeconds, machineLine, makeReport, memoryMb, prng, runBench, sleep, stationIds, stopChildren, writeRegistry } from './common.js';

const STATIONS = arg('stations', 150);
const REPORTS = arg('reports', 8640);
const INTERVAL_S = arg('interval', 10);
const RATE = arg('rate', 50);
const BATCH = arg('batch', 50);
const ACK_TIMEOUT_S = arg('ack-timeout', 30);
const TIMEOUT_S = arg('timeout', 3600);
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/linkwatch.js');

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-storm-'));
let broker: LocalServer | undefined;
let influx: LocalServer | undefined;
let collector: ChildProcess | undefined;
const uplinks: Uplink[] = [];
const outboxes: Outbox[] = [];
const timers: NodeJS.Timeout[] = [];

/** A live report: when it was measured, and when its ack came (undefined until then). */
interface Live {
  station: number;
  seq: number;
  measured: number;
  acked?: number;
}

/** The outbox as the uplink sees it, noting when live reports are acknowledged. */
function watched(outbox: Outbox, live: Map<number, Live>): Outbox {
  return Object.assign(Object.create(outbox) as Outbox, {
    ack(seqs: readonly number[]): number {
      const t = performance.now();
      for (const s of seqs) {
        const l = live.get(s);
        if (l && l.acked === undefined) l.acked = t;
      }
      return outbox.ack(seqs);
    },
  });
}

async function main() {
  console.log(`storm: ${STATIONS} stations × ${REPORTS} reports after an outage, interval ${INTERVAL_S} s, backfill ${RATE}/s in batches of ${BATCH}, ack_timeout ${ACK_TIMEOUT_S} s`);
  console.log(`machine: ${machineLine()}`);
  [broker, influx] = await Promise.all([startMosquitto({ dir: join(dir, 'mosquitto'), persistence: false }), startInflux({ dir: join(dir, 'influxdb') })]);
  const ids = stationIds(STATIONS);
  const registryFile = writeRegistry(join(dir, 'stations.csv'), ids);

  // The outage: the first station's 24 h through the real outbox, then a copy per station with its own id.
  const fill0 = performance.now();
  const rnd = prng(7);
  const end = Date.now();
  const t0 = end - REPORTS * INTERVAL_S * 1000;
  const template = join(dir, 'outbox-template');
  const first = openOutbox({ dir: template, maxBytes: 1024 * 1024 * 1024 });
  for (let i = 0; i < REPORTS; i++) first.append((seq) => ({ ts: t0 + i * INTERVAL_S * 1000, body: JSON.stringify(makeReport(ids[0]!, seq, t0 + i * INTERVAL_S * 1000, rnd)) }));
  first.close();
  for (let s = 0; s < STATIONS; s++) {
    const d = join(dir, `outbox-${s}`);
    mkdirSync(d, { recursive: true });
    copyFileSync(join(template, 'outbox.db'), join(d, 'outbox.db'));
    if (s > 0) {
      const db = new Database(join(d, 'outbox.db'));
      db.prepare('UPDATE report SET body = replace(body, ?, ?)').run(`"station":"${ids[0]}"`, `"station":"${ids[s]}"`);
      db.close();
    }
  }
  console.log(`outboxes filled in ${((performance.now() - fill0) / 1000).toFixed(1)} s`);

  // One collector, the real CLI, with its defaults (flow control on, max_pending_points 200,000).
  const configFile = join(dir, 'collector.yaml');
  writeFileSync(
    configFile,
    YAML.stringify({
      broker: { url: broker.url, client_id: 'storm-collector', shared: false },
      influx: { url: influx.url, database: 'linkwatch' },
      stations: registryFile,
      dead_letter: { path: join(dir, 'dead-letter') },
      stats_interval: '2s',
      log_level: 'warn',
      evaluator: { enabled: false },
    }),
  );
  collector = spawn(process.execPath, [BIN, 'collector', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  await sleep(3000);
  if (collector.exitCode !== null) throw new Error(`collector exited (${collector.exitCode})`);
  const collectorCpu0 = cpuSeconds(collector.pid!);

  // Reconnect: every station at once, each measuring on from now.
  const lives: Array<Map<number, Live>> = [];
  const start = performance.now();
  for (let s = 0; s < STATIONS; s++) {
    const cfg = agentConfigSchema.parse({
      station: ids[s],
      interval: `${INTERVAL_S}s`,
      broker: { url: broker.url, username: ids[s] },
      outbox: { path: join(dir, `outbox-${s}`), backfill_rate: RATE, backfill_batch: BATCH, ack_timeout: `${ACK_TIMEOUT_S}s` },
      targets: [{ name: 'vpn', role: 'core', kind: 'tcp', host: '127.0.0.1', port: broker.port }],
    });
    const outbox = openOutbox({ dir: cfg.outbox.path, maxBytes: cfg.outbox.max_bytes });
    outboxes.push(outbox);
    const live = new Map<number, Live>();
    lives.push(live);
    const uplink = new Uplink(cfg, { outbox: watched(outbox, live), log: silentLogger(), now: Date.now });
    uplinks.push(uplink);
    uplink.start();
    // Stations measure at their own phase of the interval, like agents started at different times.
    const cycle = () => {
      const ts = Date.now();
      const { entry } = outbox.append((n) => ({ ts, body: JSON.stringify(makeReport(ids[s]!, n, ts, rnd)) }));
      live.set(entry.seq, { station: s, seq: entry.seq, measured: performance.now() });
      uplink.sendLive(entry);
    };
    const phase = setTimeout(() => {
      cycle();
      timers.push(setInterval(cycle, INTERVAL_S * 1000));
    }, (s / STATIONS) * INTERVAL_S * 1000);
    timers.push(phase);
  }

  // Until the backlog is gone (only the newest live reports left in flight) or the timeout.
  let drainedAt: number | undefined;
  let rssPeak = 0;
  const deadline = start + TIMEOUT_S * 1000;
  let lastLine = 0;
  while (performance.now() < deadline) {
    await sleep(1000);
    rssPeak = Math.max(rssPeak, memoryMb(collector.pid!).rss);
    const depth = outboxes.reduce((a, o) => a + o.depth(), 0);
    const elapsed = (performance.now() - start) / 1000;
    if (performance.now() - lastLine > 30_000) {
      lastLine = performance.now();
      console.log(`  ${elapsed.toFixed(0)} s: ${depth} reports in the outboxes; collector RSS ${memoryMb(collector.pid!).rss.toFixed(0)} MB`);
    }
    if (depth <= STATIONS) {
      drainedAt = performance.now();
      break;
    }
  }
  // One more interval of live reports after the drain, so "current" is judged on reports measured after it too.
  await sleep(INTERVAL_S * 1000 + 2000);
  const collectorCpu = cpuSeconds(collector.pid!) - collectorCpu0;
  for (const t of timers) clearInterval(t);

  const all = lives.flatMap((m) => [...m.values()]);
  const intervalMs = INTERVAL_S * 1000;
  // Current from the first moment after which every live report measured was acked within one interval.
  let currentFrom = start;
  for (const l of all) {
    if (l.acked === undefined ? performance.now() - l.measured > intervalMs : l.acked - l.measured > intervalMs) currentFrom = Math.max(currentFrom, l.measured);
  }
  const latencies = all.filter((l) => l.acked !== undefined).map((l) => l.acked! - l.measured).sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const published = uplinks.reduce((a, u) => a + u.stats.published, 0);
  const made = STATIONS * REPORTS + all.length;
  const refusedFull = await collectorCounter('refused_full');

  console.log(`\n| figure | value |`);
  console.log('|---|---|');
  console.log(`| reports waiting at reconnect | ${(STATIONS * REPORTS).toLocaleString('en')} (${STATIONS} × ${REPORTS}) |`);
  console.log(`| live reports are current (each acked within ${INTERVAL_S} s) from | ${((currentFrom - start) / 1000).toFixed(1)} s after reconnect (${((currentFrom - start) / intervalMs).toFixed(1)} intervals) |`);
  console.log(`| live report → ack latency | median ${(q(0.5) / 1000).toFixed(2)} s, p95 ${(q(0.95) / 1000).toFixed(2)} s, max ${(q(1) / 1000).toFixed(2)} s over ${latencies.length} live reports (${all.length - latencies.length} unacked) |`);
  console.log(`| backlog drained | ${drainedAt ? `${((drainedAt - start) / 1000).toFixed(0)} s after reconnect (${((STATIONS * REPORTS) / ((drainedAt - start) / 1000)).toFixed(0)} reports/s)` : `NOT within ${TIMEOUT_S} s`} |`);
  console.log(`| collector refusals (writer full, not acked) | ${refusedFull} |`);
  console.log(`| re-sends by the agents | ${(published - made).toLocaleString('en')} (${published.toLocaleString('en')} sent for ${made.toLocaleString('en')} made) |`);
  console.log(`| collector CPU | ${collectorCpu.toFixed(0)} s (${((collectorCpu / made) * 1000).toFixed(3)} s per 1,000 reports); peak RSS ${rssPeak.toFixed(0)} MB |`);
}

/** The latest value of one of the collector's own counters (the `collector` measurement). */
async function collectorCounter(field: string): Promise<number> {
  const body = new URLSearchParams({ q: `SELECT last("${field}") FROM "collector"`, db: 'linkwatch' });
  const r = await fetch(`${influx!.url}/query`, { method: 'POST', body });
  const j = (await r.json()) as { results?: Array<{ series?: Array<{ values: unknown[][] }> }> };
  return Number(j.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
}

async function cleanup() {
  for (const t of timers) clearInterval(t);
  await Promise.all(uplinks.map((u) => u.stop().catch(() => {})));
  for (const o of outboxes) o.close();
  if (collector) await stopChildren([collector]);
  await Promise.all([broker?.stop(), influx?.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
