/**
 * A collector whose InfluxDB credentials are refused (401) keeps the reports unacknowledged and retries: refusing the
 * password is the operator's problem, not the data's, so nothing is dead-lettered and the agents keep their outbox.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, loadCollectorConfig, type RunningCollector } from '../../collector/main.js';
import { classifyWriteError } from '../../collector/writer.js';
import { InfluxWriteError } from '../../lib/errors.js';
import { startInflux, startMosquitto, type LocalServer } from '../../deploy/local-servers.js';
import { silentLogger } from '../../lib/log.js';
import { writeFileSync, rmSync } from 'node:fs';
import YAML from 'yaml';
import { eventually, sleep, tempDir } from '../helpers/env.js';

const STATION = 'bk-na-ri-con-minh';

describe('InfluxDB refusing the collector\'s credentials', () => {
  let dir: string;
  let broker: LocalServer;
  let influx: LocalServer;
  let collector: RunningCollector;
  beforeAll(async () => {
    dir = tempDir();
    [broker, influx] = await Promise.all([startMosquitto({ dir: join(dir, 'mq') }), startInflux({ dir: join(dir, 'influx'), auth: true })]);
    // With auth on and no user yet, InfluxDB lets the first admin be created without credentials.
    const r = await fetch(`${influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q: "CREATE USER admin WITH PASSWORD 'right' WITH ALL PRIVILEGES" }) });
    expect(r.status).toBe(200);
    writeFileSync(join(dir, 'stations.csv'), `id,name,commune,district,province,lat,lon,isp,circuit,sla_target\n${STATION},Công an xã Côn Minh,Côn Minh,Na Rì,Bắc Kạn,22.2,106.1,VNPT,c1,99.5\n`);
    writeFileSync(join(dir, 'wrong'), 'wrong\n', { mode: 0o600 });
    const file = join(dir, 'collector.yaml');
    writeFileSync(file, YAML.stringify({
      broker: { url: broker.url, client_id: 'c-auth' },
      influx: { url: influx.url, database: 'linkwatch', username: 'admin', password_file: join(dir, 'wrong'), flush_interval: '100ms' },
      stations: join(dir, 'stations.csv'),
      dead_letter: { path: join(dir, 'dl') },
      evaluator: { enabled: false },
      log_level: 'silent',
    }));
    collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
  });
  afterAll(async () => {
    collector?.abort();
    await Promise.all([broker?.stop(), influx?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('classifies 401 and 403 as retryable, not as a refusal of the data', () => {
    expect(classifyWriteError(new InfluxWriteError(401, 'authorization failed'))).toBe('auth');
    expect(classifyWriteError(new InfluxWriteError(403, 'forbidden'))).toBe('auth');
    expect(classifyWriteError(new InfluxWriteError(400, 'partial write'))).toBe('reject');
    expect(classifyWriteError(new InfluxWriteError(503, 'unavailable'))).toBe('retry');
  });

  it('retries without acking or dead-lettering', async () => {
    const agent = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: STATION });
    const acks: unknown[] = [];
    agent.on('message', (_t, p) => acks.push(JSON.parse(p.toString())));
    await agent.subscribeAsync(`linkwatch/v1/${STATION}/ack`, { qos: 1 });
    const report = { v: 1, station: STATION, seq: 7, ts: Date.now(), interval_s: 10, probes: [] };
    await agent.publishAsync(`linkwatch/v1/${STATION}/report`, JSON.stringify(report), { qos: 1 });
    await eventually('a retried write', () => collector.writer.stats.retries >= 2);
    await sleep(300);
    await agent.endAsync();
    expect(acks).toEqual([]);
    expect(collector.deadLetters.total()).toBe(0);
    expect(collector.writer.pendingPoints()).toBeGreaterThan(0);
  });
});
