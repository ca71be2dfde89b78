/**
 * Shared parts of the benchmarks: realistic reports, a registry, reading another process's CPU and memory from
 * /proc, and small statistics. Benchmarks print figures; they assert nothing about time.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadCollectorConfig, startCollector, type RunningCollector } from '../collector/main.js';
import { startInflux, startMosquitto, type LocalServer } from '../deploy/local-servers.js';
import { silentLogger } from '../lib/log.js';
import { report as reportSchema, type Report } from '../protocol/report.js';

/** A deterministic PRNG (mulberry32), so every run sends the same reports. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

export const DISTRICTS = ['cho-moi', 'cho-don', 'ba-be', 'na-ri', 'pac-nam', 'ngan-son', 'bach-thong', 'thanh-pho-bac-kan'];
export const ISPS = ['vnpt', 'viettel', 'fpt', 'mobifone'];

export function stationIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `bk-${DISTRICTS[i % DISTRICTS.length]}-xa-${String(i).padStart(5, '0')}`);
}

/** A registry CSV for the given station ids; returns its path. */
export function writeRegistry(file: string, ids: readonly string[]): string {
  const rows = ids.map((id, i) => `${id},Xã ${i},Xã ${i},${DISTRICTS[i % DISTRICTS.length]},Bắc Kạn,22.1,105.8,${ISPS[i % ISPS.length]},c-${i},99.5`);
  writeFileSync(file, `id,name,commune,district,province,lat,lon,isp,circuit,sla_target\n${rows.join('\n')}\n`);
  return file;
}

/**
 * One realistic report as the agent builds it: 4 probes (gateway and ISP by ICMP, the VPN hub by TCP, the national
 * service by HTTP with phases), 1 session, 1 backlog source, the host. Checked against the protocol schema.
 */
export function makeReport(station: string, seq: number, ts: number, rnd: () => number): Report {
  const rtt = (base: number) => {
    const avg = base + rnd() * base;
    return { rtt_min_ms: round(avg * 0.8), rtt_avg_ms: round(avg), rtt_max_ms: round(avg * 1.6), rtt_p95_ms: round(avg * 1.5), jitter_ms: round(rnd() * 4) };
  };
  const icmpOk = rnd() > 0.03;
  return reportSchema.parse({
    v: 1,
    station,
    seq,
    ts,
    interval_s: 10,
    probes: [
      { target: 'gw', role: 'gateway', kind: 'icmp', ok: true, sent: 5, received: 5, loss: 0, ...rtt(0.6) },
      icmpOk
        ? { target: 'isp', role: 'isp', kind: 'icmp', ok: true, sent: 5, received: 5, loss: 0, ...rtt(12) }
        : { target: 'isp', role: 'isp', kind: 'icmp', ok: false, sent: 5, received: 3, loss: 0.4, error: 'timeout', ...rtt(40) },
      { target: 'vpn', role: 'core', kind: 'tcp', ok: true, sent: 1, received: 1, loss: 0, ...rtt(25), phases: { connect_ms: round(25 + rnd() * 20) } },
      {
        target: 'dancu', role: 'service', kind: 'http', ok: true, sent: 1, received: 1, loss: 0, status: 200, ...rtt(80),
        phases: { dns_ms: round(rnd() * 5), connect_ms: round(30 + rnd() * 10), tls_ms: round(60 + rnd() * 20), ttfb_ms: round(90 + rnd() * 60) },
      },
    ],
    sessions: [{ name: 'dancu-tls', up: true, drops: 0, down_ms: 0 }],
    backlog: [{ source: 'outbox-dir', pending: Math.floor(rnd() * 5), oldest_age_s: round(rnd() * 120, 1) }],
    host: { cpu_pct: round(rnd() * 40), mem_used_pct: round(40 + rnd() * 30), disk_free_bytes: 51_234_567_890 - seq * 4096, uptime_s: 86_400 + seq * 10, iface: 'eth0', iface_up: true },
    outbox: { depth: 1, dropped: 0 },
    clock: { offset_ms: round(rnd() * 20 - 10, 1) },
  });
}

/** CPU seconds (user + system) of a process, all threads, from /proc/<pid>/stat; or of one of its threads. */
export function cpuSeconds(pid: number, thread?: number): number {
  const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
  // The command name may hold spaces; the fields after it are fixed.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
// USER_HZ is 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)).
const CLOCK_TICKS = 100;

/** VmRSS and VmHWM of a process in MB, from /proc/<pid>/status. */
export function memoryMb(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Busy CPU seconds of the whole machine (all processes), from /proc/stat: how noisy the run was. */
export function machineBusySeconds(): number {
  const a = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return ((a[0] ?? 0) + (a[1] ?? 0) + (a[2] ?? 0) + (a[5] ?? 0) + (a[6] ?? 0) + (a[7] ?? 0)) / CLOCK_TICKS;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `median [min–max]` of a set of runs. */
export function spread(xs: readonly number[], digits = 0): string {
  const f = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return xs.length === 1 ? f(xs[0]!) : `${f(median(xs))} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`;
}

/** `--name value` or `--name=value` from argv, else the default. */
export function arg(name: string, fallback: number): number;
export function arg(name: string, fallback: string): string;
export function arg(name: string, fallback: number | string): number | string {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let v: string | undefined;
    if (a === `--${name}`) v = argv[i + 1];
    else if (a.startsWith(`--${name}=`)) v = a.slice(name.length + 3);
    if (v !== undefined) return typeof fallback === 'number' ? Number(v) : v;
  }
  return fallback;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `done()` or the deadline; returns whether it finished. Bounded: benchmarks stop by themselves. */
export async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await sleep(stepMs);
  }
  return done();
}

export function machineLine(): string {
  const cpus = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/gm) ?? [];
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return `${cpus.length} × ${(cpus[0] ?? '').replace(/^model name\s*:\s*/, '')}; node ${process.version}; load average before: ${load}`;
}

/** A TCP proxy on loopback that counts the bytes and writes (≈ segments) each way: what goes on the wire. */
export interface CountingProxy {
  readonly port: number;
  readonly up: { bytes: number; writes: number };
  readonly down: { bytes: number; writes: number };
  reset(): void;
  /** Refuses and cuts connections while offline, as a dead uplink would. */
  setOnline(online: boolean): void;
  close(): Promise<void>;
}

export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  const { createServer, connect } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  let online = true;
  const up = { bytes: 0, writes: 0 };
  const down = { bytes: 0, writes: 0 };
  const server = createServer((client) => {
    if (!online) return void client.destroy();
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (d: Buffer) => {
      up.bytes += d.length;
      up.writes++;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      down.bytes += d.length;
      down.writes++;
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    port,
    up,
    down,
    reset() {
      up.bytes = up.writes = down.bytes = down.writes = 0;
    },
    setOnline(v) {
      online = v;
      if (!v) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** utime+stime of a process and of its reaped children (an agent's pings), seconds, from /proc/<pid>/stat. */
export function cpuWithChildren(pid: number): { self: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { self: cpuSeconds(pid), children: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS };
}

/** The footprint benchmarks' rig: a station's targets, and mosquitto, InfluxDB and a collector its agents report to. */
export interface FootprintStation {
  collector: RunningCollector;
  /** Writes the config of an agent as `station` reporting every `intervalS`, and returns its path. */
  agentConfig(station: string, intervalS: number): string;
  /** Stops the collector, the targets and the servers (the agents first: `stopChildren`). */
  close(): Promise<void>;
}

/**
 * A station's worth of local targets under `dir`: a TCP port that accepts and closes, one that holds its sessions,
 * an HTTP server answering 200, and a backlog folder of 5 files; the agents ping 127.0.0.1 twice (gateway, ISP). With
 * real mosquitto and InfluxDB, and a collector that knows `stations`.
 */
export async function startFootprintStation(dir: string, stations: string[]): Promise<FootprintStation> {
  const servers: Server[] = [];
  const held = new Set<Socket>();
  let broker: LocalServer | undefined;
  let influx: LocalServer | undefined;
  let collector: RunningCollector | undefined;
  const close = async () => {
    await collector?.stop();
    for (const s of held) s.destroy();
    for (const s of servers) s.close();
    await Promise.all([broker?.stop(), influx?.stop()]);
  };
  const listen = (server: Server) => {
    servers.push(server);
    return new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
  };
  try {
    [broker, influx] = await Promise.all([startMosquitto({ dir: join(dir, 'mosquitto'), persistence: false }), startInflux({ dir: join(dir, 'influxdb') })]);
    const brokerUrl = broker.url;
    const tcpPort = await listen(createServer((s) => (s.on('error', () => {}), s.end())));
    const sessionPort = await listen(createServer((s) => (held.add(s), s.on('error', () => {}), s.on('close', () => held.delete(s)))));
    const httpPort = await listen(createHttpServer((_, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')));
    const backlogDir = join(dir, 'backlog');
    mkdirSync(backlogDir);
    for (let i = 0; i < 5; i++) writeFileSync(join(backlogDir, `HS_${i}.xml`), '<hs/>');
    collector = await startBenchCollector({ dir, brokerUrl, influxUrl: influx.url, stations });
    return {
      collector,
      agentConfig(station, intervalS) {
        const file = join(dir, `agent-${station}.yaml`);
        writeFileSync(file, YAML.stringify({
          station,
          interval: `${intervalS}s`,
          broker: { url: brokerUrl, username: station },
          outbox: { path: join(dir, `outbox-${station}`) },
          targets: [
            { name: 'gw', role: 'gateway', kind: 'icmp', host: '127.0.0.1' },
            { name: 'isp', role: 'isp', kind: 'icmp', host: '127.0.0.1' },
            { name: 'vpn', role: 'core', kind: 'tcp', host: '127.0.0.1', port: tcpPort },
            { name: 'dancu', role: 'service', kind: 'http', url: `http://127.0.0.1:${httpPort}/health` },
          ],
          sessions: [{ name: 'dancu-tls', kind: 'tcp', host: '127.0.0.1', port: sessionPort }],
          backlog: [{ name: 'outbox-dir', kind: 'dir', path: backlogDir }],
          log_level: 'warn',
        }));
        return file;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Stops child processes this benchmark started, by PID: SIGTERM, then SIGKILL after 10 s. */
export async function stopChildren(children: Iterable<ChildProcess>): Promise<void> {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGTERM');
    await new Promise<void>((r) => {
      const t = setTimeout(() => (c.kill('SIGKILL'), r()), 10_000);
      c.once('exit', () => (clearTimeout(t), r()));
    });
  }
}

/** Runs a benchmark, then its cleanup, also when interrupted (Ctrl-C, SIGTERM): no server outlives it. */
export function runBench(main: () => Promise<void>, cleanup: () => Promise<void>): void {
  let cleaning: Promise<void> | undefined;
  const clean = () => (cleaning ??= cleanup().catch((err) => console.error('cleanup failed', err)));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void clean().finally(() => process.exit(130)));
  main()
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(clean);
}

/** The real collector, in-process, for a benchmark's stations; no evaluator (the benchmarks measure the data path). */
export async function startBenchCollector(opts: {
  dir: string;
  brokerUrl: string;
  influxUrl: string;
  stations: readonly string[];
  flushInterval?: string;
}): Promise<RunningCollector> {
  const registryFile = writeRegistry(join(opts.dir, 'stations.csv'), opts.stations);
  const collectorFile = join(opts.dir, 'collector.yaml');
  writeFileSync(
    collectorFile,
    YAML.stringify({
      broker: { url: opts.brokerUrl, client_id: 'collector-bench', shared: false },
      influx: { url: opts.influxUrl, database: 'linkwatch', ...(opts.flushInterval ? { flush_interval: opts.flushInterval } : {}) },
      stations: registryFile,
      dead_letter: { path: join(opts.dir, 'dead-letter') },
      log_level: 'silent',
      evaluator: { enabled: false },
    }),
  );
  return startCollector(loadCollectorConfig(collectorFile), { configFile: collectorFile, log: silentLogger() });
}
