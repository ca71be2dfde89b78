/**
 * The evaluator as wired into `startCollector`, on the wall clock: it runs every period, honours maintenance windows,
 * judges stations added to the registry while running, and stops with the collector.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import { report, type Role } from '../../protocol/report.js';
import { topicFor } from '../../protocol/topics.js';
import { eventually, sleep, startEnv, type TestEnv, type TestStation } from '../helpers/env.js';

const INTERVAL_MS = 500;
const station = (id: string, name: string): TestStation => ({ id, name, commune: name, district: 'Ngân Sơn', isp: 'VNPT' });
const FIRST = [station('ns-a', 'Vân Tùng'), station('ns-b', 'Thượng Quan'), station('ns-c', 'Bằng Vân')];
const ADDED = station('ns-d', 'Đức Vân');

function buildReport(id: string, seq: number, gatewayDown: boolean) {
  return report.parse({
    v: 1, station: id, seq, ts: Date.now(), interval_s: INTERVAL_MS / 1000,
    probes: (['gateway', 'isp', 'core', 'service'] as Role[]).map((role) => (gatewayDown
      ? { target: role, role, kind: 'icmp', ok: false, sent: 2, received: 0, loss: 1 }
      : { target: role, role, kind: 'icmp', ok: true, sent: 2, received: 2, loss: 0, rtt_avg_ms: 7 })),
  });
}

describe('the evaluator inside the collector, on the wall clock', () => {
  let env: TestEnv;
  let collector: RunningCollector;
  let configFile: string;
  let pub: MqttClient;
  let publishing = true;
  let loop: Promise<void>;

  beforeAll(async () => {
    buildCliIfStale();
    env = await startEnv();
    env.writeRegistry(FIRST);
    const maintenance = join(env.dir, 'maintenance.yaml');
    const now = Date.now();
    writeFileSync(maintenance, `windows:\n  - station: ns-c\n    start: ${new Date(now - 3_600_000).toISOString()}\n    end: ${new Date(now + 3_600_000).toISOString()}\n    reason: thay router\n`);
    configFile = env.writeConfig('collector.yaml', env.collectorConfig({
      influx: { url: env.influx.url, database: env.database, flush_interval: '50ms' },
      evaluator: { enabled: true, period: `${INTERVAL_MS}ms`, settle: '150ms' },
      verdicts: { maintenance },
    }));
    collector = await startCollector(loadCollectorConfig(configFile), { configFile, log: silentLogger() });
    pub = await mqtt.connectAsync(env.mqtt.url, { protocolVersion: 5, clientId: 'ngan-son-sim' });
    loop = (async () => {
      for (let seq = 0; publishing; seq++) {
        for (const s of [...FIRST, ADDED]) {
          await pub.publishAsync(topicFor(s.id, 'report'), JSON.stringify(buildReport(s.id, seq, s.id !== 'ns-a' && s.id !== 'ns-d')), { qos: 1 });
        }
        await sleep(INTERVAL_MS);
      }
    })();
  });

  afterAll(async () => {
    publishing = false;
    await loop;
    await pub?.endAsync();
    await collector?.stop();
    await env?.close();
  });

  const latest = async () => {
    const rows = await env.query<{ station: string; state: string; cause: string; avail?: number | null }>(`SELECT * FROM "health" GROUP BY "station" ORDER BY time DESC LIMIT 1`);
    return new Map(rows.map((r) => [r.station, r]));
  };

  it('judges every period: down after three bad cycles, maintenance inside a window, without avail', async () => {
    const h = await eventually('ns-b down', async () => {
      const m = await latest();
      return m.get('ns-b')?.state === 'down' ? m : undefined;
    }, 15_000);
    expect(h.get('ns-a')).toMatchObject({ state: 'ok', avail: 1 });
    expect(h.get('ns-b')).toMatchObject({ state: 'down', cause: 'lan', avail: 0 });
    expect(h.get('ns-c')).toMatchObject({ state: 'maintenance', cause: 'maintenance' });
    expect(h.get('ns-c')!.avail ?? undefined).toBeUndefined();
    expect(h.has('ns-d')).toBe(false);
    expect(collector.evaluator!.stats.failures).toBe(0);
  });

  it('picks up a station added to the registry while running', async () => {
    env.writeRegistry([...FIRST, ADDED]);
    await eventually('ns-d judged ok', async () => (await latest()).get('ns-d')?.state === 'ok', 20_000);
  });

  it('linkwatch status exits 1 and lists the down station before the one in maintenance', () => {
    const r = spawnSync(process.execPath, ['bin/linkwatch.js', 'status', '--config', configFile], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('2 of 4 stations not ok');
    expect(lines[2]).toMatch(/^ns-b +Thượng Quan +Ngân Sơn +VNPT +down +lan /);
    expect(lines[3]).toMatch(/^ns-c +Bằng Vân +Ngân Sơn +VNPT +maintenance +maintenance /);
    expect(r.stderr).toBe('');
  });

  it('stops evaluating when the collector stops', async () => {
    await collector.stop();
    const count = async () => (await env.query<{ count: number }>(`SELECT count("code") FROM "health"`))[0]?.count ?? 0;
    const before = await count();
    await sleep(3 * INTERVAL_MS);
    expect(await count()).toBe(before);
  });
});

/** These tests run the built CLI; build it when a source it needs is newer than dist/. */
function buildCliIfStale() {
  const built = existsSync('dist/cli/status.js') ? statSync('dist/cli/status.js').mtimeMs : 0;
  const sources = ['cli/status.ts', 'cli/main.ts', 'collector/evaluator.ts', 'collector/main.ts', 'collector/verdict/format.ts'];
  if (sources.some((s) => statSync(s).mtimeMs > built)) spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
}
