/**
 * Stations whose clocks are wrong: each agent estimates its offset from the collector's acks and reports it; its
 * reports are filed at the right time anyway; and the evaluator judges it degraded with cause `clock`, not silent.
 * Real mosquitto, influxd, collector and agents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig, startAgent } from '../../agent/main.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import { eventually, startEnv, startTcpTarget, type TestEnv } from '../helpers/env.js';

describe('station clocks', () => {
  let env: TestEnv;
  let target: Awaited<ReturnType<typeof startTcpTarget>>;
  let collector: RunningCollector;
  beforeAll(async () => {
    env = await startEnv();
    target = await startTcpTarget();
    env.writeRegistry([
      { id: 'bk-cho-don-ban-thi', name: 'Công an xã Bản Thi', commune: 'Bản Thi', district: 'Chợ Đồn', isp: 'VNPT' },
      { id: 'bk-cho-don-ngoc-phai', name: 'Công an xã Ngọc Phái', commune: 'Ngọc Phái', district: 'Chợ Đồn', isp: 'VNPT' },
    ]);
    const file = env.writeConfig('collector.yaml', env.collectorConfig({ evaluator: { period: '1s', settle: '300ms' } }));
    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
  });
  afterAll(async () => {
    await collector?.stop();
    await target?.close();
    await env?.close();
  });

  it.each([
    ['8 s ahead', 'bk-cho-don-ban-thi', 8_000],
    ['10 minutes behind', 'bk-cho-don-ngoc-phai', -600_000],
  ])('measures a clock %s within a second, files its reports at the right time, and judges it', async (_what, station, skew) => {
    const file = env.writeConfig(`${station}.yaml`, env.agentConfig(station, {
      interval: '1s',
      targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: target.port, count: 1 }],
    }));
    const agent = startAgent(loadAgentConfig(file), { configFile: file, log: silentLogger(), now: () => Date.now() + skew });
    try {
      const last = await eventually('a report carrying the clock offset', async () => {
        const rows = await env.query<{ time: Date; clock_offset_ms: number | null }>(`SELECT last(clock_offset_ms) AS clock_offset_ms FROM report WHERE station = '${station}'`);
        return rows[0]?.clock_offset_ms != null ? rows[0] : undefined;
      });
      console.log(`clock skew ${skew} ms, measured ${last.clock_offset_ms} ms`);
      expect(Math.abs(last.clock_offset_ms! - skew)).toBeLessThan(1000);
      // Once the offset is known, reports are filed on the collector's clock, not the station's.
      await eventually('a report filed near the true time', async () => {
        const rows = await env.query<{ time: Date }>(`SELECT last(seq) FROM report WHERE station = '${station}'`);
        return rows[0] && Math.abs(rows[0].time.getTime() - Date.now()) < 3000;
      });
      await eventually('verdict: clock', async () => {
        const rows = await env.query<{ cause: string; state: string }>(`SELECT last(cause) AS cause, last(state) AS state FROM health WHERE station = '${station}'`);
        return rows[0]?.cause === 'clock' && rows[0]?.state === 'degraded';
      }, 30_000);
    } finally {
      await agent.stop();
    }
  });
});
