/**
 * SLA at country scale (issue 12): `linkwatch sla`'s reading (collector/sla/read.ts) over synthetic rollups for
 * 3,400 stations × a year and for a province month (150 stations), beside the same availability answered from raw
 * `health` points (a smaller span, extrapolated linearly), with influxd's memory and the disk per station-year.
 *
 *   npm run bench:sla [-- --stations 3400 --province 150 --raw-hours 6 --runs 3]
 *
 * Points are written with the evaluator's own shapes (rollupPoint, outagePoint, healthPoint). Data generation takes a
 * few minutes on 2 cores; every run writes the same data (seeded PRNG).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { InfluxDB, type IPoint } from 'influx';
import { startInflux, type LocalServer } from '../deploy/local-servers.js';
import { ensureRetention, ROLLUP_RP } from '../collector/retention.js';
import type { Station } from '../collector/registry.js';
import { readStatement } from '../collector/sla/read.js';
import { outagePoint, rollupPoint } from '../collector/sla/rollup-job.js';
import { Influx, packageSchema } from '../collector/influx.js';
import { combineRollups, type Rollup } from '../collector/sla/rollup.js';
import { DAY_MS, HOUR_MS, nextVnMonth, vnMonthStart } from '../collector/sla/time.js';
import { healthPoint } from '../collector/verdict/points.js';
import { tempDir } from '../test/helpers/env.js';
import { arg, machineLine, median, memoryMb, prng, runBench, spread } from './common.js';

const STATIONS = arg('stations', 3400);
const PROVINCE = arg('province', 150);
const RAW_HOURS = arg('raw-hours', 6);
const RUNS = arg('runs', 3);
const PERIOD_MS = 10_000;
const ISPS = ['VNPT', 'Viettel', 'FPT', 'Mobifone'];

function station(i: number, province: string): Station {
  return {
    id: `st-${String(i).padStart(5, '0')}`, name: `Công an xã ${i}`, commune: `Xã ${i}`, district: `Huyện ${i % 10}`, province, lat: 21, lon: 105,
    isp: ISPS[i % ISPS.length]!, circuit: `c-${i}`, sla_target: 99.5, sla_class: 'default',
  };
}

/** A synthetic day or hour: mostly clean, now and then an outage, maintenance or a station-side fault. */
function synthetic(period_s: number, rnd: () => number): Rollup {
  const r: Rollup = { period_s, available_s: period_s, downtime_s: 0, maintenance_s: 0, station_side_s: 0, other_s: 0, unknown_s: 0, outages: 0, sla_target: 99.5 };
  const take = (k: 'downtime_s' | 'maintenance_s' | 'station_side_s' | 'unknown_s', s: number) => {
    const v = Math.min(r.available_s, Math.round(s / 10) * 10);
    r[k] += v;
    r.available_s -= v;
  };
  const scale = period_s / 86_400;
  if (rnd() < 0.05 * scale * 24 ** (1 - scale)) {
    take('downtime_s', 300 + rnd() * 5400 * scale);
    r.outages = 1;
  }
  if (rnd() < 0.01) take('maintenance_s', 3600 * scale);
  if (rnd() < 0.02) take('station_side_s', 1800 * scale);
  if (rnd() < 0.03) take('unknown_s', 600 * scale);
  r.rtt_p50_ms = Math.round((10 + rnd() * 8) * 100) / 100;
  r.rtt_p95_ms = Math.round((r.rtt_p50_ms * (1.3 + rnd())) * 100) / 100;
  r.loss_p50 = 0;
  r.loss_p95 = Math.round(rnd() * 0.02 * 1e4) / 1e4;
  r.jitter_p50_ms = Math.round(rnd() * 200) / 100;
  r.jitter_p95_ms = Math.round((r.jitter_p50_ms + rnd() * 4) * 100) / 100;
  return r;
}

async function writeAll(influx: InfluxDB, points: Iterable<IPoint[]>, rp?: string): Promise<number> {
  let n = 0;
  for (const batch of points) {
    // On a loaded machine a write can time out inside influxd (500); the same points written again are the same.
    for (let attempt = 1; ; attempt++) {
      try {
        await influx.writePoints(batch, { precision: 'ms', ...(rp ? { retentionPolicy: rp } : {}) });
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 2000 * attempt));
      }
    }
    n += batch.length;
  }
  return n;
}

function* batches<T>(items: Iterable<T>, size = 5000): Iterable<T[]> {
  let b: T[] = [];
  for (const x of items) {
    b.push(x);
    if (b.length >= size) {
      yield b;
      b = [];
    }
  }
  if (b.length) yield b;
}

const du = (path: string) => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number[]; result: T }> {
  const ms: number[] = [];
  let result!: T;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    result = await f();
    ms.push(performance.now() - t);
  }
  return { ms, result };
}

let influxd: LocalServer | undefined;
let dir: string | undefined;

runBench(
  async () => {
    console.log(`SLA at scale: ${STATIONS} stations × 12 months of rollups; a province of ${PROVINCE}; raw health for ${RAW_HOURS} h`);
    console.log(machineLine());
    // Snapshot and compact soon, so the disk figures are of TSM files, not of the write-ahead log.
    process.env.INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION = '2s';
    process.env.INFLUXDB_DATA_COMPACT_FULL_WRITE_COLD_DURATION = '5s';
    process.env.INFLUXDB_COORDINATOR_WRITE_TIMEOUT = '60s';
    dir = tempDir('lw-bench-sla-');
    influxd = await startInflux({ dir: join(dir, 'influxdb') });
    const pid = influxd.pid()!;
    const client = (database: string) => {
      const c = new InfluxDB({ host: '127.0.0.1', port: influxd!.port, database, pool: { requestTimeout: 600_000 } });
      for (const s of packageSchema(database)) c.addSchema(s);
      return c;
    };
    const country = client('country');
    const province = client('province');
    for (const [db, c] of [['country', country], ['province', province]] as const) {
      await c.createDatabase(db);
      await ensureRetention(new Influx({ url: influxd.url, database: db, timeout: 600_000 }), db, 90 * DAY_MS, 1830 * DAY_MS);
    }
    const rnd = prng(12);
    // Whole Vietnamese months, as `--month` and a year of months ask.
    const yearEnd = vnMonthStart(Date.now());
    const yearFrom = vnMonthStart(yearEnd - 360 * DAY_MS);
    const monthFrom = vnMonthStart(yearEnd - DAY_MS);

    // Country: a year of sla_month (made from synthetic days the way the rollup job makes them) and the outages.
    // Its sla_day points are not written: a year is read from sla_month, and writing 1.24 M day points takes
    // about 20 minutes on this machine; their disk is measured on the province.
    let t = performance.now();
    const all = Array.from({ length: STATIONS }, (_, i) => station(i, i < PROVINCE ? 'Bắc Kạn' : `Tỉnh ${Math.floor(i / PROVINCE)}`));
    const dayPoints = function* (stations: Station[], from: number, to: number, r: () => number, withDays: boolean) {
      for (const s of stations) {
        for (let m = from; m < to; m = nextVnMonth(m)) {
          const days: Rollup[] = [];
          for (let d = m; d < Math.min(nextVnMonth(m), to); d += DAY_MS) {
            const roll = synthetic(86_400, r);
            days.push(roll);
            if (withDays) yield rollupPoint('sla_day', s, d, roll);
            if (roll.outages) {
              const start = d + Math.floor(r() * 20) * HOUR_MS;
              yield outagePoint(s, { start, end: start + roll.downtime_s * 1000, cause: 'uplink', continued: false });
            }
          }
          yield rollupPoint('sla_month', s, m, combineRollups(days, (nextVnMonth(m) - m) / 1000, s.sla_target));
        }
      }
    };
    const nCountry = await writeAll(country, batches(dayPoints(all, yearFrom, yearEnd, rnd, false)), ROLLUP_RP);
    console.log(`wrote ${nCountry.toLocaleString('en-US')} rollup points (sla_month + sla_outage, ${STATIONS} stations × 12 months) in ${((performance.now() - t) / 1000).toFixed(0)} s`);

    // Province: a month of sla_hour and sla_day for its stations, and raw health for RAW_HOURS.
    t = performance.now();
    const prov = all.slice(0, PROVINCE);
    const hourPoints = function* () {
      for (let h = monthFrom; h < yearEnd; h += HOUR_MS) for (const s of prov) yield rollupPoint('sla_hour', s, h, synthetic(3600, rnd));
    };
    const nHours = await writeAll(province, batches(hourPoints()), ROLLUP_RP);
    const nDays = await writeAll(province, batches(dayPoints(prov, monthFrom, yearEnd, rnd, true)), ROLLUP_RP);
    const rawFrom = yearEnd - RAW_HOURS * HOUR_MS;
    const healthPoints = function* () {
      for (let at = rawFrom + PERIOD_MS; at <= yearEnd; at += PERIOD_MS) {
        for (const s of prov) {
          const down = rnd() < 0.004;
          yield healthPoint({ station: s.id, state: down ? 'down' : 'ok', cause: down ? 'uplink' : 'none', since: at, outage_start: down, last_seen: at - 5000, loss: 0, rtt_ms: 12 }, s, at);
        }
      }
    };
    const nRaw = await writeAll(province, batches(healthPoints()));
    console.log(`wrote ${nHours.toLocaleString('en-US')} sla_hour, ${nDays.toLocaleString('en-US')} sla_day/sla_month/sla_outage and ${nRaw.toLocaleString('en-US')} raw health points (province) in ${((performance.now() - t) / 1000).toFixed(0)} s`);

    const memBefore = memoryMb(pid);
    const countryRegistry = new Map(all.map((s) => [s.id, s]));
    const provinceRegistry = new Map(prov.map((s) => [s.id, s]));
    const year = await timed(() => readStatement(new Influx({ url: influxd!.url, database: 'country', timeout: 600_000 }), { from: yearFrom, to: yearEnd, registry: countryRegistry }));
    const memYear = memoryMb(pid);
    const month = await timed(() => readStatement(new Influx({ url: influxd!.url, database: 'province', timeout: 600_000 }), { from: monthFrom, to: yearEnd, registry: provinceRegistry }));
    // The same availability from raw health points, as the dashboards' SLA panels compute it.
    const rawQuery = `SELECT mean("avail") AS "availability", count("outage_start") AS "outages" FROM "health" WHERE time > ${rawFrom}ms AND time <= ${yearEnd}ms GROUP BY "station"`;
    const raw = await timed(() => province.query(rawQuery));
    const memAfter = memoryMb(pid);

    const yearMs = median(year.ms);
    const monthMs = median(month.ms);
    const rawMs = median(raw.ms);
    const monthDays = (yearEnd - monthFrom) / DAY_MS;
    const yearDays = (yearEnd - yearFrom) / DAY_MS;
    const rawMonthMs = rawMs * ((monthDays * 24) / RAW_HOURS);
    const rawYearMs = rawMs * ((yearDays * 24) / RAW_HOURS) * (STATIONS / PROVINCE);
    console.log('');
    console.log(`year, ${STATIONS} stations (rollups): ${spread(year.ms)} ms  (${year.result.rows.length} rows)`);
    console.log(`province month, ${PROVINCE} stations (rollups, with the daily chart): ${spread(month.ms)} ms  (${month.result.rows.length} rows)`);
    console.log(`raw health, ${PROVINCE} stations × ${RAW_HOURS} h: ${spread(raw.ms)} ms (${raw.result.length} rows)`);
    console.log(`  extrapolated linearly: province month from raw ≈ ${(rawMonthMs / 1000).toFixed(1)} s (${(rawMonthMs / monthMs).toFixed(0)}× the rollups); country year from raw ≈ ${(rawYearMs / 3_600_000).toFixed(1)} h (${(rawYearMs / yearMs).toFixed(0)}× the rollups)`);
    console.log(`influxd memory: RSS ${memBefore.rss.toFixed(0)} MB before the queries, ${memYear.rss.toFixed(0)} MB after the year, ${memAfter.rss.toFixed(0)} MB at the end; peak (VmHWM, includes loading the data) ${memAfter.hwm.toFixed(0)} MB`);

    // Disk, once the caches are snapshotted and compacted.
    await new Promise((r) => setTimeout(r, 20_000));
    const data = join(dir, 'influxdb', 'data');
    const rawBytes = du(join(data, 'province', 'autogen'));
    const hourBytes = du(join(data, 'province', ROLLUP_RP));
    const countryBytes = du(join(data, 'country', ROLLUP_RP));
    const rawPerStationDay = rawBytes / PROVINCE / (RAW_HOURS / 24);
    // The province rollups hold a month of sla_hour + sla_day + sla_month; the country ones a year of sla_month + outages.
    const dayPerStationYear = countryBytes / STATIONS;
    const provinceRollupPerStationYear = (hourBytes / PROVINCE) * (365 / monthDays);
    console.log('');
    console.log(`disk: raw health ${(rawPerStationDay / 1024).toFixed(0)} kB per station-day (${((rawPerStationDay * 365) / 1e6).toFixed(1)} MB per station-year; kept ${90} days by default: ${((rawPerStationDay * 90) / 1e6).toFixed(1)} MB per station)`);
    console.log(`disk: rollups ${(provinceRollupPerStationYear / 1024).toFixed(0)} kB per station-year (sla_hour + sla_day + sla_month, from the province month), sla_month + sla_outage alone ${(dayPerStationYear / 1024).toFixed(1)} kB; kept 1830 days by default: ${((provinceRollupPerStationYear * 5) / 1e6).toFixed(2)} MB per station`);
  },
  async () => {
    await influxd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
);
