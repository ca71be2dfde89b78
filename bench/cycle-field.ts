/**
 * What the `cycle` field of `report` (collector/cycle-field.ts) costs and what it saves, on real influxd.
 *
 *   npm run bench:cycle-field [-- --stations 40 --hours 24 --read-stations 3400]
 *
 * Storage and ingest: two influxd, one given every report with the field and one without it (the line protocol an
 * older collector writes), fed the same batches of the realistic reports of bench/common.ts in turn, a day of 10 s
 * reports for `--stations` stations. Figures: line-protocol bytes per report, influxd CPU-s per 1,000 reports, and the
 * database's bytes on disk per station-day once the WAL is snapshotted and the shards fully compacted (both influxd
 * are told to do so after a few idle seconds). The collector's side: its time to build a report's lines, with the
 * field, and `encodeCycle` on its own.
 *
 * Reads: `--read-stations` stations with 210 s of reports (every report with the field), then the evaluator's own
 * reads (collector/evaluation/store.ts), each 5 times in turn: a period's cycles read from the four measurements as
 * before and from the field; the period's whole read (`recent`) without and with the late-report query; the
 * restart's full read of the look-back from the measurements and from the field (`seed`). Wall time (median) and
 * influxd's CPU-s per read, all in the same run.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCycle } from '../collector/cycle-field.js';
import { EvaluationStore } from '../collector/evaluation/store.js';
import { Influx } from '../collector/influx.js';
import { reportToLines } from '../collector/points.js';
import { loadRegistry, type Station } from '../collector/registry.js';
import { startInflux, type LocalServer } from '../deploy/local-servers.js';
import { arg, cpuSeconds, machineLine, makeReport, median, prng, runBench, sleep, stationIds, writeRegistry } from './common.js';

const STATIONS = arg('stations', 40);
const HOURS = arg('hours', 24);
const READ_STATIONS = arg('read-stations', 3400);
const PERIOD_MS = 10_000;
const LOOKBACK_MS = 180_000;
const SETTLE_MS = 2_000;

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-cycle-field-'));
const servers: LocalServer[] = [];

// Snapshot the WAL and compact fully after a few idle seconds, so what is on disk is what stays there.
process.env.INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION = '2s';
process.env.INFLUXDB_DATA_COMPACT_FULL_WRITE_COLD_DURATION = '5s';

/** The line protocol of a report without the `cycle` field, as a collector older than the field wrote it. */
const withoutField = (lines: string) => lines.replace(/(?<=[ ,])cycle="[^"]*",/g, '');

function bytesUnder(path: string): number {
  let n = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    n += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return n;
}

async function storageAndIngest(): Promise<void> {
  const stations = [...loadRegistry(writeRegistry(join(dir, 'stations-storage.csv'), stationIds(STATIONS))).values()];
  const shapes = [
    { label: 'with the cycle field', lines: (l: string) => l },
    { label: 'without it (older collector)', lines: withoutField },
  ];
  const runs = await Promise.all(shapes.map(async (shape, i) => {
    const server = await startInflux({ dir: join(dir, `influx-${i}`) });
    servers.push(server);
    const influx = new Influx({ url: server.url, database: 'linkwatch', timeout: 60_000 });
    await influx.ensureDatabase();
    return { ...shape, server, influx, bytes: 0, cpu: 0, reports: 0 };
  }));
  const rnd = prng(STATIONS);
  const start = Math.floor((Date.now() - HOURS * 3_600_000) / PERIOD_MS) * PERIOD_MS;
  const steps = (HOURS * 3_600_000) / PERIOD_MS;
  const BATCH_STEPS = Math.max(1, Math.floor(1000 / STATIONS));
  let buildMs = 0;
  let encodeMs = 0;
  for (let k = 0; k < steps; k += BATCH_STEPS) {
    const reports = [];
    for (let j = k; j < Math.min(steps, k + BATCH_STEPS); j++) for (const s of stations) reports.push({ r: makeReport(s.id, j, start + j * PERIOD_MS, rnd), s });
    let t = performance.now();
    const body = reports.map(({ r, s }) => reportToLines(r, s, r.ts + 200).lines).join('\n');
    buildMs += performance.now() - t;
    t = performance.now();
    for (const { r } of reports) encodeCycle(r);
    encodeMs += performance.now() - t;
    for (const run of runs) {
      const lines = run.lines(body);
      const cpu = cpuSeconds(run.server.pid()!);
      await run.influx.writeLines(lines);
      run.cpu += cpuSeconds(run.server.pid()!) - cpu;
      run.bytes += Buffer.byteLength(lines);
      run.reports += reports.length;
    }
  }
  // Wait for both to snapshot and compact: the data directory stops changing and the WAL is (nearly) empty.
  const sizes = () => runs.map((r) => bytesUnder(join(dir, `influx-${runs.indexOf(r)}`, 'data', 'linkwatch')));
  let last = sizes();
  for (let quiet = 0; quiet < 3;) {
    await sleep(5000);
    const now = sizes();
    quiet = now.every((v, i) => v === last[i]) ? quiet + 1 : 0;
    last = now;
  }
  const reports = runs[0]!.reports;
  console.log(`\nstorage and ingest: ${STATIONS} stations × ${HOURS} h of 10 s reports = ${reports} reports (8 points each)`);
  console.log(`collector: reportToLines ${((buildMs * 1000) / reports).toFixed(1)} µs per report with the field, of which encodeCycle ${((encodeMs * 1000) / reports).toFixed(1)} µs`);
  console.log('| reports | line protocol bytes per report | influxd CPU-s per 1,000 reports | on disk (compacted), bytes per report | on disk, MB per station-day | WAL left, bytes |');
  console.log('|---|---|---|---|---|---|');
  for (const [i, r] of runs.entries()) {
    const wal = bytesUnder(join(dir, `influx-${i}`, 'wal'));
    console.log(
      `| ${r.label} | ${(r.bytes / reports).toFixed(0)} | ${((r.cpu * 1000) / reports).toFixed(3)} | ${(last[i]! / reports).toFixed(1)} | ` +
        `${((last[i]! / STATIONS / (HOURS / 24)) / 1e6).toFixed(2)} | ${wal} |`,
    );
  }
  for (const r of runs) await r.server.stop();
}

async function reads(): Promise<void> {
  const server = await startInflux({ dir: join(dir, 'influx-reads') });
  servers.push(server);
  const influx = new Influx({ url: server.url, database: 'linkwatch', timeout: 600_000 });
  await influx.ensureDatabase();
  const stations: Station[] = [...loadRegistry(writeRegistry(join(dir, 'stations-reads.csv'), stationIds(READ_STATIONS))).values()];
  const rnd = prng(READ_STATIONS);
  const to = Math.floor(Date.now() / PERIOD_MS) * PERIOD_MS;
  // The evaluator's look-back and a period more, a tenth of the stations every second, as in bench/evaluator-scale.ts.
  for (let t = to - LOOKBACK_MS - 30_000; t < to; t += 1000) {
    const slot = Math.floor(t / 1000) % 10;
    const body = stations.filter((_, i) => i % 10 === slot).map((s) => reportToLines(makeReport(s.id, Math.floor(t / PERIOD_MS) % 1_000_000, t, rnd), s, t + 200).lines).join('\n');
    await influx.writeLines(body);
  }
  const store = new EvaluationStore(influx, PERIOD_MS / 1000);
  const from = to - PERIOD_MS - SETTLE_MS;
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['a period\'s cycles, from the four measurements (before)', () => store.measuredCycles(from, to)],
    ['a period\'s whole read, cycles from the field, no late query', () => store.recent(from, to, to, SETTLE_MS)],
    ['a period\'s whole read, cycles from the field, with the late query (now)', () => store.recent(from, to, to - LOOKBACK_MS, SETTLE_MS)],
    ['the look-back\'s cycles, from the four measurements (restart, before)', () => store.measuredCycles(to - LOOKBACK_MS, to)],
    ['the restart\'s whole read (seed), cycles from the field (now)', () => store.seed(to, LOOKBACK_MS, SETTLE_MS)],
  ];
  const wall = cases.map(() => [] as number[]);
  const cpu = cases.map(() => 0);
  const ROUNDS = 5;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, read]] of cases.entries()) {
      const c = cpuSeconds(server.pid()!);
      const t = performance.now();
      await read();
      wall[i]!.push(performance.now() - t);
      cpu[i]! += cpuSeconds(server.pid()!) - c;
    }
  }
  console.log(`\nreads: ${READ_STATIONS} stations, ${(LOOKBACK_MS + 30_000) / 1000} s of reports; each read ${ROUNDS} times in turn`);
  console.log('| read | wall s, median (min–max) | influxd CPU-s per read |');
  console.log('|---|---|---|');
  for (const [i, [label]] of cases.entries()) {
    const w = wall[i]!;
    console.log(`| ${label} | ${(median(w) / 1000).toFixed(2)} (${(Math.min(...w) / 1000).toFixed(2)}–${(Math.max(...w) / 1000).toFixed(2)}) | ${(cpu[i]! / ROUNDS).toFixed(2)} |`);
  }
  await server.stop();
}

async function main() {
  console.log(`the cycle field: cost and saving; machine: ${machineLine()}`);
  if (STATIONS > 0) await storageAndIngest();
  if (READ_STATIONS > 0) await reads();
  console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

async function cleanup() {
  for (const s of servers) await s.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
