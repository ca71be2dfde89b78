import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InfluxDB, type IPoint } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeTag, packageSchema, pointToLine, quoteString, type Point } from '../../collector/influx.js';
import { reportToLines, reportToPoints } from '../../collector/points.js';
import type { Station } from '../../collector/registry.js';
import { report, type ReportInput } from '../../protocol/report.js';

const station: Station = {
  id: 'bk-cho-moi-yen-dinh', name: 'Yên Định', commune: 'Yên Định', district: 'Chợ Mới', province: 'Bắc Kạn',
  lat: 22.1, lon: 105.8, isp: 'vnpt hn,1=a', circuit: 'c1', sla_target: 99.5, sla_class: 'default',
};

const full: ReportInput = {
  v: 1, station: station.id, seq: 42, ts: 1_795_295_538_123, interval_s: 10,
  probes: [
    { target: 'gw', role: 'gateway', kind: 'icmp', ok: true, sent: 5, received: 5, loss: 0, rtt_min_ms: 0.41, rtt_avg_ms: 0.6, rtt_max_ms: 1.2, rtt_p95_ms: 1.1, jitter_ms: 0.05 },
    { target: 'isp', role: 'isp', kind: 'icmp', ok: false, sent: 5, received: 0, loss: 1, error: 'timeout' },
    { target: 'dancu', role: 'service', kind: 'http', ok: true, sent: 1, received: 1, loss: 0, status: 200, rtt_avg_ms: 181.25, phases: { dns_ms: 1.5, connect_ms: 30, tls_ms: 61.2, ttfb_ms: 120.7 }, cert_days: 88.5 },
  ],
  sessions: [{ name: 'dancu-tls', up: false, drops: 3, down_ms: 12_000 }],
  backlog: [{ source: 'queue-api', pending: 7, oldest_age_s: 12.5 }, { source: 'outbox-dir', bytes: 1024, error: 'cannot read "D:\\dancu\\outbox"' }],
  host: { cpu_pct: 12.5, mem_used_pct: 61, disk_free_bytes: 51_234_567_890, uptime_s: 86_400.5, iface: 'Ethernet 2', iface_up: true },
  outbox: { depth: 3, dropped: 1 },
  clock: { offset_ms: -4.5 },
};
const minimal: ReportInput = { v: 1, station: station.id, seq: 0, ts: 1_795_295_538_000, interval_s: 10, probes: [] };

// What the collector wrote for these two reports before the table of collector/influx.ts (commit 92ba7af, where a
// test proved them equal to the influx package's own bytes): stored data must not change its shape. Since issue 13 the
// report point also has the evaluator's `cycle` field (collector/cycle-field.ts); every other byte is as before.
const BEFORE = {
  full: [
    "probe,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a,target=gw,role=gateway,kind=icmp jitter_ms=0.05,loss=0,ok=T,received=5i,rtt_avg_ms=0.6,rtt_max_ms=1.2,rtt_min_ms=0.41,rtt_p95_ms=1.1,sent=5i 1795295538123",
    "probe,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a,target=isp,role=isp,kind=icmp error=\"timeout\",loss=1,ok=F,received=0i,sent=5i 1795295538123",
    "probe,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a,target=dancu,role=service,kind=http cert_days=88.5,connect_ms=30,dns_ms=1.5,loss=0,ok=T,received=1i,rtt_avg_ms=181.25,sent=1i,status=200i,tls_ms=61.2,ttfb_ms=120.7 1795295538123",
    "session,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a,session=dancu-tls down_ms=12000i,drops=3i,up=F 1795295538123",
    "backlog,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a,source=queue-api oldest_age_s=12.5,pending=7i 1795295538123",
    "backlog,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a,source=outbox-dir bytes=1024i,error=\"cannot read \\\"D:\\\\dancu\\\\outbox\\\"\" 1795295538123",
    "host,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a cpu_pct=12.5,disk_free_bytes=51234567890i,iface=\"Ethernet 2\",iface_up=T,mem_used_pct=61,uptime_s=86400.5 1795295538123",
    "report,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a clock_offset_ms=-4.5,cycle=\"1;10;-4.5;gateway,gw,1,0,0.6,0.05|isp,isp,0,1,,|service,dancu,1,0,181.25,;dancu-tls,0,3;queue-api,7,12.5\",delay_ms=2500i,interval_s=10,outbox_depth=3i,outbox_dropped=1i,seq=42i 1795295538123",
  ].join('\n'),
  minimal: "report,station=bk-cho-moi-yen-dinh,district=Ch\u1ee3\\ M\u1edbi,province=B\u1eafc\\ K\u1ea1n,isp=vnpt\\ hn\\,1\\=a cycle=\"1;10;;;;\",delay_ms=2500i,interval_s=10,outbox_depth=0i,outbox_dropped=0i,seq=0i 1795295538000",
};

// The influx package's own writePoints, POSTing to this in-process server: the reference bytes.
let bodies: string[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.on('end', () => {
    bodies.push(body);
    res.writeHead(204).end();
  });
});
beforeAll(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)));
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** What the influx package itself sends for these points, with the table's field types. */
async function packageBody(points: Array<IPoint | Point>): Promise<string> {
  const client = new InfluxDB({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, database: 'linkwatch', schema: packageSchema('linkwatch') });
  bodies = [];
  await client.writePoints(points as IPoint[], { precision: 'ms' });
  return bodies.join('\n');
}

describe('line protocol from the table', () => {
  it.each([
    ['a full report', full, BEFORE.full],
    ['a report with no probes and no host', minimal, BEFORE.minimal],
  ])('writes the same bytes as before for %s', (_, input, before) => {
    const r = report.parse(input);
    const { lines, points } = reportToLines(r, station, r.ts + 2500);
    expect(lines).toBe(before);
    expect(points).toBe(before.split('\n').length);
  });

  it.each([
    ['a full report', full],
    ['a report with no probes and no host', minimal],
  ])('matches what the influx package writes for the points of %s', async (_, input) => {
    const r = report.parse(input);
    const storedAt = r.ts + 2500;
    expect(reportToLines(r, station, storedAt).lines).toBe(await packageBody(reportToPoints(r, station, storedAt)));
  });

  it('writes status, event, verdict and counter points like the package does', async () => {
    const points: Point[] = [
      { measurement: 'event', tags: { station: 'a b', type: 'session_drop' }, fields: { name: 'dancu-tls', count: 2, detail: 'say "hi"' }, timestamp: 1_795_295_538_000 },
      { measurement: 'status', tags: { station: 'x', district: 'Chợ Mới' }, fields: { state: 'offline' }, timestamp: 1_795_295_538_001 },
      { measurement: 'health', tags: { station: 'x', district: 'Chợ Mới', province: 'Bắc Kạn', isp: 'vnpt' }, fields: { state: 'down', code: 2, cause: 'lan', since: 1_795_295_000_000, lat: 22.1, name: 'Xã Yên Định', avail: 0 }, timestamp: 1_795_295_540_000 },
      { measurement: 'incident', tags: { scope: 'district', key: 'Chợ Mới' }, fields: { stations: 3, cause: 'uplink', open: true, since: 1_795_295_000_000 }, timestamp: 1_795_295_540_000 },
      { measurement: 'collector', tags: { collector: 'c1' }, fields: { messages: 10, rejected_schema: 2, pending_points: 0 }, timestamp: 1_795_295_540_000 },
    ];
    expect(points.map(pointToLine).join('\n')).toBe(await packageBody(points));
  });

  it('refuses a field the table does not know', () => {
    expect(() => pointToLine({ measurement: 'health', tags: {}, fields: { colour: 'red' }, timestamp: 1 })).toThrow(/not in the table/);
  });

  it.each([
    ['plain', 'plain'],
    ['a b', 'a\\ b'],
    ['k=v,w', 'k\\=v\\,w'],
  ])('escapes the tag %j as %j', (raw, escaped) => expect(escapeTag(raw)).toBe(escaped));

  it.each([
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['C:\\dir', '"C:\\\\dir"'],
  ])('quotes the string field %j as %j', (raw, quoted) => expect(quoteString(raw)).toBe(quoted));
});
