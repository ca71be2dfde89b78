/**
 * A deaf pipeline is noticed, healed and said: the collector's canary proves the path through the broker; a
 * subscription that is silently gone is renewed within two evaluator periods; a collector the broker will not let
 * subscribe (a broken ACL) stays deaf, says so on /healthz and /metrics, and the evaluator and `linkwatch status`
 * show one pipeline fault instead of every station down.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadAgentConfig, startAgent, type RunningAgent } from '../../agent/main.js';
import { credentialPaths, initCa, issueClientCert, issueServerCert, setPassword, writeAcl } from '../../cli/credentials.js';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../../collector/main.js';
import { startInflux } from '../../deploy/local-servers.js';
import { silentLogger } from '../../lib/log.js';
import { reportFilter } from '../../protocol/topics.js';
import { eventually, startEnv, startTcpTarget, tempDir, type TestEnv } from '../helpers/env.js';
import { peekOutbox } from '../helpers/outbox-peek.js';
import { runCli } from '../helpers/proc.js';
import { startProductionMosquitto } from '../helpers/security.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, text: await r.text() };
}

const metric = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('the pipeline watchdog', () => {
  it('notices a report subscription that silently vanished and has reports flowing again within two evaluator periods', async () => {
    const env: TestEnv = await startEnv();
    cleanups.push(() => env.close());
    const target = await startTcpTarget();
    cleanups.push(() => target.close());
    const station = 'tn-ba-be-nam-mau';
    env.writeRegistry([{ id: station, name: 'Công an xã Nam Mẫu', commune: 'Nam Mẫu', district: 'Ba Bể', isp: 'VNPT' }]);
    // The production defaults for the watchdog and the evaluator period; only ports and paths are the test's.
    const file = env.writeConfig('collector.yaml', env.collectorConfig({ http: { listen: '127.0.0.1:0' } }));
    const cfg = loadCollectorConfig(file);
    const collector: RunningCollector = await startCollector(cfg, { configFile: file, log: silentLogger() });
    cleanups.push(() => collector.stop());
    const agentFile = env.writeConfig('agent.yaml', env.agentConfig(station, {
      targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: target.port, count: 1 }],
    }));
    const agent: RunningAgent = startAgent(loadAgentConfig(agentFile), { configFile: agentFile, log: silentLogger() });
    cleanups.push(() => agent.stop());
    const port = collector.http.port()!;
    await eventually('reports stored', () => collector.writer.stats.reports > 2);
    expect((await get(port, '/healthz')).status).toBe(200);

    // The broker forgets the subscription; nothing tells the collector (as after mosquitto restored a session
    // without its shared subscriptions).
    await collector.client.unsubscribeAsync(reportFilter(true));
    const gone = Date.now();
    const storedBefore = collector.writer.stats.reports;
    // Renewing the subscription cures it at once, so /healthz is 503 for milliseconds only (the second test holds it).
    await eventually('the watchdog renews the subscription', () => collector.watchdog.stats.resubscribes > 0, 30_000);
    await eventually('reports stored again', () => collector.writer.stats.reports > storedBefore, 30_000);
    const recoveredS = (Date.now() - gone) / 1000;
    console.log(`watchdog: subscription gone → reports stored again after ${recoveredS.toFixed(1)} s (evaluator period ${cfg.evaluator.period / 1000} s, deaf_after ${cfg.watchdog.deaf_after / 1000} s)`);
    expect(recoveredS * 1000).toBeLessThanOrEqual(2 * cfg.evaluator.period);
    expect(collector.watchdog.stats).toMatchObject({ deaf: 1, resubscribes: 1, reconnects: 0 });
    expect((await get(port, '/healthz')).status).toBe(200);
    const metrics = (await get(port, '/metrics')).text;
    expect(metric(metrics, 'linkwatch_collector_resubscribes_total')).toBe(1);
    expect(metric(metrics, 'linkwatch_collector_deaf_total')).toBe(1);
    expect(metric(metrics, 'linkwatch_collector_pipeline_deaf')).toBe(0);
    expect(metric(metrics, 'linkwatch_collector_broker_connected')).toBe(1);
    expect(metric(metrics, 'linkwatch_collector_reports_total')).toBeGreaterThanOrEqual(collector.ingest.stats.reports - 2);
    expect(metrics).toMatch(/linkwatch_collector_ack_latency_seconds_count \d+/);

    // What the broker dropped while nobody listened, the agent sent again: nothing lost, nothing doubled.
    const made = peekOutbox(join(env.dir, 'outbox', station)).nextSeq;
    const rows = await eventually(`all ${made} reports stored`, async () => {
      const r = await env.query<{ seq: number }>(`SELECT seq FROM report WHERE station = '${station}' AND seq < ${made}`);
      return new Set(r.map((x) => x.seq)).size === made ? r : undefined;
    }, 60_000);
    expect(rows.length).toBe(made);
  });

  it('shows stations unheard behind a collector the broker will not serve as one pipeline fault', async () => {
    const dir = tempDir('lw-deaf-');
    const pki = join(dir, 'pki');
    const stations = ['tn-cho-moi-yen-dinh', 'tn-cho-moi-thanh-mai', 'tn-na-ri-kim-hy', 'tn-ba-be-nam-mau'];
    initCa(pki);
    issueServerCert(pki, ['localhost', '127.0.0.1']);
    for (const n of [...stations, 'collector']) {
      issueClientCert(pki, n);
      setPassword(pki, n);
    }
    writeAcl(pki);
    // An ACL broken by hand: the collector may no longer read reports (its canary it may still send).
    const c = credentialPaths(pki);
    writeFileSync(c.acl, readFileSync(c.acl, 'utf8').split('\n').filter((l) => !/^topic read .*\/report$/.test(l)).join('\n'));
    const [broker, influx] = await Promise.all([
      startProductionMosquitto({ dir: pki }, join(dir, 'mosquitto'), 'certificate'),
      startInflux({ dir: join(dir, 'influxdb') }),
    ]);
    cleanups.push(() => Promise.all([broker.stop(), influx.stop()]));
    const target = await startTcpTarget();
    cleanups.push(() => target.close());
    writeFileSync(join(dir, 'stations.csv'), [
      'id,name,commune,district,province,lat,lon,isp,circuit,sla_target',
      ...stations.map((s, i) => `${s},Công an xã ${i},Xã ${i},Chợ Mới,Thái Nguyên,22.0,105.8,VNPT,c${i},99.5`),
    ].join('\n') + '\n');
    const file = join(dir, 'collector.yaml');
    writeFileSync(file, YAML.stringify({
      broker: { url: broker.url, ca: c.caCert, cert: c.clientCert('collector'), key: c.clientKey('collector'), client_id: 'collector' },
      influx: { url: influx.url, database: 'linkwatch', flush_interval: '200ms' },
      stations: join(dir, 'stations.csv'),
      dead_letter: { path: join(dir, 'dead-letter') },
      http: { listen: '127.0.0.1:0' },
      stats_interval: '1s',
      watchdog: { interval: '500ms' },
      evaluator: { period: '1s', settle: '200ms' },
      log_level: 'silent',
    }));
    const collector = await startCollector(loadCollectorConfig(file), { configFile: file, log: silentLogger() });
    cleanups.push(() => collector.stop());
    for (const s of stations) {
      const f = join(dir, `${s}.yaml`);
      writeFileSync(f, YAML.stringify({
        station: s, interval: '1s', log_level: 'silent',
        broker: { url: broker.url, ca: c.caCert, cert: c.clientCert(s), key: c.clientKey(s) },
        outbox: { path: join(dir, 'outbox', s) },
        targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: target.port, count: 1 }],
      }));
      const a = startAgent(loadAgentConfig(f), { configFile: f, log: silentLogger() });
      cleanups.push(() => a.stop());
    }
    const client = new InfluxDB({ host: '127.0.0.1', port: influx.port, database: 'linkwatch' });
    const health = await eventually('every station judged unheard because of the pipeline', async () => {
      const rows = (await client.query(`SELECT last("cause") AS cause FROM "health" WHERE time > now() - 5s GROUP BY "station"`)) as unknown as Array<{ station: string; cause: string }>;
      return rows.length === stations.length && rows.every((r) => r.cause === 'pipeline') ? rows : undefined;
    }, 40_000);
    expect(health).toHaveLength(4);
    // Subscribing again is refused the same way, so it goes on to reconnect, and keeps trying.
    expect(collector.watchdog.stats.resubscribes).toBe(1);
    await eventually('the watchdog reconnects', () => collector.watchdog.stats.reconnects > 0, 20_000);
    const h = await get(collector.http.port()!, '/healthz');
    expect(h.status).toBe(503);
    expect(JSON.parse(h.text)).toMatchObject({ pipeline: 'deaf' });

    const json = runCli(['status', '--config', file, '--json']);
    expect(await json.exited).toBe(1);
    const report = JSON.parse(json.output()) as { pipeline: { down: boolean; stations: number }; incidents: Array<{ cause: string; stations: number }> };
    expect(report.pipeline).toEqual({ down: true, stations: 4 });
    expect(report.incidents).toEqual([expect.objectContaining({ cause: 'pipeline', stations: 4 })]);
    const text = runCli(['status', '--config', file]);
    expect(await text.exited).toBe(1);
    expect(text.output()).toMatch(/^PIPELINE DOWN since .*: no collector hears the broker, so 4 of 4 stations are unheard\./);
    // The stations are not listed one by one as outages.
    for (const s of stations) expect(text.output()).not.toContain(s);
  });
});
