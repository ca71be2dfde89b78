/**
 * Test environment: real mosquitto and influxd from deploy/local-servers.ts on free ports in a temp dir, plus
 * config files for collector and agents. Everything started here is stopped by `close()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import YAML from 'yaml';
import { startInflux, startMosquitto, type LocalServer } from '../../deploy/local-servers.js';

export interface TestStation {
  id: string;
  name: string;
  commune: string;
  district: string;
  isp: string;
  lat?: number;
  lon?: number;
  sla_class?: string;
}

export interface TestEnv {
  dir: string;
  mqtt: LocalServer;
  influx: LocalServer;
  database: string;
  client: InfluxDB;
  writeRegistry(stations: TestStation[]): string;
  /** Writes a YAML config under the env dir and returns its path. */
  writeConfig(name: string, config: unknown): string;
  collectorConfig(overrides?: Record<string, unknown>): Record<string, unknown>;
  agentConfig(station: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  query<T = Record<string, unknown>>(q: string): Promise<T[]>;
  close(): Promise<void>;
}

export function tempDir(prefix = 'lw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startEnv(opts: { mqttPersistence?: boolean } = {}): Promise<TestEnv> {
  const dir = tempDir();
  const [mqtt, influx] = await Promise.all([
    startMosquitto({ dir: join(dir, 'mosquitto'), persistence: opts.mqttPersistence ?? true }),
    startInflux({ dir: join(dir, 'influxdb') }),
  ]);
  const database = 'linkwatch';
  const client = new InfluxDB({ host: '127.0.0.1', port: influx.port, database });
  const registryFile = join(dir, 'stations.csv');
  return {
    dir,
    mqtt,
    influx,
    database,
    client,
    writeRegistry(stations) {
      const rows = stations.map((s) =>
        [s.id, s.name, s.commune, s.district, 'Bắc Kạn', s.lat ?? 22.1, s.lon ?? 105.8, s.isp, `${s.isp}-${s.id}`, 99.5, s.sla_class ?? ''].map(csvCell).join(','),
      );
      writeFileSync(registryFile, `id,name,commune,district,province,lat,lon,isp,circuit,sla_target,sla_class\n${rows.join('\n')}\n`);
      return registryFile;
    },
    writeConfig(name, config) {
      const file = join(dir, name);
      writeFileSync(file, YAML.stringify(config));
      return file;
    },
    collectorConfig(overrides = {}) {
      return {
        broker: { url: mqtt.url, client_id: `collector-${Math.random().toString(36).slice(2, 8)}` },
        influx: { url: influx.url, database, flush_interval: '200ms' },
        stations: registryFile,
        dead_letter: { path: join(dir, 'dead-letter') },
        // Tests run side by side: let the OS pick the port of /healthz and /metrics.
        http: { listen: '127.0.0.1:0' },
        log_level: 'silent',
        ...overrides,
      };
    },
    agentConfig(station, overrides = {}) {
      return {
        station,
        interval: '1s',
        broker: { url: mqtt.url, username: station },
        outbox: { path: join(dir, 'outbox', station), ack_timeout: '3s', backfill_rate: 200 },
        log_level: 'silent',
        ...overrides,
      };
    },
    async query<T>(q: string) {
      return (await client.query(q)) as unknown as T[];
    },
    async close() {
      await Promise.all([mqtt.stop(), influx.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function csvCell(v: unknown): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a truthy value or the time runs out (then throws with `what`). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(100);
  }
}

/** A local TCP target that accepts and closes every connection, on a free loopback port. */
export async function startTcpTarget(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
