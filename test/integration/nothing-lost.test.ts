/**
 * Nothing lost: the agent and collectors run as real processes (so they can be killed with SIGKILL) against real
 * mosquitto and influxd, while the test breaks things. Each scenario checks that every report the agent committed
 * is in InfluxDB exactly once, by station + seq, and prints reports made / stored / duplicated.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, sleep, startEnv, type TestEnv, startTcpTarget } from '../helpers/env.js';
import { peekOutbox } from '../helpers/outbox-peek.js';
import { runCli, type Proc } from '../helpers/proc.js';

const STATION = 'bk-na-ri-kim-hy';

let target: Awaited<ReturnType<typeof startTcpTarget>>;
let targetPort: number;
beforeAll(async () => {
  target = await startTcpTarget();
  targetPort = target.port;
});
afterAll(() => target?.close());

interface Rig {
  env: TestEnv;
  outboxDir: string;
  agentConfig: string;
  collectorConfig(id: string): string;
  procs: Proc[];
  startAgent(): Proc;
  startCollector(id?: string): Proc;
}

async function rig(opts: { mqttPersistence?: boolean } = {}): Promise<Rig> {
  const env = await startEnv(opts);
  env.writeRegistry([{ id: STATION, name: 'Công an xã Kim Hỷ', commune: 'Kim Hỷ', district: 'Na Rì', isp: 'VNPT' }]);
  const outboxDir = join(env.dir, 'outbox', STATION);
  const agentConfig = env.writeConfig('agent.yaml', env.agentConfig(STATION, {
    interval: '1s',
    outbox: { path: outboxDir, ack_timeout: '2s', backfill_rate: 500, backfill_batch: 50 },
    targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: targetPort, count: 1 }],
  }));
  const procs: Proc[] = [];
  const r: Rig = {
    env,
    outboxDir,
    agentConfig,
    procs,
    collectorConfig: (id) => env.writeConfig(`collector-${id}.yaml`, env.collectorConfig({
      broker: { url: env.mqtt.url, client_id: `collector-${id}`, session_expiry: '3s' },
      influx: { url: env.influx.url, database: env.database, flush_interval: '300ms', batch_points: 200 },
    })),
    startAgent() {
      const p = runCli(['agent', '--config', agentConfig]);
      procs.push(p);
      return p;
    },
    startCollector(id = 'a') {
      const p = runCli(['collector', '--config', r.collectorConfig(id)]);
      procs.push(p);
      return p;
    },
  };
  return r;
}

let current: Rig | undefined;
afterEach(async () => {
  if (!current) return;
  await Promise.all(current.procs.map((p) => p.kill9()));
  await current.env.close();
  current = undefined;
});

/**
 * Waits until every report committed so far is in InfluxDB, then checks: stored exactly once, none lost.
 */
async function expectAllStoredOnce(r: Rig, label: string, ms = 60_000) {
  const { nextSeq: made, dropped } = peekOutbox(r.outboxDir);
  expect(made).toBeGreaterThan(0);
  expect(dropped).toBe(0);
  let rows: Array<{ seq: number }> = [];
  await eventually(`all ${made} reports stored (${label})`, async () => {
    rows = await r.env.query<{ seq: number }>(`SELECT seq FROM report WHERE station = '${STATION}' AND seq < ${made}`);
    return new Set(rows.map((x) => x.seq)).size === made;
  }, ms);
  const distinct = new Set(rows.map((x) => x.seq)).size;
  const duplicated = rows.length - distinct;
  console.log(`${label}: reports made ${made}, stored ${distinct}, duplicated ${duplicated}`);
  expect(distinct).toBe(made);
  expect(duplicated).toBe(0);
}

async function storedCount(r: Rig): Promise<number> {
  const rows = await r.env.query<{ count: number }>(`SELECT count(seq) FROM report WHERE station = '${STATION}'`);
  return rows[0]?.count ?? 0;
}

describe('nothing lost', () => {
  it('survives a broker restart with its persistence', async () => {
    const r = (current = await rig({ mqttPersistence: true }));
    r.startCollector();
    r.startAgent();
    await eventually('first reports stored', async () => (await storedCount(r)) > 5);
    await r.env.mqtt.stop();
    await sleep(2000);
    await r.env.mqtt.start();
    await sleep(1500);
    await expectAllStoredOnce(r, 'broker restarted (persistent)');
  });

  it('survives a broker killed with SIGKILL that has no persistence', async () => {
    const r = (current = await rig({ mqttPersistence: false }));
    r.startCollector();
    r.startAgent();
    await eventually('first reports stored', async () => (await storedCount(r)) > 5);
    await r.env.mqtt.kill9();
    rmSync(join(r.env.mqtt.dir, 'mosquitto.db'), { force: true });
    await sleep(2000);
    await r.env.mqtt.start();
    await sleep(1500);
    await expectAllStoredOnce(r, 'broker killed, no persistence');
  });

  it('survives the collector killed with SIGKILL mid-batch', async () => {
    const r = (current = await rig());
    const first = r.startCollector();
    r.startAgent();
    await eventually('first reports stored', async () => (await storedCount(r)) > 5);
    // Kill it a moment after a write, while the next batch is being gathered.
    await sleep(150);
    await first.kill9();
    await sleep(2000);
    r.startCollector();
    await sleep(1000);
    await expectAllStoredOnce(r, 'collector killed mid-batch');
  });

  it('survives InfluxDB stopped for a while', async () => {
    const r = (current = await rig());
    r.startCollector();
    r.startAgent();
    await eventually('first reports stored', async () => (await storedCount(r)) > 5);
    await r.env.influx.stop();
    await sleep(4000);
    await r.env.influx.start();
    await sleep(1000);
    await expectAllStoredOnce(r, 'influxd stopped 4 s');
  });

  it('keeps what it committed when the agent is killed with SIGKILL repeatedly while offline', async () => {
    const r = (current = await rig());
    r.startCollector();
    await r.env.mqtt.stop();
    for (let i = 0; i < 5; i++) {
      const before = peekOutbox(r.outboxDir).nextSeq;
      const agent = r.startAgent();
      // Kill it once it has committed something new, at a different moment each time.
      await eventually('a report committed', () => peekOutbox(r.outboxDir).nextSeq > before);
      await sleep(i * 150);
      await agent.kill9();
    }
    const offline = peekOutbox(r.outboxDir);
    expect(offline.depth).toBe(offline.nextSeq); // nothing could be acknowledged while offline
    await r.env.mqtt.start();
    r.startAgent();
    await sleep(500);
    await expectAllStoredOnce(r, `agent killed 5× offline (${offline.nextSeq} committed offline)`);
  });

  it('loses nothing when one of two collectors sharing the subscription is killed mid-stream', async () => {
    const r = (current = await rig());
    const a = r.startCollector('a');
    r.startCollector('b');
    r.startAgent();
    await eventually('first reports stored', async () => (await storedCount(r)) > 10);
    await a.kill9();
    await sleep(3000);
    await expectAllStoredOnce(r, 'one of two shared collectors killed');
  });
});
