/**
 * The example configs of deploy/examples/ as an operator uses them: the files they name are created by the
 * project's own setup steps (`linkwatch credentials` for the broker, deploy/influxdb-users.sh for InfluxDB), the real
 * loaders accept them, and the credentials they point at work against a real InfluxDB with authentication.
 * Absolute paths (/etc/linkwatch, /var/lib/linkwatch, /srv) are moved under a temporary root; nothing else changes.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../agent/main.js';
import { credentialPaths, initCa, setPassword } from '../../cli/credentials.js';
import { DEFAULT_COLLECTORS, parsePasswordFile, verifyPassword } from '../../collector/auth.js';
import type { CollectorConfig } from '../../collector/config.js';
import { loadCollectorConfig } from '../../collector/main.js';
import { loadRegistry, parseRegistry } from '../../collector/registry.js';
import type { AgentConfig } from '../../agent/config.js';
import { startInflux, type LocalServer } from '../../deploy/local-servers.js';
import { tempDir } from '../helpers/env.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const examples = join(repo, 'deploy/examples');
const usersScript = join(repo, 'deploy/influxdb-users.sh');

/** The defaults the script uses when run as docs/security.md says (`-s /etc/linkwatch/secrets`, no --writer). */
function scriptDefaults(): { secrets: string; writer: string } {
  const text = readFileSync(usersScript, 'utf8');
  const line = /^url=\S+ db=\S+ secrets=(\S+) writer=(\S+) /m.exec(text);
  if (!line) throw new Error('influxdb-users.sh: defaults line not found');
  return { secrets: line[1]!, writer: line[2]! };
}

describe('deploy/examples with the files the setup creates', () => {
  let root: string;
  let influx: LocalServer;
  let agent: AgentConfig;
  let collector: CollectorConfig;
  let rawCollector: string;
  const under = (p: string) => join(root, p);

  beforeAll(async () => {
    root = tempDir('lw-examples-');
    influx = await startInflux({ dir: under('influxdb'), auth: true });
    const move = (text: string) =>
      text
        .replaceAll('/etc/linkwatch', under('etc/linkwatch'))
        .replaceAll('/var/lib/linkwatch', under('var/lib/linkwatch'))
        .replaceAll('/srv/', `${under('srv')}/`)
        .replaceAll('http://127.0.0.1:8086', influx.url);
    mkdirSync(under('etc/linkwatch'), { recursive: true });
    rawCollector = readFileSync(join(examples, 'collector.yaml'), 'utf8');
    writeFileSync(under('etc/linkwatch/agent.yaml'), move(readFileSync(join(examples, 'agent.yaml'), 'utf8')));
    writeFileSync(under('etc/linkwatch/collector.yaml'), move(rawCollector));
    copyFileSync(join(examples, 'stations.csv'), under('etc/linkwatch/stations.csv'));

    // Broker credentials, as docs/security.md step 1 (passwords over TLS), then copied to the station PC.
    const pki = under('etc/linkwatch/pki');
    const stations = parseRegistry(readFileSync(join(examples, 'stations.csv'), 'utf8'));
    initCa(pki);
    setPassword(pki, 'collector');
    const station = 'bk-cho-moi-yen-dinh';
    setPassword(pki, station, { stations });
    copyFileSync(credentialPaths(pki).caCert, under('etc/linkwatch/ca.pem'));
    copyFileSync(credentialPaths(pki).clientPassword(station), under('etc/linkwatch/password'));

    // InfluxDB users, as docs/security.md step 3.
    const r = spawnSync('bash', [usersScript, '-u', influx.url, '-d', 'linkwatch', '-s', under('etc/linkwatch/secrets'), '--writer-reads'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);

    agent = loadAgentConfig(under('etc/linkwatch/agent.yaml'));
    collector = loadCollectorConfig(under('etc/linkwatch/collector.yaml'));
  });

  afterAll(async () => {
    await influx?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('names the InfluxDB user and password file that deploy/influxdb-users.sh creates', () => {
    const { secrets, writer } = scriptDefaults();
    expect(rawCollector).toMatch(new RegExp(`^  username: ${writer}$`, 'm'));
    expect(rawCollector).toMatch(new RegExp(`^  password_file: ${secrets}/influx-writer$`, 'm'));
    expect(collector.influx.password_file).toBe(under(`${secrets.slice(1)}/influx-writer`));
  });

  it('writes and reads InfluxDB with those credentials (the evaluator runs in the collector, hence --writer-reads)', async () => {
    expect(collector.evaluator.enabled).toBe(true);
    const password = readFileSync(collector.influx.password_file!, 'utf8').trim();
    const auth = { Authorization: `Basic ${Buffer.from(`${collector.influx.username}:${password}`).toString('base64')}` };
    const write = await fetch(`${influx.url}/write?db=${collector.influx.database}&precision=ms`, { method: 'POST', headers: auth, body: `probe,station=${agent.station} ok=true ${Date.now()}` });
    expect(write.status).toBe(204);
    const read = await fetch(`${influx.url}/query?db=${collector.influx.database}`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q: 'SELECT count(ok) FROM probe' }),
    });
    const body = (await read.json()) as { results: Array<{ error?: string; series?: Array<{ values: unknown[][] }> }> };
    expect(body.results[0]?.error).toBeUndefined();
    expect(body.results[0]?.series?.[0]?.values[0]?.[1]).toBe(1);
  });

  it('puts the example station in the example registry, under its own broker identity', () => {
    expect(loadRegistry(collector.stations).has(agent.station)).toBe(true);
    expect(agent.broker.username).toBe(agent.station);
    expect(DEFAULT_COLLECTORS).toContain(collector.broker.username);
  });

  it('points both at broker passwords that mosquitto/passwd accepts, and at the CA that issued the broker files', () => {
    const pki = credentialPaths(under('etc/linkwatch/pki'));
    const passwd = parsePasswordFile(readFileSync(pki.passwd, 'utf8'));
    for (const b of [agent.broker, collector.broker]) {
      expect(verifyPassword(passwd.get(b.username!), readFileSync(b.password_file!, 'utf8').trim()), b.username).toBe(true);
    }
    expect(readFileSync(collector.broker.ca!, 'utf8')).toBe(readFileSync(pki.caCert, 'utf8'));
    expect(readFileSync(agent.broker.ca!, 'utf8')).toBe(readFileSync(pki.caCert, 'utf8'));
    expect(collector.broker.password_file).toBe(pki.clientPassword('collector'));
  });
});
