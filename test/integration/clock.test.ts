/**
 * A station whose clock is wrong: the agent estimates its offset from the collector's acks, reports it, and the
 * evaluator judges the station degraded with cause `clock`. Real mosquitto, influxd, collector and agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig, startAgent } from '../../agent/main.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import { eventually, startEnv, startTcpTarget, type TestEnv } from '../helpers/env.js';

const STATION = 'bk-cho-don-ban-thi';
const SKEW_MS = 8_000;

describe('station clock', () => {
  let env: TestEnv;
  let target: Awaited<ReturnType<typeof startTcpTarget>>;
  let collector: RunningCollector;
  beforeAll(async () => {
    env = await startEnv();
    target = await startTcpTarget();
    env.writeRegistry([{ id: STATION, name: 'Công an xã Bản Thi', commune: 'Bản Thi', district: 'Chợ Đồn', isp: 'VNPT' }]);
    const file = env.writeConfig('collector.yaml', env.collectorConfig({ evaluator: { period: '1s', settle: '300ms' } }));
    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
  });
  afterAll(async () => {
    await collector?.stop();
    await target?.close();
    await env?.close();
  });

  it('measures a clock 8 s ahead within a second and judges the station by it', async () => {
    const file = env.writeConfig('agent.yaml', env.agentConfig(STATION, {
      interval: '1s',
      targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: target.port, count: 1 }],
    }));
    const agent = startAgent(loadAgentConfig(file), { configFile: file, log: silentLogger(), now: () => Date.now() + SKEW_MS });
    try {
      const offset = await eventually('a report carrying the clock offset', async () => {
        const rows = await env.query<{ clock_offset_ms: number | null }>(`SELECT last(clock_offset_ms) AS clock_offset_ms FROM report WHERE station = '${STATION}'`);
        return rows[0]?.clock_offset_ms ?? undefined;
      });
      console.log(`clock skew ${SKEW_MS} ms, measured ${offset} ms`);
      expect(Math.abs(offset - SKEW_MS)).toBeLessThan(1000);
      await eventually('verdict: clock', async () => {
        const rows = await env.query<{ cause: string }>(`SELECT last(cause) AS cause FROM health WHERE station = '${STATION}'`);
        return rows[0]?.cause === 'clock';
      }, 30_000);
    } finally {
      await agent.stop();
    }
  });
});
