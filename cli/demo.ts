/**
 * `linkwatch demo`: a real broker and InfluxDB on free loopback ports, the real collector, and a simulated province
 * of real agents whose probes hit local targets that the demo breaks in turn. Every few seconds it prints what it
 * reads back from InfluxDB: each station's latest latency, loss and verdict. Ctrl-C stops everything it started.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../agent/config.js';
import { startAgent, type RunningAgent } from '../agent/main.js';
import { collectorConfigSchema } from '../collector/config.js';
import { startCollector, type RunningCollector } from '../collector/main.js';
import { alignColumns, formatStatusTable } from '../collector/verdict/format.js';
import type { Evaluation } from '../collector/evaluator.js';
import { DEPLOY_DIR, startInflux, startMosquitto, type LocalServer } from '../deploy/local-servers.js';
import { silentLogger } from '../lib/log.js';

export interface DemoOptions {
  stations: number;
  dir?: string;
  durationS?: number;
  intervalS?: number;
  /** Resolves when the user asks to stop (Ctrl-C). */
  until: Promise<unknown>;
  out?: (text: string) => void;
}

/**
 * The demo province as it is now: Bắc Kạn became part of Thái Nguyên on 1 July 2025, when district-level units were
 * abolished and communes merged (the new Thái Nguyên has 92 commune-level units). The demo keeps the real names from
 * before the merger: the former districts of Bắc Kạn (deploy/demo/bac-kan-districts.csv) as the registry's optional
 * `area` column, and communes as they were named until 2025.
 */
const DEMO_PROVINCE = 'Thái Nguyên';

/** Real commune names of Bắc Kạn before the 2025 merger, by former district id (deploy/demo/bac-kan-districts.csv). */
const COMMUNES: Record<string, string[]> = {
  'bk-tp-bac-kan': ['Đức Xuân', 'Sông Cầu', 'Nguyễn Thị Minh Khai'],
  'bk-ba-be': ['Chợ Rã', 'Nam Mẫu', 'Khang Ninh', 'Cao Thượng'],
  'bk-bach-thong': ['Phủ Thông', 'Cẩm Giàng', 'Quân Hà'],
  'bk-cho-don': ['Bằng Lũng', 'Ngọc Phái', 'Bản Thi'],
  'bk-cho-moi': ['Yên Định', 'Thanh Mai', 'Nông Hạ'],
  'bk-na-ri': ['Yến Lạc', 'Kim Hỷ', 'Côn Minh'],
  'bk-ngan-son': ['Vân Tùng', 'Bằng Vân', 'Nà Phặc'],
  'bk-pac-nam': ['Bộc Bố', 'Bằng Thành', 'Nhạn Môn'],
};

/** ASCII slug of a Vietnamese name: "Chợ Mới" → "cho-moi". */
export function slug(name: string): string {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

interface District {
  id: string;
  name: string;
  province: string;
  lat: number;
  lon: number;
}

export interface DemoStation {
  id: string;
  name: string;
  commune: string;
  district: District;
  isp: string;
  lat: number;
  lon: number;
}

/** Picks `n` stations spread over the districts, round-robin, with ISPs alternating as in the field. */
export function demoProvince(n: number): DemoStation[] {
  const csv = readFileSync(join(DEPLOY_DIR, 'demo/bac-kan-districts.csv'), 'utf8').trim().split('\n').slice(1);
  const districts: District[] = csv.map((line) => {
    const [id, name, province, lat, lon] = line.split(',');
    return { id: id!, name: name!, province: province!, lat: Number(lat), lon: Number(lon) };
  });
  const out: DemoStation[] = [];
  for (let i = 0; out.length < n; i++) {
    const d = districts[i % districts.length]!;
    const round = Math.floor(i / districts.length);
    const communes = COMMUNES[d.id] ?? [];
    const commune = communes[round % Math.max(1, communes.length)] ?? `${round + 1}`;
    const id = `${d.id}-${slug(commune)}`.slice(0, 63);
    if (out.some((s) => s.id === id)) break;
    // Stations sit a few km around the district centre.
    const angle = (i * 137.5 * Math.PI) / 180;
    out.push({
      id, name: `Công an xã ${commune}`, commune, district: d, isp: round % 3 === 2 ? 'Viettel' : 'VNPT',
      lat: +(d.lat + 0.04 * Math.sin(angle)).toFixed(4), lon: +(d.lon + 0.04 * Math.cos(angle)).toFixed(4),
    });
  }
  return out;
}

/** A local TCP target that can be taken down (connections refused) and brought back on the same port. */
class Switch {
  private server: Server | undefined;
  port = 0;
  async up(): Promise<void> {
    if (this.server) return;
    const s = createServer((c) => c.end());
    await new Promise<void>((r) => s.listen(this.port, '127.0.0.1', r));
    this.port = (s.address() as { port: number }).port;
    this.server = s;
  }
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise((r) => s.close(r));
  }
  get isUp(): boolean {
    return this.server !== undefined;
  }
}

interface Fault {
  title: string;
  apply(): Promise<void>;
  clear(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDemo(opts: DemoOptions): Promise<void> {
  const out = opts.out ?? ((t: string) => process.stdout.write(`${t}\n`));
  const intervalS = opts.intervalS ?? 5;
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'linkwatch-demo-'));
  const stations = demoProvince(Math.max(3, Math.min(opts.stations, 24)));
  const started: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of started.reverse()) await stop().catch(() => {});
  };
  try {
    out(`linkwatch demo: ${stations.length} stations of ${DEMO_PROVINCE} (areas = the former districts of ${stations[0]!.district.province}, communes as named before the 2025 merger), data in ${dir}`);
    const [mqtt, influx] = await Promise.all([startMosquitto({ dir: join(dir, 'mosquitto') }), startInflux({ dir: join(dir, 'influxdb') })]) as [LocalServer, LocalServer];
    started.push(() => mqtt.stop(), () => influx.stop());
    out(`mosquitto ${mqtt.url} (pid ${mqtt.pid()}), influxd ${influx.url} (pid ${influx.pid()})`);

    // The path out of each station: its own gateway, its district's ISP edge, the provincial hub, the national service.
    const gateways = new Map(stations.map((s) => [s.id, new Switch()]));
    const ispEdges = new Map<string, Switch>();
    for (const s of stations) ispEdges.set(`${s.district.id}/${s.isp}`, ispEdges.get(`${s.district.id}/${s.isp}`) ?? new Switch());
    const hub = new Switch();
    for (const sw of [...gateways.values(), ...ispEdges.values(), hub]) await sw.up();
    started.push(async () => {
      for (const sw of [...gateways.values(), ...ispEdges.values(), hub]) await sw.down();
    });
    let serviceDown = false;
    const service: HttpServer = createHttpServer((_req, res) => {
      res.writeHead(serviceDown ? 503 : 200, { 'content-type': 'application/json' });
      res.end(serviceDown ? '{"error":"maintenance"}' : '{"ok":true}');
    });
    await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
    const servicePort = (service.address() as { port: number }).port;
    started.push(() => new Promise((r) => service.close(() => r())));

    const registry = join(dir, 'stations.csv');
    // A registry as made after the reform: no district, the former district as `area`, the province now named.
    writeFileSync(registry, `id,name,commune,province,area,lat,lon,isp,circuit,sla_target\n${stations
      .map((s) => [s.id, s.name, s.commune, DEMO_PROVINCE, s.district.name, s.lat, s.lon, s.isp, `${s.isp}-${s.id.slice(3, 20)}`, 99.5].join(','))
      .join('\n')}\n`);
    const collectorCfg = collectorConfigSchema.parse({
      broker: { url: mqtt.url, client_id: 'demo-collector' },
      influx: { url: influx.url, database: 'linkwatch', flush_interval: '500ms' },
      stations: registry,
      dead_letter: { path: join(dir, 'dead-letter') },
      evaluator: { period: `${intervalS}s`, settle: '1s' },
      // Incidents by the registry's own columns: a former district's ISP edge is one `area` incident.
      verdicts: { incident_scopes: ['area', 'isp', 'province'] },
    });
    let latest: Evaluation | undefined;
    const collector: RunningCollector = await startCollector(collectorCfg, { configFile: 'demo', log: silentLogger(), onEvaluated: (e) => (latest = e) });
    started.push(() => collector.stop());

    const agents = new Map<string, RunningAgent>();
    const backlogDirs = new Map<string, string>();
    const startStation = (s: DemoStation) => {
      const backlogDir = join(dir, 'backlog', s.id);
      mkdirSync(backlogDir, { recursive: true });
      backlogDirs.set(s.id, backlogDir);
      const cfg = agentConfigSchema.parse({
        station: s.id,
        interval: `${intervalS}s`,
        broker: { url: mqtt.url, username: s.id },
        outbox: { path: join(dir, 'outbox', s.id) },
        targets: [
          { name: 'gw', role: 'gateway', kind: 'tcp', host: '127.0.0.1', port: gateways.get(s.id)!.port, count: 2 },
          { name: 'isp', role: 'isp', kind: 'tcp', host: '127.0.0.1', port: ispEdges.get(`${s.district.id}/${s.isp}`)!.port, count: 2 },
          { name: 'vpn', role: 'core', kind: 'tcp', host: '127.0.0.1', port: hub.port, count: 2 },
          { name: 'dancu', role: 'service', kind: 'http', url: `http://127.0.0.1:${servicePort}/health` },
        ],
        backlog: [{ name: 'outbox-dir', kind: 'dir', path: backlogDir }],
        log_level: 'silent',
      });
      agents.set(s.id, startAgent(cfg, { configFile: 'demo', log: silentLogger() }));
    };
    for (const s of stations) startStation(s);
    started.push(async () => {
      for (const a of agents.values()) await a.stop();
    });

    // Faults, played in turn; each is cleared before the next.
    const [a, b, c, d] = [stations[0]!, stations[1]!, stations[2]!, stations[3]!];
    const district = stations[stations.length - 1]!.district;
    const districtSwitches = [...ispEdges.entries()].filter(([k]) => k.startsWith(`${district.id}/`)).map(([, v]) => v);
    let flapping: NodeJS.Timeout | undefined;
    let stuck: NodeJS.Timeout | undefined;
    const faults: Fault[] = [
      { title: 'all links healthy', apply: async () => {}, clear: async () => {} },
      { title: `${a.name} (${a.district.name}): site router down → lan`, apply: () => gateways.get(a.id)!.down(), clear: () => gateways.get(a.id)!.up() },
      {
        title: `${district.name} (area): its ISP edge down → uplink, one area incident`,
        apply: async () => { for (const sw of districtSwitches) await sw.down(); },
        clear: async () => { for (const sw of districtSwitches) await sw.up(); },
      },
      { title: 'national population service answers 503 → service, province-wide', apply: async () => { serviceDown = true; }, clear: async () => { serviceDown = false; } },
      {
        title: `${b.name}: power cut → offline (silent)`,
        apply: async () => { await agents.get(b.id)!.stop(); agents.delete(b.id); },
        clear: async () => startStation(b),
      },
      {
        title: `${c.name}: flapping site link (up/down every ${intervalS} s) → held down, not flapping`,
        apply: async () => {
          flapping = setInterval(() => void (gateways.get(c.id)!.isUp ? gateways.get(c.id)!.down() : gateways.get(c.id)!.up()), intervalS * 1000);
        },
        clear: async () => { clearInterval(flapping); await gateways.get(c.id)!.up(); },
      },
      {
        title: `${d.name}: records stuck waiting to sync → backlog`,
        apply: async () => {
          let n = 0;
          const add = () => {
            const f = join(backlogDirs.get(d.id)!, `HS_${String(n++).padStart(5, '0')}.xml`);
            writeFileSync(f, '<hoso/>');
            const old = (Date.now() - 3 * 3600_000) / 1000; // the oldest waits for hours
            if (n === 1) utimesSync(f, old, old);
          };
          add();
          stuck = setInterval(add, 1000);
        },
        clear: async () => {
          clearInterval(stuck);
          rmSync(backlogDirs.get(d.id)!, { recursive: true, force: true });
          mkdirSync(backlogDirs.get(d.id)!, { recursive: true });
        },
      },
    ];
    started.push(async () => { clearInterval(flapping); clearInterval(stuck); });

    const phaseS = Math.max(30, intervalS * 9);
    const deadline = opts.durationS ? Date.now() + opts.durationS * 1000 : Infinity;
    let stop = false;
    void opts.until.then(() => (stop = true));
    let phase = 0;
    let phaseEnds = Date.now() + phaseS * 1000;
    await faults[0]!.apply();
    while (!stop && Date.now() < deadline) {
      await sleep(intervalS * 1000);
      if (stop) break;
      if (Date.now() >= phaseEnds) {
        await faults[phase]!.clear();
        phase = (phase + 1) % faults.length;
        await faults[phase]!.apply();
        phaseEnds = Date.now() + phaseS * 1000;
      }
      const table = await readBack(collector, stations).catch((err: Error) => `(InfluxDB not readable: ${err.message})`);
      const verdicts = latest
        ? formatStatusTable(latest.verdicts.map((v) => ({ ...v, isp: v.isp, district: v.district || (v.groups?.area ?? '') })), latest.incidents, { now: latest.at })
        : '(first verdicts after a few intervals)';
      if (process.stdout.isTTY && !opts.out) process.stdout.write('\x1b[2J\x1b[H');
      out(`\n== ${new Date().toLocaleTimeString('en-GB')}  fault: ${faults[phase]!.title}\n${table}\n\n${verdicts}`);
    }
  } finally {
    out('stopping: agents, collector, influxd, mosquitto');
    await stopAll();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Each station's latest latency and loss per path role and its verdict, read back from InfluxDB. */
async function readBack(collector: RunningCollector, stations: DemoStation[]): Promise<string> {
  const [probes, health] = (await collector.influx.query([
    `SELECT last(rtt_avg_ms) AS rtt, last(loss) AS loss FROM probe WHERE time > now() - 1m GROUP BY station, role`,
    `SELECT last(state) AS state, last(cause) AS cause FROM health WHERE time > now() - 1m GROUP BY station`,
  ])) as unknown as [Array<{ station: string; role: string; rtt: number | null; loss: number }>, Array<{ station: string; state: string; cause: string }>];
  const cell = (station: string, role: string) => {
    const p = probes.find((r) => r.station === station && r.role === role);
    if (!p) return '-';
    return p.rtt === null || p.loss >= 1 ? `✗ ${Math.round(p.loss * 100)}%` : `${p.rtt.toFixed(1)}ms ${Math.round(p.loss * 100)}%`;
  };
  const rows = stations.map((s) => {
    const h = health.find((r) => r.station === s.id);
    return [s.name, s.district.name, s.isp, cell(s.id, 'gateway'), cell(s.id, 'isp'), cell(s.id, 'core'), cell(s.id, 'service'), h ? `${h.state}${h.cause !== 'none' ? ` (${h.cause})` : ''}` : 'NO DATA'];
  });
  return alignColumns([['STATION', 'DISTRICT', 'ISP', 'GATEWAY', 'ISP EDGE', 'CORE', 'SERVICE', 'VERDICT'], ...rows]).join('\n');
}
