/**
 * A strictly write-only collector: it stores reports with a user that may only write, while `linkwatch evaluator`,
 * a process of its own with its own InfluxDB user, judges the stations. Real mosquitto, influxd with auth, agent.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig, startAgent } from '../../agent/main.js';
import { loadCollectorConfig, startCollector, startEvaluator, type RunningCollector, type RunningEvaluator } from '../../collector/main.js';
import { silentLogger } from '../../lib/log.js';
import { readFileSync, rmSync } from 'node:fs';
import { startInflux, startMosquitto, type LocalServer } from '../../deploy/local-servers.js';
import { eventually, startTcpTarget, tempDir } from '../helpers/env.js';
import YAML from 'yaml';
import { writeFileSync } from 'node:fs';

const STATION = 'bk-ngan-son-bang-van';
const usersScript = fileURLToPath(new URL('../../deploy/influxdb-users.sh', import.meta.url));

describe('collector and evaluator as separate processes', () => {
  let dir: string;
  let broker: LocalServer;
  let influx: LocalServer;
  let target: Awaited<ReturnType<typeof startTcpTarget>>;
  let collector: RunningCollector;
  let evaluator: RunningEvaluator;
  let admin: InfluxDB;

  beforeAll(async () => {
    dir = tempDir();
    [broker, influx] = await Promise.all([startMosquitto({ dir: join(dir, 'mq') }), startInflux({ dir: join(dir, 'influx'), auth: true })]);
    target = await startTcpTarget();
    execFileSync('bash', [usersScript, '-u', influx.url, '-d', 'linkwatch', '-s', join(dir, 'secrets')], { stdio: 'pipe' });
    admin = new InfluxDB({ host: '127.0.0.1', port: influx.port, database: 'linkwatch', username: 'admin', password: readFileSync(join(dir, 'secrets/influx-admin'), 'utf8').trim() });
    writeFileSync(join(dir, 'stations.csv'), `id,name,commune,district,province,lat,lon,isp,circuit,sla_target\n${STATION},Công an xã Bằng Vân,Bằng Vân,Ngân Sơn,Bắc Kạn,22.4,106.0,Viettel,c1,99.5\n`);
    const common = {
      broker: { url: broker.url, client_id: 'c-split' },
      influx: { url: influx.url, database: 'linkwatch', username: 'writer', password_file: join(dir, 'secrets/influx-writer'), flush_interval: '200ms' },
      stations: join(dir, 'stations.csv'),
      dead_letter: { path: join(dir, 'dl') },
      log_level: 'silent',
    };
    const collectorFile = join(dir, 'collector.yaml');
    writeFileSync(collectorFile, YAML.stringify({ ...common, evaluator: { enabled: false } }));
    const evaluatorFile = join(dir, 'evaluator.yaml');
    writeFileSync(evaluatorFile, YAML.stringify({
      ...common,
      evaluator: { enabled: false, period: '1s', settle: '300ms', username: 'evaluator', password_file: join(dir, 'secrets/influx-evaluator') },
    }));
    collector = await startCollector(loadCollectorConfig(collectorFile), { configFile: collectorFile, log: silentLogger() });
    evaluator = startEvaluator(loadCollectorConfig(evaluatorFile), { configFile: evaluatorFile, log: silentLogger() });
  });
  afterAll(async () => {
    await evaluator?.stop();
    await collector?.stop();
    await target?.close();
    await Promise.all([broker?.stop(), influx?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores with a write-only user and judges with the evaluator\'s own', async () => {
    const agentFile = join(dir, 'agent.yaml');
    writeFileSync(agentFile, YAML.stringify({
      station: STATION, interval: '1s', broker: { url: broker.url }, outbox: { path: join(dir, 'outbox') }, log_level: 'silent',
      targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: target.port, count: 1 }],
    }));
    const agent = startAgent(loadAgentConfig(agentFile), { configFile: agentFile, log: silentLogger() });
    try {
      await eventually('reports stored by the write-only collector', async () => (await admin.query(`SELECT count(seq) FROM report`)).length > 0);
      // The first verdicts may predate the first stored report (offline); then the station is judged ok.
      const health = await eventually('an ok verdict written by the evaluator process', async () => {
        const rows = await admin.query<{ state: string; station: string }>(`SELECT last(state) AS state FROM health GROUP BY station`);
        return rows[0]?.state === 'ok' ? rows : undefined;
      });
      expect(health[0]).toMatchObject({ station: STATION, state: 'ok' });
      // The collector's own user cannot read what it wrote.
      await expect(collector.influx.query('SELECT * FROM report LIMIT 1')).rejects.toThrow(/not authorized|403|authorization/i);
      expect(collector.evaluator).toBeUndefined();
    } finally {
      await agent.stop();
    }
  });
});
