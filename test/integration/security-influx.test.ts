import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { credentialPaths } from '../../cli/credentials.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { startInflux, type LocalServer } from '../../deploy/local-servers.js';
import { silentLogger } from '../../lib/log.js';
import { eventually, tempDir } from '../helpers/env.js';
import { makePki, type Pki } from '../helpers/security.js';

const script = fileURLToPath(new URL('../../deploy/influxdb-users.sh', import.meta.url));

describe('InfluxDB with authentication, and the whole secure path (embedded broker → collector → InfluxDB)', () => {
  let dir: string;
  let influx: LocalServer;
  let secrets: string;
  const pw = (name: string) => readFileSync(join(secrets, name), 'utf8').trim();
  const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const write = (headers: Record<string, string> = {}) =>
    fetch(`${influx.url}/write?db=linkwatch&precision=ms`, { method: 'POST', headers, body: `probe,station=x ok=true ${Date.now()}` });
  const query = async (q: string, headers: Record<string, string>) => {
    const r = await fetch(`${influx.url}/query?db=linkwatch`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ q }) });
    return { status: r.status, body: (await r.json()) as { error?: string; results?: Array<{ error?: string; series?: Array<{ values: unknown[][] }> }> } };
  };

  beforeAll(async () => {
    dir = tempDir('lw-influx-auth-');
    secrets = join(dir, 'secrets');
    influx = await startInflux({ dir: join(dir, 'influxdb'), auth: true });
    for (let i = 0; i < 2; i++) {
      // Twice: the script is idempotent (an operator re-runs it after changing a password file).
      const r = spawnSync('bash', [script, '-u', influx.url, '-d', 'linkwatch', '-s', secrets], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses writes without credentials or with a wrong password', async () => {
    expect((await write()).status).toBe(401);
    expect((await write(basic('writer', 'wrong'))).status).toBe(401);
    expect((await query('SHOW DATABASES', {})).status).toBe(401);
  });

  it('lets the collector user write but not read', async () => {
    expect((await write(basic('writer', pw('influx-writer')))).status).toBe(204);
    const r = await query('SELECT * FROM probe', basic('writer', pw('influx-writer')));
    expect(JSON.stringify(r.body)).toMatch(/not authorized/);
  });

  it('lets the Grafana user read but not write, nor create or drop anything', async () => {
    expect((await write(basic('grafana', pw('influx-grafana')))).status).toBe(403);
    const r = await query('SELECT count(ok) FROM probe', basic('grafana', pw('influx-grafana')));
    expect(r.status).toBe(200);
    expect(r.body.results?.[0]?.error).toBeUndefined();
    expect(r.body.results?.[0]?.series?.[0]?.values[0]?.[1]).toBeGreaterThanOrEqual(1);
    for (const q of ['DROP MEASUREMENT probe', 'CREATE DATABASE other', 'DROP DATABASE linkwatch', 'CREATE USER x WITH PASSWORD \'y\' WITH ALL PRIVILEGES']) {
      expect(JSON.stringify((await query(q, basic('grafana', pw('influx-grafana')))).body), q).toMatch(/not authorized|requires admin/);
    }
  });

  it('keeps secret files private', () => {
    if (process.platform === 'win32') return;
    const mode = spawnSync('stat', ['-c', '%a', join(secrets, 'influx-writer')], { encoding: 'utf8' }).stdout.trim();
    expect(mode).toBe('600');
  });

  describe('collector in embedded mode with client certificates, writing as the write-only user', () => {
    let pki: Pki;
    let collector: RunningCollector;

    beforeAll(async () => {
      pki = makePki(join(dir, 'pki'));
      const c = credentialPaths(pki.dir);
      writeFileSync(join(dir, 'stations.csv'), 'id,name,commune,district,province,lat,lon,isp,circuit,sla_target\nst-a,A,A,Chợ Mới,Bắc Kạn,22,105,VNPT,c1,99.5\nst-b,B,B,Ba Bể,Bắc Kạn,22,105,Viettel,c2,99.5\n');
      const file = join(dir, 'collector.yaml');
      writeFileSync(file, YAML.stringify({
        broker: { url: 'embedded', embedded: { listen: 'mqtts://127.0.0.1:0', cert: c.serverCert('localhost'), key: c.serverKey('localhost'), ca: c.caCert, crl: c.crl } },
        influx: { url: influx.url, database: 'linkwatch', username: 'writer', password_file: join(secrets, 'influx-writer'), flush_interval: '100ms' },
        stations: join(dir, 'stations.csv'),
        dead_letter: { path: join(dir, 'dead-letter') },
        // The evaluator reads InfluxDB; a write-only collector runs without it (docs/security.md).
        evaluator: { enabled: false },
        log_level: 'silent',
      }));
      collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
    });

    afterAll(async () => {
      await collector?.stop();
    });

    it('stores a station\'s own report, acks it to that station only, and never stores one forged for another', async () => {
      const url = `mqtts://127.0.0.1:${collector.broker!.port}`;
      const a = await mqtt.connectAsync(url, { ...pki.tls('st-a'), clientId: 'st-a', protocolVersion: 4, reconnectPeriod: 0 });
      const acks: string[] = [];
      a.on('message', (t, p) => acks.push(`${t} ${p.toString()}`));
      await a.subscribeAsync('linkwatch/v1/st-a/ack', { qos: 1 });
      const report = (station: string, seq: number) => JSON.stringify({ v: 1, station, seq, ts: Date.now(), interval_s: 10, probes: [] });
      // The forged one first: the broker closes A's connection over it.
      const closed = new Promise<void>((r) => a.once('close', () => r()));
      a.publish('linkwatch/v1/st-b/report', report('st-b', 666), { qos: 1 }, () => {});
      await closed;
      const a2 = await mqtt.connectAsync(url, { ...pki.tls('st-a'), clientId: 'st-a', protocolVersion: 4, reconnectPeriod: 0 });
      a2.on('message', (t, p) => acks.push(`${t} ${p.toString()}`));
      await a2.subscribeAsync('linkwatch/v1/st-a/ack', { qos: 1 });
      await a2.publishAsync('linkwatch/v1/st-a/report', report('st-a', 7), { qos: 1 });
      // A report naming another station on its own topic: refused by the collector (identity is the topic).
      await a2.publishAsync('linkwatch/v1/st-a/report', report('st-b', 8), { qos: 1 });
      await eventually('ack for seq 7', () => acks.some((x) => x.includes('"stored":[[7,7]]')));
      const grafana = basic('grafana', pw('influx-grafana'));
      const stored = await query('SELECT seq, station FROM report', grafana);
      const rows = stored.body.results?.[0]?.series?.[0]?.values ?? [];
      expect(rows.map((r) => [r[1], r[2]])).toEqual([[7, 'st-a']]);
      expect(collector.deadLetters.counts.get('station_mismatch')).toBe(1);
      expect(collector.broker!.refused.get('publish_denied')).toBe(1);
      a.end(true);
      a2.end(true);
    });
  });
});
