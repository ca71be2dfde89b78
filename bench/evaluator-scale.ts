/**
 * The evaluator at province and country scale: the real `linkwatch evaluator` (its own process) against a real
 * influxd that is written to live, as the collector writes, while it runs.
 *
 *   npm run bench:evaluator [-- --stations 150,1000,3400 --periods 8 --baseline /path/to/old/bin/linkwatch.js]
 *
 * For each station count: a fresh database; the look-back (210 s) of reports written first, then every second a tenth
 * of the stations report (the realistic 8-point reports of bench/common.ts, the collector's own line protocol, stamped
 * with the wall clock, `delay_ms` 200), so each 10 s period gets one report per station. The evaluator runs at the
 * default period (10 s), settle (2 s) and look-back. Figures:
 * - time per evaluation, from the evaluator's own `evaluation written` log line (debug), for the first (one full
 *   look-back read, the restart path) and the steady ones (incremental);
 * - the same, seen from outside for any binary: from `T + settle` until InfluxDB holds all N health points of `T`;
 * - CPU-s of the evaluator per period and its RSS (max over the steady periods), from /proc, and influxd's CPU-s per
 *   period meanwhile (its share of the live writes is the same for every build);
 * - whether every period from the first to the last was written exactly once (`at` of each evaluation, and a count
 *   of health points per period in InfluxDB).
 * With `--baseline BIN`, the same run is first made with another build of the CLI (for example the commit before the
 * incremental evaluator), on the same database and writes: a baseline measured in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { reportToLines } from '../collector/points.js';
import { loadRegistry, type Station } from '../collector/registry.js';
import { startInflux, type LocalServer } from '../deploy/local-servers.js';
import { arg, cpuSeconds, machineLine, makeReport, median, memoryMb, prng, runBench, sleep, stationIds, writeRegistry, stopChildren } from './common.js';

const COUNTS = arg('stations', '150,1000,3400').split(',').map(Number);
const PERIODS = arg('periods', 8);
const BASELINE = arg('baseline', '');
const PERIOD_MS = 10_000;
const SETTLE_MS = 2_000;
const PREFILL_MS = 210_000;
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/linkwatch.js');

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-evaluator-'));
let influx: LocalServer | undefined;
const children = new Set<ChildProcess>();
let stopWriter: (() => Promise<void>) | undefined;

async function write(database: string, lines: string): Promise<void> {
  const res = await fetch(`${influx!.url}/write?db=${database}&precision=ms`, { method: 'POST', body: lines });
  if (res.status !== 204) throw new Error(`write: ${res.status} ${await res.text()}`);
}

async function query<T = Record<string, unknown>>(database: string, q: string): Promise<T[]> {
  const res = await fetch(`${influx!.url}/query?db=${database}&epoch=ms&q=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { results: Array<{ series?: Array<{ columns: string[]; values: unknown[][] }> }> };
  const s = body.results[0]?.series?.[0];
  return (s?.values ?? []).map((v) => Object.fromEntries(s!.columns.map((c, i) => [c, v[i]])) as T);
}

/** The reports of `stations` measured at `ts`, as the collector writes them. */
function linesAt(stations: readonly Station[], ts: number, rnd: () => number): string {
  const out: string[] = [];
  const seq = Math.floor(ts / PERIOD_MS) % 1_000_000;
  for (const s of stations) out.push(reportToLines(makeReport(s.id, seq, ts, rnd), s, ts + 200).lines);
  return out.join('\n');
}

/** Prefills the look-back, then writes a tenth of the stations every second until stopped. */
async function startWriter(database: string, stations: readonly Station[]): Promise<() => Promise<void>> {
  const rnd = prng(stations.length);
  const now = Date.now();
  for (let t = now - PREFILL_MS; t < now; t += 1000) {
    const slot = Math.floor(t / 1000) % 10;
    await write(database, linesAt(stations.filter((_, i) => i % 10 === slot), t, rnd));
  }
  let stopped = false;
  const loop = (async () => {
    let next = Math.ceil(Date.now() / 1000) * 1000;
    while (!stopped) {
      await sleep(Math.max(0, next - Date.now()));
      const slot = Math.floor(next / 1000) % 10;
      await write(database, linesAt(stations.filter((_, i) => i % 10 === slot), Date.now(), rnd)).catch((err) => console.error('live write failed', err));
      next += 1000;
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

interface Run {
  /** Evaluation times from the process's own log, by period. */
  logged: Map<number, number>;
  /** From T + settle until all N health points of T were in InfluxDB. */
  visible: Map<number, number>;
  cpuPerPeriod: number;
  /** influxd's CPU-s per period while this evaluator ran (its reads, plus the live writes, the same for both). */
  influxCpuPerPeriod: number;
  rssMax: number;
  rssFirst: number;
  periods: number[];
  complete: boolean;
}

async function runEvaluator(bin: string, label: string, database: string, stations: readonly Station[], configFile: string): Promise<Run> {
  const n = stations.length;
  const lastStation = stations[n - 1]!.id;
  const child = spawn(process.execPath, [bin, 'evaluator', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const logged = new Map<number, number>();
  const ats: number[] = [];
  let buf = '';
  let errors = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const l = JSON.parse(line) as { msg: string; at?: string; ms?: number; level: number };
        if (l.msg === 'evaluation written' && l.at) {
          const at = Date.parse(l.at);
          ats.push(at);
          logged.set(at, l.ms ?? NaN);
        }
        if (l.level >= 40) errors += `${line}\n`;
      } catch {
        // not a log line
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (errors += d.toString()));

  const startedAt = Date.now();
  const first = Math.floor((startedAt - SETTLE_MS) / PERIOD_MS) * PERIOD_MS + PERIOD_MS;
  const visible = new Map<number, number>();
  let rssFirst = 0;
  let rssMax = 0;
  let cpuAfterFirst = 0;
  let influxAfterFirst = 0;
  for (let k = 0; k < PERIODS; k++) {
    const at = first + k * PERIOD_MS;
    const due = at + SETTLE_MS;
    while (Date.now() < due) {
      await sleep(Math.min(500, due - Date.now()));
      if (child.exitCode !== null) throw new Error(`${label} evaluator exited (${child.exitCode}):\n${errors}`);
      const rss = memoryMb(child.pid!).rss;
      if (k >= 2) rssMax = Math.max(rssMax, rss);
      else rssFirst = Math.max(rssFirst, rss);
    }
    for (;;) {
      // The last station's point first (one series: nearly free), then all N. Counting every station's point every
      // 100 ms cost influxd about as much as the evaluation being timed, and slowed it.
      const [one] = await query<{ count: number }>(database, `SELECT count("code") FROM "health" WHERE "station" = '${lastStation}' AND time = ${at}ms`);
      const [row] = one?.count ? await query<{ count: number }>(database, `SELECT count("code") FROM "health" WHERE time = ${at}ms`) : [];
      if ((row?.count ?? 0) >= n) {
        visible.set(at, Date.now() - due);
        break;
      }
      if (Date.now() - due > 3 * PERIOD_MS) break; // overran badly; counted as missing below
      await sleep(100);
      const rss = memoryMb(child.pid!).rss;
      if (k >= 2) rssMax = Math.max(rssMax, rss);
      else rssFirst = Math.max(rssFirst, rss);
    }
    if (k === 0) {
      cpuAfterFirst = cpuSeconds(child.pid!);
      influxAfterFirst = cpuSeconds(influx!.pid()!);
    }
  }
  const influxCpu = cpuSeconds(influx!.pid()!) - influxAfterFirst;
  // Let periods evaluated late (caught up in order after a slow first read) land before checking that none is missing.
  const last = first + (PERIODS - 1) * PERIOD_MS;
  const waitUntil = Date.now() + 6 * PERIOD_MS;
  while (Date.now() < waitUntil && !(await query<{ count: number }>(database, `SELECT count("code") FROM "health" WHERE time = ${last}ms`))[0]?.count) await sleep(500);
  await sleep(1000);
  const cpu = cpuSeconds(child.pid!) - cpuAfterFirst;
  child.kill('SIGTERM');
  await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  children.delete(child);
  const counts = await query<{ time: number; count: number }>(database, `SELECT count("code") FROM "health" WHERE time >= ${first}ms AND time <= ${last}ms GROUP BY time(${PERIOD_MS}ms)`);
  const complete = counts.length === PERIODS && counts.every((c) => c.count === n);
  const periods = ats.filter((t) => t >= first && t <= last);
  return { logged, visible, cpuPerPeriod: cpu / (PERIODS - 1), influxCpuPerPeriod: influxCpu / (PERIODS - 1), rssMax, rssFirst, periods, complete };
}

const f1 = (v: number) => (Number.isFinite(v) ? (v / 1000).toFixed(2) : '–');

async function main() {
  console.log(`evaluator at scale: ${COUNTS.join(', ')} stations, ${PERIODS} periods each, period ${PERIOD_MS / 1000} s, settle ${SETTLE_MS / 1000} s`);
  console.log(`machine: ${machineLine()}`);
  influx = await startInflux({ dir: join(dir, 'influxdb') });
  const rows: string[] = [];
  for (const n of COUNTS) {
    const database = `bench_${n}`;
    await query(database, `CREATE DATABASE "${database}"`);
    const registryFile = writeRegistry(join(dir, `stations-${n}.csv`), stationIds(n));
    const stations = [...loadRegistry(registryFile).values()];
    const configFile = join(dir, `evaluator-${n}.yaml`);
    writeFileSync(configFile, YAML.stringify({
      broker: { url: 'mqtt://127.0.0.1:1' }, // never connected: `linkwatch evaluator` only reads and writes InfluxDB
      influx: { url: influx.url, database },
      stations: registryFile,
      dead_letter: { path: join(dir, 'dead-letter') },
      log_level: 'debug',
      evaluator: { period: `${PERIOD_MS}ms`, settle: `${SETTLE_MS}ms` },
    }));
    const t0 = Date.now();
    stopWriter = await startWriter(database, stations);
    console.log(`\n${n} stations: look-back prefilled in ${((Date.now() - t0) / 1000).toFixed(1)} s; live writes running`);
    const runs: Array<[string, Run]> = [];
    if (BASELINE) runs.push(['baseline', await runEvaluator(BASELINE, 'baseline', database, stations, configFile)]);
    runs.push(['this build', await runEvaluator(BIN, 'this build', database, stations, configFile)]);
    await stopWriter();
    stopWriter = undefined;
    for (const [label, r] of runs) {
      const logged = [...r.logged.entries()].sort((a, b) => a[0] - b[0]).map(([, ms]) => ms);
      const visible = [...r.visible.entries()].sort((a, b) => a[0] - b[0]).map(([, ms]) => ms);
      const steadyLogged = logged.slice(1);
      const steadyVisible = visible.slice(1);
      const consecutive = r.periods.every((t, i) => i === 0 || t - r.periods[i - 1]! === PERIOD_MS) && new Set(r.periods).size === r.periods.length;
      rows.push(
        `| ${n} | ${label} | ${logged.length ? f1(logged[0]!) : '–'} | ${steadyLogged.length ? `${f1(median(steadyLogged))} (max ${f1(Math.max(...steadyLogged))})` : '–'} | ` +
          `${visible.length ? f1(visible[0]!) : '–'} | ${steadyVisible.length ? `${f1(median(steadyVisible))} (max ${f1(Math.max(...steadyVisible))})` : '–'} | ` +
          `${r.cpuPerPeriod.toFixed(2)} | ${r.influxCpuPerPeriod.toFixed(2)} | ${r.rssFirst.toFixed(0)} | ${r.rssMax.toFixed(0)} | ${r.complete ? 'all' : 'NOT all'}${label === 'this build' ? (consecutive ? ', none twice' : ', REPEATED OR SKIPPED') : ''} |`,
      );
      console.log(rows[rows.length - 1]);
      // Every period, so a slow one (influxd compacting, the box busy) is seen as one and not hidden in a median.
      console.log(`  ${label}, s per period (log): ${logged.map(f1).join(' ')}; seen in InfluxDB: ${visible.map(f1).join(' ')}`);
    }
  }
  console.log('\n| stations | evaluator | first evaluation s (log) | steady s, median (log) | first s (seen in InfluxDB) | steady s, median (seen) | evaluator CPU-s per period | influxd CPU-s per period | RSS MB, first 2 periods | RSS MB max, steady | periods written |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nbudget: an evaluation at 3,400 stations ≤ 2 s (20 % of the ${PERIOD_MS / 1000} s period), no period repeated or skipped`);
}

async function cleanup() {
  await stopWriter?.();
  await stopChildren(children);
  await influx?.stop();
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
