import { deflateSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import { DICTIONARY_V1, encodePayload } from '../../protocol/codec.js';
import { eventually, startEnv, type TestEnv } from '../helpers/env.js';

/**
 * 100,000+ malformed, oversized, boundary and injection payloads mixed with valid reports, most straight into
 * Ingest.handle (batches are arrays, so many per message), a slice through the real broker. The collector must not
 * crash, must store every valid report (checked by station + seq in InfluxDB), and must count every bad one by reason.
 */

// A tiny deterministic PRNG (mulberry32), so a failure can be replayed.
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATIONS = ['st-a', 'st-b', 'st-c'];
const MAX_PAYLOAD = 64 * 1024;

type Reason = 'schema' | 'station_mismatch' | 'stale_ts' | 'future_ts' | 'bad_json' | 'bad_encoding' | 'too_large' | 'unknown_station' | 'bad_topic';

describe('fuzz: the collector under hostile input', () => {
  let env: TestEnv;
  let collector: RunningCollector;
  const now = Date.now();

  beforeAll(async () => {
    env = await startEnv();
    env.writeRegistry([
      // Tag values with spaces, commas, `=`, quotes and Vietnamese diacritics: the influx client must escape them.
      { id: 'st-a', name: 'Công an xã Yên Định', commune: 'Yên Định', district: 'Chợ Mới, "huyện" a=b c', isp: 'VNPT =, Bắc Kạn' },
      { id: 'st-b', name: 'Công an xã Nam Mẫu', commune: 'Nam Mẫu', district: 'Ba Bể', isp: 'Viettel' },
      { id: 'st-c', name: 'Công an phường Đức Xuân', commune: 'Đức Xuân', district: 'Thành phố Bắc Kạn', isp: 'FPT' },
    ]);
    const file = env.writeConfig('collector.yaml', env.collectorConfig({
      max_payload_bytes: MAX_PAYLOAD,
      influx: { url: env.influx.url, database: env.database, flush_interval: '100ms', max_pending_points: 2_000_000, batch_points: 10_000 },
    }));
    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger(), now: () => now });
  });

  afterAll(async () => {
    await collector?.stop();
    await env?.close();
  });

  it('stores every valid report and counts every bad payload by reason, without crashing', async () => {
    const rand = rng(20_240_607);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const nextSeq = new Map(STATIONS.map((s) => [s, 0]));
    const valid = new Map<string, Set<number>>(STATIONS.map((s) => [s, new Set()]));
    const expected = new Map<Reason, number>();
    const expect1 = (r: Reason, n = 1) => expected.set(r, (expected.get(r) ?? 0) + n);
    let payloads = 0;

    const good = (station: string) => {
      const seq = nextSeq.get(station)!;
      nextSeq.set(station, seq + 1);
      // Distinct timestamps: same series + same time is one point in InfluxDB.
      return {
        v: 1, station, seq, ts: now - 3_600_000 + seq, interval_s: 10,
        probes: [{ target: 'gw', role: 'gateway', kind: 'icmp', ok: true, sent: 3, received: 3, loss: 0, rtt_avg_ms: 1 + (seq % 50) }],
      };
    };
    // Each mutation turns a valid report into a bad one and names the reason the collector must give.
    const badReports: Array<[Reason, (r: Record<string, any>, station: string) => unknown]> = [
      ['schema', (r) => ({ ...r, v: 2 })],
      ['schema', (r) => ({ ...r, seq: -1 })],
      ['schema', (r) => ({ ...r, seq: 1.5 })],
      ['schema', (r) => ({ ...r, seq: '7' })],
      ['schema', (r) => ({ ...r, seq: 2 ** 60 })],
      ['schema', (r) => ({ ...r, ts: 'yesterday' })],
      ['schema', (r) => ({ ...r, ts: -5 })],
      ['schema', (r) => ({ ...r, interval_s: 0 })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], loss: 1.5 }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], loss: -0.1 }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], rtt_avg_ms: -1 }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], rtt_avg_ms: 1e308 * 10 }] })], // Infinity → null in JSON
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], rtt_avg_ms: 'NaN' }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], target: 'gw\nprobe,station=st-b ok=true 1' }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], target: 'gw,station=st-b' }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], target: 'gw ok=false' }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], target: 'x\\' }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], target: '' }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], role: 'admin' }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], kind: 'icmp"' }] })],
      ['schema', (r) => ({ ...r, probes: [{ ...r.probes[0], detail: 'x'.repeat(301) }] })],
      ['schema', (r) => ({ ...r, probes: Array.from({ length: 65 }, () => r.probes[0]) })],
      ['schema', (r) => ({ ...r, sessions: [{ name: 's\u0000', up: true, drops: 0, down_ms: 0 }] })],
      ['schema', (r) => ({ ...r, sessions: [{ name: 's', up: 'yes', drops: 0, down_ms: 0 }] })],
      ['schema', (r) => ({ ...r, backlog: [{ source: 'q', pending: -3 }] })],
      ['schema', (r) => ({ ...r, host: { cpu_pct: 101 } })],
      ['schema', (r) => ({ ...r, host: { iface: 'e'.repeat(65) } })],
      ['schema', (r) => ({ ...r, outbox: { depth: -1, dropped: 0 } })],
      ['schema', (r) => ({ ...r, clock: { offset_ms: 1e13 } })],
      ['schema', (r) => ({ ...r, station: 'ST-B' })],
      ['schema', (r) => ({ ...r, station: 'st-b/../st-c' })],
      ['schema', () => null],
      ['schema', () => 42],
      ['schema', () => 'report'],
      ['schema', () => []],
      ['schema', (r) => JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(r).slice(1, -1).replace('"v":1', '"v":"1"')}}`)],
      ['schema', (r) => { const { probes: _p, ...rest } = r; return rest; }],
      ['station_mismatch', (r, s) => ({ ...r, station: STATIONS.find((x) => x !== s) })],
      ['station_mismatch', (r) => ({ ...r, station: 'st-zz' })],
      ['stale_ts', (r) => ({ ...r, ts: 0 })],
      ['stale_ts', (r) => ({ ...r, ts: 946_684_800_000 })], // RTC reset to 2000-01-01
      ['future_ts', (r) => ({ ...r, ts: now + 6 * 60_000 })],
      ['future_ts', (r) => ({ ...r, ts: 8_640_000_000_000 })],
    ];
    // Whole messages that are refused before any report is looked at.
    const bigJson = Buffer.from(JSON.stringify([{ pad: 'x'.repeat(MAX_PAYLOAD) }]));
    const bomb = deflateSync(Buffer.alloc(50 * 1024 * 1024, 0x20), { dictionary: DICTIONARY_V1, level: 9 });
    const badMessages: Array<[Reason, () => { station?: string; topic?: string; payload: Buffer }]> = [
      ['bad_json', () => ({ payload: Buffer.from('{"v":1,') })],
      ['bad_json', () => ({ payload: Buffer.from('NaN') })],
      ['bad_json', () => ({ payload: Buffer.from('{"v":1,"rtt":NaN}') })],
      ['bad_json', () => ({ payload: Buffer.from('') })],
      ['bad_json', () => ({ payload: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) })],
      ['bad_json', () => ({ payload: Buffer.from('[' + '['.repeat(5000)) })],
      ['bad_json', () => ({ payload: Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256)).map((b) => (b === 0x78 ? 0x79 : b))) })],
      ['bad_encoding', () => ({ payload: Buffer.concat([Buffer.from([0x78, 0x9c]), Buffer.from('garbage after a zlib header')]) })],
      ['bad_encoding', () => ({ payload: deflateSync(Buffer.from('{"v":1}'), { dictionary: Buffer.from('another dictionary') }) })],
      ['bad_encoding', () => ({ payload: encodePayload([{ v: 1, pad: 'y'.repeat(500) }], 'deflate').subarray(0, 30) })], // truncated
      ['too_large', () => ({ payload: bigJson })],
      ['too_large', () => ({ payload: bomb })],
      ['unknown_station', () => ({ station: 'st-unknown', payload: encodePayload(good('st-a')) })],
      ['unknown_station', () => ({ topic: 'linkwatch/v1/ST-A/report', payload: Buffer.from('{}') })],
      ['bad_topic', () => ({ topic: 'linkwatch/v1/st-a/report/extra', payload: Buffer.from('{}') })],
      ['bad_topic', () => ({ topic: 'linkwatch/v2/st-a/report', payload: Buffer.from('{}') })],
      ['bad_topic', () => ({ topic: 'linkwatch/v1/st-a/ack2', payload: Buffer.from('{}') })],
    ];
    // Every report not valid must be counted; the "good" ones given to unknown_station were never valid.

    const messages: Array<{ topic: string; payload: Buffer }> = [];
    while (payloads < 105_000) {
      const station = pick(STATIONS);
      const topic = `linkwatch/v1/${station}/report`;
      if (rand() < 0.15) {
        const [reason, make] = pick(badMessages);
        const m = make();
        if (reason === 'unknown_station' && m.station) {
          // That report's seq was taken from st-a but never valid: give it back to the valid set's bookkeeping.
          nextSeq.set('st-a', nextSeq.get('st-a')! - 1);
        }
        messages.push({ topic: m.topic ?? (m.station ? `linkwatch/v1/${m.station}/report` : topic), payload: m.payload });
        expect1(reason);
        payloads++;
        continue;
      }
      // A batch, as a backfilling agent sends: valid and invalid reports side by side, sometimes compressed.
      const size = 1 + Math.floor(rand() * 40);
      const batch: unknown[] = [];
      for (let i = 0; i < size; i++) {
        const r = good(station);
        if (rand() < 0.3) {
          valid.get(station)!.add(r.seq);
          batch.push(r);
        } else {
          const [reason, mutate] = pick(badReports);
          batch.push(mutate(r, station));
          expect1(reason);
        }
      }
      payloads += size;
      messages.push({ topic, payload: encodePayload(batch.length === 1 && !Array.isArray(batch[0]) && rand() < 0.5 ? batch[0] : batch, rand() < 0.5 ? 'deflate' : 'json') });
    }

    const before = new Map(collector.deadLetters.counts);
    // The real-broker slice: a few thousand messages through mosquitto, in order, QoS 1; the rest in-process.
    // Topics the collector does not subscribe to never reach it through a broker, so those stay in-process.
    const slice = messages.slice(0, 3000).filter((m) => /^linkwatch\/v1\/[^/]+\/report$/.test(m.topic));
    const rest = messages.filter((m) => !slice.includes(m));
    const bus = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'fuzzer' });
    const started = Date.now();
    await Promise.all(slice.map((m) => bus.publishAsync(m.topic, m.payload, { qos: 1 })));
    await bus.endAsync();
    for (const m of rest) collector.ingest.handle(m.topic, m.payload);

    const validCount = [...valid.values()].reduce((n, s) => n + s.size, 0);
    const badCount = [...expected.values()].reduce((n, v) => n + v, 0);
    expect(validCount + badCount).toBeGreaterThanOrEqual(100_000);

    const counted = (r: string) => (collector.deadLetters.counts.get(r) ?? 0) - (before.get(r) ?? 0);
    await eventually('every bad payload counted', () => [...expected].every(([r, n]) => counted(r) === n), 30_000).catch(() => undefined);
    const got = Object.fromEntries([...expected.keys()].map((r) => [r, counted(r)]));
    expect(got).toEqual(Object.fromEntries(expected));

    for (const station of STATIONS) {
      const want = valid.get(station)!;
      const seqs = await eventually(`all ${want.size} valid reports of ${station} stored`, async () => {
        const rows = await env.query<{ seq: number }>(`SELECT seq FROM report WHERE station = '${station}'`);
        return rows.length >= want.size ? rows.map((r) => r.seq) : undefined;
      }, 40_000);
      expect(new Set(seqs)).toEqual(want);
    }
    expect(collector.deadLetters.counts.get('influx_refused') ?? 0).toBe(0);
    // Kept for inspection, reason and all.
    const letters = readFileSync(collector.deadLetters.path, 'utf8').split('\n').filter(Boolean).slice(-3).map((l) => JSON.parse(l) as { reason: string });
    for (const l of letters) expect([...expected.keys()]).toContain(l.reason);
    // eslint-disable-next-line no-console
    console.log(`fuzz: ${validCount + badCount} payloads (${validCount} valid, ${badCount} bad) in ${Date.now() - started} ms; by reason`, got);
  }, 120_000);

  it('tags a registry name with spaces, commas, = and diacritics exactly as written', async () => {
    const rows = await env.query<{ district: string; isp: string; province: string }>(`SELECT rtt_avg_ms, district, isp, province FROM probe WHERE station = 'st-a' LIMIT 1`);
    expect(rows[0]).toMatchObject({ district: 'Chợ Mới, "huyện" a=b c', isp: 'VNPT =, Bắc Kạn', province: 'Bắc Kạn' });
    // No tag key was injected: the series keys are exactly the registry's and the schema's.
    const keys = await env.query<{ tagKey: string }>('SHOW TAG KEYS FROM probe');
    expect(keys.map((k) => k.tagKey).sort()).toEqual(['district', 'isp', 'kind', 'province', 'role', 'station', 'target']);
    const measurements = await env.query<{ name: string }>('SHOW MEASUREMENTS');
    expect(measurements.map((m) => m.name).sort()).toEqual(expect.arrayContaining(['probe', 'report']));
    expect(measurements.map((m) => m.name).every((n) => ['probe', 'report', 'host', 'session', 'backlog', 'status', 'event', 'health', 'incident', 'collector'].includes(n))).toBe(true);
  });
});
