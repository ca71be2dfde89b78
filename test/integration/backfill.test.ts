/**
 * After an outage: the newest report goes first, the backlog follows in batches at a bounded rate, and an outbox at
 * its byte limit drops the oldest and says how many. Real mosquitto, influxd, collector and agent process.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { agentConfigSchema } from '../../agent/config.js';
import { openOutbox } from '../../agent/outbox-open.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import { decodePayload } from '../../protocol/codec.js';
import { eventually, startEnv, type TestEnv, startTcpTarget } from '../helpers/env.js';
import { peekOutbox } from '../helpers/outbox-peek.js';
import { runCli } from '../helpers/proc.js';

const DAY_STATION = 'bk-ngan-son-van-tung';
const FULL_STATION = 'bk-pac-nam-bang-thanh';

describe('backfill after an outage', () => {
  let env: TestEnv;
  let target: Awaited<ReturnType<typeof startTcpTarget>>;
  let targetPort: number;
  let collector: RunningCollector;

  beforeAll(async () => {
    env = await startEnv();
    target = await startTcpTarget();
    targetPort = target.port;
    env.writeRegistry([
      { id: DAY_STATION, name: 'Công an xã Vân Tùng', commune: 'Vân Tùng', district: 'Ngân Sơn', isp: 'Viettel' },
      { id: FULL_STATION, name: 'Công an xã Bằng Thành', commune: 'Bằng Thành', district: 'Pác Nặm', isp: 'VNPT' },
    ]);
    const file = env.writeConfig('collector.yaml', env.collectorConfig());
    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
  });
  afterAll(async () => {
    await collector?.stop();
    await target?.close();
    await env?.close();
  });

  /**
   * A station that measured `cycles` reports at 10 s while offline, on a simulated clock ending now: real cycles of
   * the real agent committed to its outbox. Returns its config (for the agent process that then reconnects) and what
   * the outbox kept.
   */
  async function measuredOffline(station: string, outbox: Record<string, unknown>, cycles: number) {
    const outboxDir = join(env.dir, 'outbox', station);
    const raw = env.agentConfig(station, {
      interval: '10s',
      outbox: { path: outboxDir, ...outbox },
      targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: targetPort, count: 1 }],
    });
    const cfg = agentConfigSchema.parse(raw);
    const box = openOutbox({ dir: outboxDir, maxBytes: cfg.outbox.max_bytes });
    const start = Date.now() - cycles * 10_000;
    let clock = start;
    const agent = new Agent(cfg, { log: silentLogger(), now: () => clock, outbox: box });
    for (let i = 0; i < cycles; i++) {
      clock = start + i * 10_000;
      await agent.cycle();
    }
    const kept = { depth: box.depth(), dropped: box.dropped() };
    box.close();
    return { raw, outboxDir, ...kept };
  }

  it('drains a 24-hour outage after reconnect, the live report first', async () => {
    // 24 hours at 10 s measured while offline: 8,640 real measurements committed to the outbox.
    const { raw, outboxDir } = await measuredOffline(DAY_STATION, { ack_timeout: '20s', backfill_rate: 2000, backfill_batch: 200 }, 8640);
    expect(peekOutbox(outboxDir).depth).toBe(8640);

    // Watch the wire: the first report message after reconnect must be the newest report alone.
    const watcher = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'watcher' });
    const messages: Array<{ seqs: number[]; at: number }> = [];
    watcher.on('message', (_t, payload) => {
      const v = decodePayload(payload, 50e6);
      const items = (Array.isArray(v) ? v : [v]) as Array<{ seq: number }>;
      messages.push({ seqs: items.map((x) => x.seq), at: Date.now() });
    });
    await watcher.subscribeAsync(`linkwatch/v1/${DAY_STATION}/report`, { qos: 1 });

    const file = env.writeConfig('agent-day.yaml', raw);
    const began = Date.now();
    const proc = runCli(['agent', '--config', file]);
    try {
      await eventually('8,640 backlog reports stored', async () => {
        const rows = await env.query<{ count: number }>(`SELECT count(seq) FROM report WHERE station = '${DAY_STATION}' AND seq < 8640`);
        return rows[0]?.count === 8640;
      }, 120_000);
      const seconds = (Date.now() - began) / 1000;
      const first = messages[0]!;
      console.log(`24 h backlog (8,640 reports) drained in ${seconds.toFixed(1)} s in ${messages.length} messages; first message: seqs ${first.seqs.join(',')}`);
      expect(first.seqs).toHaveLength(1);
      expect(first.seqs[0]).toBeGreaterThanOrEqual(8639);
      // The backlog follows in batches, oldest first.
      const batches = messages.slice(1).filter((m) => m.seqs.length > 1);
      expect(batches.length).toBeGreaterThan(10);
      expect(batches[0]!.seqs[0]).toBe(0);
      expect(Math.max(...batches.map((b) => b.seqs.length))).toBeLessThanOrEqual(200);
      const rows = await env.query<{ seq: number }>(`SELECT seq FROM report WHERE station = '${DAY_STATION}'`);
      expect(new Set(rows.map((r) => r.seq)).size).toBe(rows.length);
    } finally {
      await proc.stop();
      await watcher.endAsync();
    }
  });

  it('drops the oldest reports at the byte limit, counts them, and the gap shows in InfluxDB', async () => {
    const { raw, dropped, depth } = await measuredOffline(FULL_STATION, { max_bytes: '40KB', ack_timeout: '20s', backfill_rate: 2000, backfill_batch: 200 }, 300);
    console.log(`outbox at 40 KB: 300 reports made, ${depth} kept, ${dropped} dropped`);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped + depth).toBe(300);

    const file = env.writeConfig('agent-full.yaml', raw);
    const proc = runCli(['agent', '--config', file]);
    try {
      const rows = await eventually('survivors stored', async () => {
        const r = await env.query<{ seq: number; outbox_dropped: number }>(`SELECT seq, outbox_dropped FROM report WHERE station = '${FULL_STATION}' AND seq < 300`);
        return r.length === depth ? r : undefined;
      }, 60_000);
      // The survivors are the newest; the reports themselves say how many went.
      expect(Math.min(...rows.map((r) => r.seq))).toBe(dropped);
      // A report carries the outbox's count as of its measurement, before its own commit made room.
      const said = Math.max(...rows.map((r) => r.outbox_dropped));
      expect(said).toBeGreaterThanOrEqual(dropped - 1);
      expect(said).toBeLessThanOrEqual(dropped);
      // The gap query of docs/influxdb-schema.md shows the missing reports per station.
      const gap = await env.query<{ missing: number }>(
        `SELECT max(seq) - min(seq) + 1 - count(seq) AS missing FROM report WHERE station = '${FULL_STATION}' AND seq < 300 AND time > now() - 2h GROUP BY station`,
      );
      expect(gap[0]?.missing).toBe(0); // within what was kept there is no hole…
      const all = await env.query<{ first: number }>(`SELECT min(seq) AS first FROM report WHERE station = '${FULL_STATION}'`);
      expect(all[0]?.first).toBe(dropped); // …and the first `dropped` seqs never arrived
    } finally {
      await proc.stop();
    }
  });

  it('holds at most backfill_window reports unacknowledged, so a collector that does not answer stops the backfill', async () => {
    // A station the registry does not know is never acknowledged (its reports are refused as unknown_station, and
    // with no readable identity no ack goes back): exactly a collector that cannot keep up, seen from the agent.
    const station = 'bk-unregistered-window';
    const { raw } = await measuredOffline(station, { ack_timeout: '60s', backfill_rate: 1000, backfill_batch: 10, backfill_window: 40 }, 300);

    const watcher = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'window-watcher' });
    const seqs: number[] = [];
    watcher.on('message', (_t, payload) => {
      const v = decodePayload(payload, 50e6);
      for (const item of (Array.isArray(v) ? v : [v]) as Array<{ seq: number }>) seqs.push(item.seq);
    });
    await watcher.subscribeAsync(`linkwatch/v1/${station}/report`, { qos: 1 });
    const proc = runCli(['agent', '--config', env.writeConfig('agent-window.yaml', raw)]);
    try {
      await eventually('the window sent', () => seqs.length >= 41);
      // Three more seconds: at 1,000 a second the backfill would have sent the whole outbox by now, were it not held.
      await new Promise((r) => setTimeout(r, 3000));
      const backfill = seqs.slice(1).filter((s) => s < 299);
      expect(seqs[0]).toBeGreaterThanOrEqual(299); // the newest first
      expect(backfill).toEqual(Array.from({ length: 40 }, (_, i) => i)); // then the oldest 40, and nothing more
    } finally {
      await proc.stop();
      await watcher.endAsync();
    }
  });
});
