/**
 * The do-it-yourself peer of the collector: a Node-RED flow that takes the same reports from mosquitto and writes
 * them to InfluxDB, joining 625 reports (5,000 points) per write. Node-RED comes from the npm registry at bench time,
 * installed once into a cache directory, and runs as its own process with a flow file, like an operator would run it.
 *
 *   mqtt in (MQTT 5, QoS 1, persistent session) → function (inflate with the v1 dictionary, JSON, line protocol,
 *   registry tags) → join (625 messages or 1 s) → http request (POST /write, keep-alive)
 *
 * It validates nothing beyond JSON, acknowledges nothing to the agents, and writes numbers as floats: it is the
 * cheapest flow that stores the same points, which is what the collector is set beside.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DICTIONARY_V1 } from '../protocol/codec.js';

export const NODE_RED_VERSION = '4.1.8';
/** Reports per InfluxDB write in the batched flow (5,000 points at 8 points a report). */
export const NODE_RED_JOIN = 625;

/** Installs Node-RED (once) into a cache directory; returns the path of its `red.js`. */
export function installNodeRed(): string {
  const dir = process.env.LINKWATCH_BENCH_NODE_RED_DIR ?? join(tmpdir(), `linkwatch-bench-node-red-${NODE_RED_VERSION}`);
  const red = join(dir, 'node_modules', 'node-red', 'red.js');
  if (existsSync(red)) return red;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'linkwatch-bench-node-red', private: true }));
  console.log(`installing node-red@${NODE_RED_VERSION} into ${dir} (once)`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `node-red@${NODE_RED_VERSION}`], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(red)) throw new Error(`npm install node-red@${NODE_RED_VERSION} failed (exit ${r.status})`);
  return red;
}

// The function node: what a careful do-it-yourself flow does per message. `global` holds zlib, the dictionary and
// the registry (settings.js functionGlobalContext).
const FUNCTION = String.raw`
const zlib = global.get('zlib');
const buf = msg.payload;
let text;
try {
  text = buf[0] === 0x78 ? zlib.inflateSync(buf, { dictionary: global.get('dict') }).toString('utf8') : buf.toString('utf8');
} catch (e) { node.warn('cannot inflate'); return null; }
let reports;
try { reports = JSON.parse(text); } catch (e) { node.warn('not JSON'); return null; }
if (!Array.isArray(reports)) reports = [reports];
const esc = (s) => String(s).replace(/[ ,=]/g, '\\$&');
const station = msg.topic.split('/')[2];
const reg = global.get('stations')[station];
if (!reg) { node.warn('unknown station'); return null; }
const tags = ',station=' + esc(station) + ',district=' + esc(reg.district) + ',province=' + esc(reg.province) + ',isp=' + esc(reg.isp);
const fields = (o) => {
  const out = [];
  for (const k of Object.keys(o).sort()) {
    const v = o[k];
    if (v === undefined || v === null || typeof v === 'object') continue;
    out.push(k + '=' + (typeof v === 'string' ? '"' + v.replace(/["\\]/g, '\\$&') + '"' : typeof v === 'boolean' ? (v ? 'T' : 'F') : v));
  }
  return out.join(',');
};
const lines = [];
const now = Date.now();
for (const r of reports) {
  const ts = ' ' + r.ts;
  for (const p of r.probes) lines.push('probe' + tags + ',target=' + esc(p.target) + ',role=' + p.role + ',kind=' + p.kind + ' ' + fields(Object.assign({}, p, p.phases || {})) + ts);
  for (const s of r.sessions || []) lines.push('session' + tags + ',session=' + esc(s.name) + ' ' + fields(s) + ts);
  for (const b of r.backlog || []) lines.push('backlog' + tags + ',source=' + esc(b.source) + ' ' + fields(b) + ts);
  if (r.host) lines.push('host' + tags + ' ' + fields(r.host) + ts);
  lines.push('report' + tags + ' ' + fields({ seq: r.seq, delay_ms: now - r.ts, outbox_depth: r.outbox.depth, outbox_dropped: r.outbox.dropped, interval_s: r.interval_s, clock_offset_ms: r.clock.offset_ms }) + ts);
}
msg.payload = lines.join('\n');
return msg;
`;

const CHECK = String.raw`
if (msg.statusCode !== 204) node.warn('InfluxDB answered ' + msg.statusCode + ': ' + msg.payload);
return null;
`;

export interface NodeRedFlow {
  brokerPort: number;
  clientId: string;
  influxUrl: string;
  database: string;
  /** Station id → registry tags. */
  stations: Record<string, { district: string; province: string; isp: string }>;
}

/** Writes settings.js and flows.json for one run into `dir`; returns the settings file. */
export function writeNodeRedFlow(dir: string, flow: NodeRedFlow, uiPort: number): string {
  mkdirSync(dir, { recursive: true });
  const flows = [
    { id: 'tab', type: 'tab', label: 'linkwatch' },
    {
      id: 'broker', type: 'mqtt-broker', name: 'mosquitto', broker: '127.0.0.1', port: String(flow.brokerPort), clientid: flow.clientId,
      autoConnect: true, usetls: false, protocolVersion: '5', keepalive: '60', cleansession: false, autoUnsubscribe: false,
      sessionExpiry: '3600', birthTopic: '', closeTopic: '', willTopic: '', userProps: '', birthMsg: {}, closeMsg: {}, willMsg: {},
    },
    { id: 'in', type: 'mqtt in', z: 'tab', name: 'reports', topic: 'linkwatch/v1/+/report', qos: '1', datatype: 'buffer', broker: 'broker', nl: false, rap: true, rh: 0, inputs: 0, x: 100, y: 100, wires: [['fn']] },
    { id: 'fn', type: 'function', z: 'tab', name: 'to line protocol', func: FUNCTION, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 300, y: 100, wires: [['join']] },
    {
      id: 'join', type: 'join', z: 'tab', name: `${NODE_RED_JOIN} reports`, mode: 'custom', build: 'string', property: 'payload', propertyType: 'msg', key: 'topic',
      joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '1', count: String(NODE_RED_JOIN), reduceRight: false, reduceExp: '', reduceInit: '',
      reduceInitType: '', reduceFixup: '', x: 500, y: 100, wires: [['http']],
    },
    {
      id: 'http', type: 'http request', z: 'tab', name: 'InfluxDB /write', method: 'POST', ret: 'txt', paytoqs: 'ignore',
      url: `${flow.influxUrl}/write?db=${flow.database}&precision=ms`, tls: '', persist: true, proxy: '', insecureHTTPParser: false,
      authType: '', senderr: false, headers: [], x: 700, y: 100, wires: [['check']],
    },
    { id: 'check', type: 'function', z: 'tab', name: 'check', func: CHECK, outputs: 0, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 900, y: 100, wires: [] },
  ];
  writeFileSync(join(dir, 'flows.json'), JSON.stringify(flows, null, 1));
  const settings = join(dir, 'settings.js');
  writeFileSync(
    settings,
    `module.exports = {
  uiPort: ${uiPort},
  uiHost: '127.0.0.1',
  userDir: ${JSON.stringify(dir)},
  flowFile: 'flows.json',
  credentialSecret: false,
  httpAdminRoot: false,
  httpNodeRoot: false,
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  logging: { console: { level: 'info', metrics: false, audit: false } },
  functionGlobalContext: {
    zlib: require('zlib'),
    dict: Buffer.from(${JSON.stringify(DICTIONARY_V1.toString('base64'))}, 'base64'),
    stations: ${JSON.stringify(flow.stations)},
  },
};
`,
  );
  return settings;
}

/** Starts Node-RED with a settings file; stdout is piped so the caller can wait for "Connected to broker". */
export function startNodeRed(red: string, settings: string, userDir: string): ChildProcess {
  return spawn(process.execPath, [red, '--settings', settings, '--userDir', userDir], { stdio: ['ignore', 'pipe', 'pipe'] });
}
