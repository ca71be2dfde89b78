/**
 * A point InfluxDB refuses for good (a field type conflict, a timestamp outside retention) is not retried forever:
 * it is kept with InfluxDB's reason in the dead letters, counted, and acknowledged to the agent as rejected, while
 * the good reports of the same batch are stored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import type { ReportInput } from '../../protocol/report.js';
import { eventually, startEnv, type TestEnv } from '../helpers/env.js';

const STATION = 'bk-bach-thong-phu-thong';

function report(seq: number, ts: number): ReportInput {
  return {
    v: 1, station: STATION, seq, ts, interval_s: 10,
    probes: [{ target: 'hub', role: 'core', kind: 'tcp', ok: true, sent: 1, received: 1, loss: 0, rtt_min_ms: 3, rtt_avg_ms: 3, rtt_max_ms: 3, rtt_p95_ms: 3 }],
  };
}

describe('reports InfluxDB refuses', () => {
  let env: TestEnv;
  let collector: RunningCollector;
  beforeAll(async () => {
    env = await startEnv();
    env.writeRegistry([{ id: STATION, name: 'Công an xã Phủ Thông', commune: 'Phủ Thông', district: 'Bạch Thông', isp: 'VNPT' }]);
    const file = env.writeConfig('collector.yaml', env.collectorConfig({ influx: { url: env.influx.url, database: env.database, flush_interval: '300ms' } }));
    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
  });
  afterAll(async () => {
    await collector?.stop();
    await env?.close();
  });

  it('keeps a report with a field type conflict in the dead letters, acks it as rejected, and stores the rest', async () => {
    await eventually('database created', async () => (await env.client.getDatabaseNames()).includes(env.database));
    // Someone wrote `rtt_avg_ms` as a string into the current shard: every later float there conflicts.
    const now = Date.now();
    await env.client.writePoints([{ measurement: 'probe', tags: { station: 'other' }, fields: { rtt_avg_ms: 'fast' }, timestamp: now - 60_000 }], { precision: 'ms' });

    const agent = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: STATION });
    const acks: Array<{ stored?: number[][]; rejected?: number[][] }> = [];
    agent.on('message', (_t, p) => acks.push(JSON.parse(p.toString())));
    await agent.subscribeAsync(`linkwatch/v1/${STATION}/ack`, { qos: 1 });
    // One batch: a report without RTT (it stores), one with (it conflicts).
    const ok = report(1, now - 2000);
    delete (ok.probes[0] as Record<string, unknown>).rtt_avg_ms;
    await agent.publishAsync(`linkwatch/v1/${STATION}/report`, JSON.stringify([ok, report(2, now - 1000)]), { qos: 1 });

    await eventually('both reports answered', () => {
      const stored = acks.flatMap((a) => (a.stored ?? []).flat());
      const rejected = acks.flatMap((a) => (a.rejected ?? []).flat());
      return stored.includes(1) && rejected.includes(2);
    });
    await agent.endAsync();
    expect(collector.deadLetters.counts.get('influx_refused')).toBe(1);
    const letters = readFileSync(join(env.dir, 'dead-letter', 'rejected.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const refused = letters.find((l) => l.reason === 'influx_refused');
    expect(refused).toMatchObject({ station: STATION, seq: 2 });
    expect(refused.detail).toMatch(/field type conflict/);
    // InfluxDB 1.x writes what it can of a batch (a partial write): report 2's own `report` point went in, its
    // conflicting probe point did not — which is why the whole report is kept in the dead letters.
    const probes = await env.query<{ time: Date }>(`SELECT * FROM probe WHERE station = '${STATION}'`);
    expect(probes.map((r) => r.time.getTime())).toEqual([ok.ts]);
    const rows = await env.query<{ seq: number }>(`SELECT seq FROM report WHERE station = '${STATION}'`);
    expect(rows.map((r) => r.seq)).toEqual([1, 2]);
    expect(collector.writer.stats.retries).toBe(0);
  });

  it('quarantines a report stamped outside [now − retention, now + 5 min] and acks it as rejected', async () => {
    const agent = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: `${STATION}-2` });
    const acks: Array<{ rejected?: number[][] }> = [];
    agent.on('message', (_t, p) => acks.push(JSON.parse(p.toString())));
    await agent.subscribeAsync(`linkwatch/v1/${STATION}/ack`, { qos: 1 });
    const future = report(10, Date.now() + 3_600_000);
    const ancient = report(11, Date.now() - 500 * 86_400_000);
    await agent.publishAsync(`linkwatch/v1/${STATION}/report`, JSON.stringify([future, ancient]), { qos: 1 });
    await eventually('rejections acked', () => acks.some((a) => (a.rejected ?? []).some(([a1, b1]) => a1! <= 10 && b1! >= 11)));
    await agent.endAsync();
    expect(collector.deadLetters.counts.get('future_ts')).toBe(1);
    expect(collector.deadLetters.counts.get('stale_ts')).toBe(1);
  });
});
