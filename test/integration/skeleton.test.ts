import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { loadAgentConfig, startAgent } from '../../agent/main.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import { eventually, startEnv, type TestEnv, startTcpTarget } from '../helpers/env.js';
import { runCli } from '../helpers/proc.js';

describe('walking skeleton: station → MQTT → collector → InfluxDB', () => {
  let env: TestEnv;
  let target: Awaited<ReturnType<typeof startTcpTarget>>;
  let targetPort: number;
  let collector: RunningCollector;

  beforeAll(async () => {
    env = await startEnv();
    target = await startTcpTarget();
    targetPort = target.port;
    env.writeRegistry([
      { id: 'bk-cho-moi-yen-dinh', name: 'Công an xã Yên Định', commune: 'Yên Định', district: 'Chợ Mới', isp: 'VNPT' },
      { id: 'bk-ba-be-nam-mau', name: 'Công an xã Nam Mẫu', commune: 'Nam Mẫu', district: 'Ba Bể', isp: 'Viettel' },
    ]);
    const file = env.writeConfig('collector.yaml', env.collectorConfig({ stats_interval: '300ms' }));
    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
  });

  afterAll(async () => {
    await collector?.stop();
    await target?.close();
    await env?.close();
  });

  it('stores an agent\'s reports in InfluxDB, tagged from the registry, and acknowledges them', async () => {
    const file = env.writeConfig('agent.yaml', env.agentConfig('bk-cho-moi-yen-dinh', {
      targets: [{ name: 'local', role: 'core', kind: 'tcp', host: '127.0.0.1', port: targetPort, count: 2 }],
    }));
    const agent = startAgent(loadAgentConfig(file), { configFile: file, log: silentLogger() });
    try {
      const rows = await eventually('three probe points', async () => {
        const r = await env.query<{ station: string; district: string; isp: string; province: string; ok: boolean; rtt_avg_ms: number; role: string }>(
          `SELECT * FROM probe WHERE station = 'bk-cho-moi-yen-dinh'`,
        );
        return r.length >= 3 ? r : undefined;
      });
      for (const row of rows) {
        expect(row).toMatchObject({ district: 'Chợ Mới', province: 'Bắc Kạn', isp: 'VNPT', role: 'core', ok: true });
        expect(row.rtt_avg_ms).toBeGreaterThan(0);
        expect(row.rtt_avg_ms).toBeLessThan(1000); // loopback, on a busy 2-core machine
      }
      const reports = await env.query<{ seq: number }>(`SELECT seq FROM report WHERE station = 'bk-cho-moi-yen-dinh'`);
      expect(reports.map((r) => r.seq).slice(0, 3)).toEqual([0, 1, 2]);
      // Stored reports are acknowledged and leave the outbox.
      await eventually('outbox drained by acks', () => agent.outbox.depth() <= 1);
    } finally {
      await agent.stop();
    }
  });

  it('keeps the sequence number across an agent restart', async () => {
    const file = env.writeConfig('agent2.yaml', env.agentConfig('bk-ba-be-nam-mau', {
      targets: [{ name: 'local', role: 'isp', kind: 'tcp', host: '127.0.0.1', port: targetPort, count: 1 }],
    }));
    const first = startAgent(loadAgentConfig(file), { configFile: file, log: silentLogger() });
    await eventually('two reports stored', () => hasSeq(env, 'bk-ba-be-nam-mau', 1));
    await first.stop();
    const second = startAgent(loadAgentConfig(file), { configFile: file, log: silentLogger() });
    try {
      const seqs = await eventually('reports after restart', async () => {
        const r = await env.query<{ seq: number }>(`SELECT seq FROM report WHERE station = 'bk-ba-be-nam-mau'`);
        const s = r.map((x) => x.seq);
        return s.length >= 4 ? s : undefined;
      });
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    } finally {
      await second.stop();
    }
  });

  it('announces itself online (retained) and leaves an offline last will when killed', async () => {
    const file = env.writeConfig('agent-will.yaml', env.agentConfig('bk-ba-be-nam-mau', {
      targets: [{ name: 'local', role: 'isp', kind: 'tcp', host: '127.0.0.1', port: targetPort, count: 1 }],
    }));
    const proc = runCli(['agent', '--config', file]);
    const states: string[] = [];
    const watch = async () => {
      const c = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: `watch-${states.length}` });
      c.on('message', (_t, p) => states.push(JSON.parse(p.toString()).state));
      await c.subscribeAsync('linkwatch/v1/bk-ba-be-nam-mau/status', { qos: 1 });
      return c;
    };
    const watcher = await watch();
    try {
      await eventually('online', () => states.includes('online'));
      await proc.kill9();
      await eventually('offline last will', () => states.at(-1) === 'offline', 60_000);
      // Retained: a newcomer learns the state at once.
      states.length = 0;
      const late = await watch();
      await eventually('retained offline', () => states[0] === 'offline');
      await late.endAsync();
      // The collector records both, stamped on arrival.
      await eventually('status points', async () => {
        const rows = await env.query<{ state: string }>(`SELECT state FROM status WHERE station = 'bk-ba-be-nam-mau'`);
        return rows.some((r) => r.state === 'online') && rows.some((r) => r.state === 'offline');
      });
    } finally {
      await proc.kill9();
      await watcher.endAsync();
    }
  });

  it('rejects a bad payload with its reason and goes on storing good ones', async () => {
    const before = collector.deadLetters.counts.get('bad_json') ?? 0;
    const c = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'bad-publisher' });
    await c.publishAsync('linkwatch/v1/bk-cho-moi-yen-dinh/report', '{"v":1, not json', { qos: 1 });
    await c.publishAsync('linkwatch/v1/bk-cho-moi-yen-dinh/report', JSON.stringify({ v: 1, station: 'bk-cho-moi-yen-dinh', seq: 'x' }), { qos: 1 });
    const good = { v: 1, station: 'bk-cho-moi-yen-dinh', seq: 999_999, ts: Date.now(), interval_s: 10, probes: [] };
    await c.publishAsync('linkwatch/v1/bk-cho-moi-yen-dinh/report', JSON.stringify(good), { qos: 1 });
    await c.endAsync();
    await eventually('bad json counted', () => (collector.deadLetters.counts.get('bad_json') ?? 0) > before);
    expect(collector.deadLetters.counts.get('schema')).toBeGreaterThanOrEqual(1);
    await eventually('good report stored after the bad ones', () => hasSeq(env, 'bk-cho-moi-yen-dinh', 999_999));
    // The counts are data too: the collector's own measurement carries them by reason.
    await eventually('collector counters in InfluxDB', async () => {
      const rows = await env.query<{ bad_json: number; schema: number }>('SELECT last(rejected_bad_json) AS bad_json, last(rejected_schema) AS schema FROM collector');
      return rows[0] && rows[0].bad_json >= 1 && rows[0].schema >= 1;
    });
  });
});

async function hasSeq(env: TestEnv, station: string, seq: number): Promise<boolean> {
  const r = await env.query(`SELECT seq FROM report WHERE station = '${station}' AND seq = ${seq}`);
  return r.length > 0;
}
