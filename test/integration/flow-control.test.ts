/**
 * MQTT 5 flow control: a collector that comes back to a broker holding a flood for its session takes a message only
 * when its writer has room (collector/acks.ts, `pubackWhenRoom`), so the backlog waits in the broker, not in the
 * collector's memory, and nothing is refused.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import type { ReportInput } from '../../protocol/report.js';
import { eventually, startEnv, type TestEnv } from '../helpers/env.js';

const STATION = 'bk-cho-don-bang-lung';
const REPORTS = 2000;
const BATCH_POINTS = 100;

function report(seq: number, ts: number): ReportInput {
  return {
    v: 1, station: STATION, seq, ts, interval_s: 10,
    probes: [{ target: 'hub', role: 'core', kind: 'tcp', ok: true, sent: 1, received: 1, loss: 0, rtt_avg_ms: 3 }],
  };
}

describe('a flood queued in the broker', () => {
  let env: TestEnv;
  let collector: RunningCollector | undefined;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(async () => {
    await collector?.stop();
    await env?.close();
  });

  it('waits in the broker while the writer is full, and is stored whole without refusals', async () => {
    env.writeRegistry([{ id: STATION, name: 'Công an thị trấn Bằng Lũng', commune: 'Bằng Lũng', district: 'Chợ Đồn', isp: 'Viettel' }]);
    const file = env.writeConfig('collector.yaml', env.collectorConfig({
      broker: { url: env.mqtt.url, client_id: 'flow-collector', shared: false, session_expiry: '1h' },
      // Room for the whole flood, so only flow control can keep the writer small.
      influx: { url: env.influx.url, database: env.database, batch_points: BATCH_POINTS, max_pending_points: 1_000_000, flush_interval: '100ms' },
    }));
    // The collector's session and subscription exist; then it is away while the flood arrives.
    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
    await eventually('subscribed', () => collector!.client.connected);
    await collector.stop();
    collector = undefined;

    const agent = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: STATION });
    const now = Date.now();
    for (let i = 0; i < REPORTS; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, k) => agent.publishAsync(`linkwatch/v1/${STATION}/report`, JSON.stringify(report(i + k, now - 3_600_000 + (i + k) * 1000)), { qos: 1 })));
    }
    await agent.endAsync();

    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
    const writer = collector.writer;
    let maxPending = 0;
    // Listeners run in order: this one right after the collector's own handled the message.
    collector.client.on('message', () => (maxPending = Math.max(maxPending, writer.pendingPoints())));
    await eventually('the flood stored', () => writer.stats.reports >= REPORTS, 120_000);

    // Each report is 2 points; the writer takes more only below 4 batches, so it never holds more than that + one.
    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(4 * BATCH_POINTS + 2);
    expect(writer.stats.refusedFull).toBe(0);
    const [row] = await env.query<{ count: number }>(`SELECT count(seq) FROM report WHERE station = '${STATION}'`);
    expect(row?.count).toBe(REPORTS);
  }, 180_000);
});
