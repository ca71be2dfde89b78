/**
 * The production path end to end: the real agent over TLS with its client certificate, mosquitto with the production
 * config and ACL (deploy/mosquitto/production.conf), two collectors with their own certificates sharing the report
 * subscription through that ACL, and InfluxDB. One collector dies mid-stream; nothing is lost.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig, startAgent } from '../../agent/main.js';
import { credentialPaths, initCa, issueClientCert, issueServerCert, setPassword, writeAcl } from '../../cli/credentials.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { startInflux, type LocalServer } from '../../deploy/local-servers.js';
import { silentLogger } from '../../lib/log.js';
import { eventually, sleep, startTcpTarget, tempDir } from '../helpers/env.js';
import { peekOutbox } from '../helpers/outbox-peek.js';
import { startProductionMosquitto, type Pki } from '../helpers/security.js';
import { writeFileSync, rmSync } from 'node:fs';
import { InfluxDB } from 'influx';
import YAML from 'yaml';

const STATION = 'bk-bach-thong-cam-giang';
const COLLECTORS = ['collector', 'collector-2'];

describe('production path: TLS, certificates, ACL, shared subscription', () => {
  let dir: string;
  let broker: LocalServer;
  let influx: LocalServer;
  let target: Awaited<ReturnType<typeof startTcpTarget>>;
  const collectors: RunningCollector[] = [];
  let client: InfluxDB;

  beforeAll(async () => {
    dir = tempDir();
    const pki = join(dir, 'pki');
    initCa(pki);
    issueServerCert(pki, ['localhost', '127.0.0.1']);
    for (const name of [STATION, ...COLLECTORS]) {
      issueClientCert(pki, name, { collectors: COLLECTORS });
      setPassword(pki, name, { collectors: COLLECTORS });
    }
    writeAcl(pki, COLLECTORS);
    [broker, influx] = await Promise.all([
      startProductionMosquitto({ dir: pki } as Pki, join(dir, 'mq'), 'certificate'),
      startInflux({ dir: join(dir, 'influx') }),
    ]);
    target = await startTcpTarget();
    client = new InfluxDB({ host: '127.0.0.1', port: influx.port, database: 'linkwatch' });
    writeFileSync(join(dir, 'stations.csv'), `id,name,commune,district,province,lat,lon,isp,circuit,sla_target\n${STATION},Công an xã Cẩm Giàng,Cẩm Giàng,Bạch Thông,Bắc Kạn,22.2,105.9,VNPT,c1,99.5\n`);
    const c = credentialPaths(pki);
    for (const name of COLLECTORS) {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, YAML.stringify({
        broker: { url: broker.url, ca: c.caCert, cert: c.clientCert(name), key: c.clientKey(name), client_id: name, session_expiry: '3s' },
        influx: { url: influx.url, database: 'linkwatch', flush_interval: '200ms' },
        stations: join(dir, 'stations.csv'),
        dead_letter: { path: join(dir, `dl-${name}`) },
        evaluator: { enabled: false },
        log_level: 'silent',
      }));
      collectors.push(await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() }));
    }
  });
  afterAll(async () => {
    for (const c of collectors) c.abort();
    await target?.close();
    await Promise.all([broker?.stop(), influx?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every report of a certificate-authenticated agent while one of two collectors dies', async () => {
    const c = credentialPaths(join(dir, 'pki'));
    const outbox = join(dir, 'outbox');
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, YAML.stringify({
      station: STATION, interval: '1s', log_level: 'silent',
      broker: { url: broker.url, ca: c.caCert, cert: c.clientCert(STATION), key: c.clientKey(STATION) },
      outbox: { path: outbox, ack_timeout: '2s', backfill_rate: 500 },
      targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: target.port, count: 1 }],
    }));
    const agent = startAgent(loadAgentConfig(file), { configFile: file, log: silentLogger() });
    try {
      await eventually('reports through both collectors', () => collectors.every((col) => col.ingest.stats.reports > 2) || undefined);
      collectors[0]!.abort(); // gone without a word, like a crash
      await sleep(3000);
      const made = peekOutbox(outbox).nextSeq;
      const rows = await eventually(`all ${made} reports stored`, async () => {
        const r = (await client.query(`SELECT seq FROM report WHERE station = '${STATION}' AND seq < ${made}`)) as unknown as Array<{ seq: number }>;
        return new Set(r.map((x) => x.seq)).size === made ? r : undefined;
      }, 60_000);
      console.log(`production path: reports made ${made}, stored ${new Set(rows.map((r) => r.seq)).size}, duplicated ${rows.length - new Set(rows.map((r) => r.seq)).size}`);
      expect(rows.length).toBe(made);
      // Acks reached the agent through the ACL: its outbox drains.
      await eventually('outbox drained by acks', () => peekOutbox(outbox).depth <= 2);
    } finally {
      await agent.stop();
    }
  });
});
