/**
 * The single-file Linux executable (dist/exe/linkwatch-agent-linux-x64, `npm run build:exe`) run natively: no Node
 * of this machine involved, its outbox on node:sqlite. The same live path as the npm agent (mosquitto → collector →
 * InfluxDB: stored, tagged, versioned, acknowledged), and its outbox keeps every committed report through SIGKILLs
 * while offline, by station + seq.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_VERSION } from '../../agent/version.js';
import { eventually, sleep, startEnv, startTcpTarget, type TestEnv } from '../helpers/env.js';
import { peekOutbox } from '../helpers/outbox-peek.js';
import { runCli, type Proc } from '../helpers/proc.js';
import { ensureExecutables } from '../helpers/wine.js';

const STATIONS = [
  { id: 'bk-lx-live', name: 'Công an xã Thanh Mai', commune: 'Thanh Mai', district: 'Chợ Mới', isp: 'VNPT' },
  { id: 'bk-lx-kill', name: 'Công an xã Cư Lễ', commune: 'Cư Lễ', district: 'Na Rì', isp: 'Viettel' },
];

describe('the Linux executable', () => {
  let exe: string;
  let env: TestEnv;
  let collector: Proc;
  let tcp: Awaited<ReturnType<typeof startTcpTarget>>;
  const running: ChildProcess[] = [];

  const config = (station: string) =>
    env.writeConfig(`${station}.yaml`, env.agentConfig(station, {
      interval: '1s',
      outbox: { path: join(env.dir, 'outbox', station), ack_timeout: '2s', backfill_rate: 500 },
      targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: tcp.port, count: 1 }],
    }));
  const start = (station: string) => {
    // PATH without any node: the executable carries its own.
    const child = spawn(exe, ['--config', config(station)], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin', TMPDIR: process.env.TMPDIR ?? '/tmp' } });
    running.push(child);
    return child;
  };
  const kill9 = async (child: ChildProcess) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  };
  const stored = (station: string) =>
    env.query<{ seq: number; agent_version: string; district: string }>(`SELECT seq, agent_version, district FROM report WHERE station = '${station}'`);

  beforeAll(async () => {
    exe = (await ensureExecutables())['linux-x64'];
    env = await startEnv();
    env.writeRegistry(STATIONS);
    collector = runCli(['collector', '--config', env.writeConfig('collector.yaml', env.collectorConfig({ influx: { url: env.influx.url, database: env.database, flush_interval: '200ms' } }))]);
    tcp = await startTcpTarget();
  }, 600_000);

  afterAll(async () => {
    await Promise.all(running.map(kill9));
    await collector?.kill9();
    await tcp?.close();
    await env?.close();
  });

  it('publishes live: stored with the registry\'s tags and its version, and acknowledged', async () => {
    const station = 'bk-lx-live';
    const agent = start(station);
    const rows = await eventually('10 reports stored', async () => {
      const r = await stored(station);
      return r.length >= 10 && r;
    }, 60_000);
    expect(rows[0]).toMatchObject({ agent_version: AGENT_VERSION, district: 'Chợ Mới' });
    await eventually('acknowledged: the outbox holds only the newest reports', () => peekOutbox(join(env.dir, 'outbox', station)).depth <= 2, 20_000);
    await kill9(agent);
  }, 120_000);

  it('refuses a bad config in English naming the key, and carries none of zod\'s other locales', async () => {
    const file = env.writeConfig('bad.yaml', env.agentConfig('bk-lx-live', { targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: 99_999 }] }));
    const child = spawn(exe, ['--config', file], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/config error: .*bad\.yaml: targets\[0\]\.port: Too big: expected number to be <=65535/);
    // "Zeichen" is in zod's German messages only (zod/v4/locales/de.js); deploy/exe/build.ts leaves the locales out.
    expect(readFileSync(exe).includes('Zeichen')).toBe(false);
  });

  it('keeps every committed report through SIGKILLs while offline, then stores each once', async () => {
    const station = 'bk-lx-kill';
    const dir = join(env.dir, 'outbox', station);
    await env.mqtt.stop();
    for (let i = 0; i < 5; i++) {
      const before = peekOutbox(dir).nextSeq;
      const agent = start(station);
      await eventually('a report committed', () => peekOutbox(dir).nextSeq > before, 20_000);
      await sleep(i * 170);
      await kill9(agent);
    }
    const offline = peekOutbox(dir);
    expect(offline.depth).toBe(offline.nextSeq);
    await env.mqtt.start();
    const agent = start(station);
    let rows: Array<{ seq: number }> = [];
    await eventually(`all ${offline.nextSeq} offline reports stored`, async () => {
      rows = (await stored(station)).filter((r) => r.seq < offline.nextSeq);
      return new Set(rows.map((r) => r.seq)).size === offline.nextSeq;
    }, 60_000);
    await kill9(agent);
    const distinct = new Set(rows.map((r) => r.seq)).size;
    console.log(`Linux executable killed 5× offline: ${offline.nextSeq} committed, ${distinct} stored, ${rows.length - distinct} duplicated`);
    expect(rows.length).toBe(distinct);
  }, 180_000);
});
