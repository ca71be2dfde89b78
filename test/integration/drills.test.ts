/**
 * Operations drills, the way a province's server is really run: mosquitto with the production config (TLS, client
 * certificates, the ACL, persistence), two collectors with the production session expiry sharing the report
 * subscription, agents on their own "station PCs", all as real processes. Each drill does what operators and power
 * cuts do — restart or kill the broker, restart InfluxDB, reboot the whole server in either start order, start agents
 * before the broker exists, start the collectors while InfluxDB is down — and then checks that reports flow again
 * within 30 s and that every report each agent committed is in InfluxDB exactly once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { credentialPaths, initCa, issueClientCert, issueServerCert, setPassword, writeAcl } from '../../cli/credentials.js';
import { startInflux, type LocalServer } from '../../deploy/local-servers.js';
import { eventually, sleep, startTcpTarget, tempDir } from '../helpers/env.js';
import { peekOutbox } from '../helpers/outbox-peek.js';
import { runCli, type Proc } from '../helpers/proc.js';
import { startProductionMosquitto } from '../helpers/security.js';

const STATIONS = ['tn-cho-moi-yen-dinh', 'tn-na-ri-kim-hy'];
const COLLECTORS = ['collector', 'collector-2'];
/** How soon reports must flow again after the last server is back. */
const FLOWING_WITHIN_MS = 30_000;

let target: Awaited<ReturnType<typeof startTcpTarget>>;
beforeAll(async () => {
  target = await startTcpTarget();
});
afterAll(() => target?.close());

interface Server {
  broker: LocalServer;
  influx: LocalServer;
  query<T>(q: string): Promise<T[]>;
  collectors: Map<string, Proc>;
  agents: Map<string, Proc>;
  outbox(station: string): string;
  startCollector(name: string): Proc;
  startAgent(station: string): Proc;
  stopCollectors(): Promise<void>;
}

let current: Server | undefined;
afterEach(async () => {
  if (!current) return;
  await Promise.all([...current.collectors.values(), ...current.agents.values()].map((p) => p.kill9()));
  await Promise.all([current.broker.stop(), current.influx.stop()]);
  current = undefined;
});

async function server(): Promise<Server> {
  const dir = tempDir('lw-drill-');
  const pki = join(dir, 'pki');
  initCa(pki);
  issueServerCert(pki, ['localhost', '127.0.0.1']);
  for (const name of [...STATIONS, ...COLLECTORS]) {
    issueClientCert(pki, name, { collectors: COLLECTORS });
    setPassword(pki, name, { collectors: COLLECTORS });
  }
  writeAcl(pki, COLLECTORS);
  const [broker, influx] = await Promise.all([
    startProductionMosquitto({ dir: pki }, join(dir, 'mosquitto'), 'certificate'),
    startInflux({ dir: join(dir, 'influxdb') }),
  ]);
  const client = new InfluxDB({ host: '127.0.0.1', port: influx.port, database: 'linkwatch' });
  const stations = join(dir, 'stations.csv');
  writeFileSync(stations, [
    'id,name,commune,district,province,lat,lon,isp,circuit,sla_target',
    `${STATIONS[0]},Công an xã Yên Định,Yên Định,Chợ Mới,Thái Nguyên,22.0,105.8,VNPT,vnpt-1,99.5`,
    `${STATIONS[1]},Công an xã Kim Hỷ,Kim Hỷ,Na Rì,Thái Nguyên,22.3,106.0,Viettel,vt-1,99.5`,
  ].join('\n') + '\n');
  const c = credentialPaths(pki);
  const configFile = (name: string, config: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, YAML.stringify(config));
    return file;
  };
  const s: Server = {
    broker,
    influx,
    query: async <T>(q: string) => (await client.query(q)) as unknown as T[],
    collectors: new Map(),
    agents: new Map(),
    outbox: (station) => join(dir, 'outbox', station),
    startCollector(name) {
      // The production defaults: the session expiry, the evaluator, the watchdog; only the ports are the test's.
      const file = configFile(`${name}.yaml`, {
        broker: { url: broker.url, ca: c.caCert, cert: c.clientCert(name), key: c.clientKey(name), client_id: name },
        influx: { url: influx.url, database: 'linkwatch', flush_interval: '300ms' },
        stations,
        dead_letter: { path: join(dir, `dead-letter-${name}`) },
        http: { listen: '127.0.0.1:0' },
        evaluator: { period: '2s', settle: '500ms' },
        log_level: 'info',
      });
      const p = runCli(['collector', '--config', file]);
      s.collectors.set(name, p);
      return p;
    },
    startAgent(station) {
      const file = configFile(`agent-${station}.yaml`, {
        station, interval: '1s', log_level: 'info',
        broker: { url: broker.url, ca: c.caCert, cert: c.clientCert(station), key: c.clientKey(station) },
        outbox: { path: s.outbox(station), ack_timeout: '3s', backfill_rate: 200 },
        targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: target.port, count: 1 }],
      });
      const p = runCli(['agent', '--config', file]);
      s.agents.set(station, p);
      return p;
    },
    async stopCollectors() {
      await Promise.all([...s.collectors.values()].map((p) => p.stop()));
      s.collectors.clear();
    },
  };
  return s;
}

async function storedSince(s: Server, station: string, since: number): Promise<number> {
  const rows = await s.query<{ n: number }>(`SELECT count(seq) AS n FROM report WHERE station = '${station}' AND time >= ${since}ms`);
  return rows[0]?.n ?? 0;
}

/** Seconds from `since` until a report measured after it is stored for every station. */
async function secondsUntilFlowing(s: Server, since: number): Promise<number> {
  await eventually('reports flowing again for every station', async () => {
    for (const st of STATIONS) if ((await storedSince(s, st, since)) === 0) return false;
    return true;
  }, FLOWING_WITHIN_MS);
  return (Date.now() - since) / 1000;
}

/** Every report every agent committed is stored exactly once; returns made / stored / doubled over all stations. */
async function expectNothingLostOrDoubled(s: Server): Promise<{ made: number; stored: number; doubled: number }> {
  const total = { made: 0, stored: 0, doubled: 0 };
  for (const st of STATIONS) {
    const { nextSeq: made, dropped } = peekOutbox(s.outbox(st));
    expect(dropped).toBe(0);
    let rows: Array<{ seq: number }> = [];
    await eventually(`all ${made} reports of ${st} stored`, async () => {
      rows = await s.query<{ seq: number }>(`SELECT seq FROM report WHERE station = '${st}' AND seq < ${made}`);
      return new Set(rows.map((r) => r.seq)).size === made;
    }, 60_000);
    const distinct = new Set(rows.map((r) => r.seq)).size;
    total.made += made;
    total.stored += distinct;
    total.doubled += rows.length - distinct;
  }
  expect(total.stored).toBe(total.made);
  expect(total.doubled).toBe(0);
  return total;
}

async function running(): Promise<Server> {
  const s = (current = await server());
  for (const c of COLLECTORS) s.startCollector(c);
  for (const st of STATIONS) s.startAgent(st);
  await eventually('first reports stored', async () => {
    for (const st of STATIONS) if ((await storedSince(s, st, 0)) < 3) return false;
    return true;
  }, 30_000);
  return s;
}

function report(drill: string, seconds: number, t: { made: number; stored: number; doubled: number }) {
  console.log(`drill ${drill}: reports made ${t.made}, stored ${t.stored}, doubled ${t.doubled}; flowing again after ${seconds.toFixed(1)} s`);
}

describe('operations drills on the production configs', { timeout: 150_000 }, () => {
  it('flows again after the broker is restarted gracefully (persistence on, collectors keep their sessions)', async () => {
    const s = await running();
    await s.broker.stop();
    await sleep(2000);
    await s.broker.start();
    const back = Date.now();
    const seconds = await secondsUntilFlowing(s, back);
    // Long enough for the old shared-subscription bug to show: nothing arrived after a restart, for good.
    await sleep(3000);
    expect(await storedSince(s, STATIONS[0]!, back + 2000)).toBeGreaterThan(0);
    report('broker restarted', seconds, await expectNothingLostOrDoubled(s));
  });

  it('flows again after the broker is killed with SIGKILL', async () => {
    const s = await running();
    await s.broker.kill9();
    await sleep(2000);
    await s.broker.start();
    const seconds = await secondsUntilFlowing(s, Date.now());
    report('broker killed', seconds, await expectNothingLostOrDoubled(s));
  });

  it('flows again after InfluxDB is restarted', async () => {
    const s = await running();
    await s.influx.stop();
    await sleep(3000);
    await s.influx.start();
    const seconds = await secondsUntilFlowing(s, Date.now());
    report('influxd restarted', seconds, await expectNothingLostOrDoubled(s));
  });

  it('flows again after a server reboot that starts the collectors before the broker and InfluxDB', async () => {
    const s = await running();
    await s.stopCollectors();
    await Promise.all([s.broker.stop(), s.influx.stop()]);
    await sleep(1000);
    for (const c of COLLECTORS) s.startCollector(c);
    await sleep(5000);
    await Promise.all([s.broker.start(), s.influx.start()]);
    const seconds = await secondsUntilFlowing(s, Date.now());
    report('reboot, collectors first', seconds, await expectNothingLostOrDoubled(s));
  });

  it('flows again after a server reboot that starts the broker and InfluxDB before the collectors', async () => {
    const s = await running();
    await s.stopCollectors();
    await Promise.all([s.broker.stop(), s.influx.stop()]);
    await sleep(1000);
    await Promise.all([s.broker.start(), s.influx.start()]);
    await sleep(5000);
    for (const c of COLLECTORS) s.startCollector(c);
    const seconds = await secondsUntilFlowing(s, Date.now());
    report('reboot, broker and InfluxDB first', seconds, await expectNothingLostOrDoubled(s));
  });

  it('delivers what agents measured before the broker existed', async () => {
    const s = (current = await server());
    await s.broker.stop();
    for (const st of STATIONS) s.startAgent(st);
    await eventually('reports committed offline', () => STATIONS.every((st) => peekOutbox(s.outbox(st)).nextSeq >= 5));
    await s.broker.start();
    for (const c of COLLECTORS) s.startCollector(c);
    const seconds = await secondsUntilFlowing(s, Date.now());
    report('agents before the broker', seconds, await expectNothingLostOrDoubled(s));
  });

  it('stores everything once InfluxDB, unreachable when the collectors started, comes up', async () => {
    const s = (current = await server());
    await s.influx.stop();
    for (const c of COLLECTORS) s.startCollector(c);
    for (const st of STATIONS) s.startAgent(st);
    await sleep(5000);
    for (const c of s.collectors.values()) expect(c.child.exitCode).toBeNull();
    await s.influx.start();
    const seconds = await secondsUntilFlowing(s, Date.now());
    report('InfluxDB down at collector start', seconds, await expectNothingLostOrDoubled(s));
  });
});
