import { InfluxDB, type IPoint } from 'influx';
import { describe, expect, it } from 'vitest';
import { escapeTag, INFLUX_SCHEMA, pointToLine, quoteString, reportToLines, reportToPoints } from '../../collector/points.js';
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

/** What the influx package itself sends for these points (its HTTP pool replaced by a recorder). */
function packageBody(points: IPoint[], schema = true): string {
  const client = new InfluxDB({ database: 'linkwatch', ...(schema ? { schema: INFLUX_SCHEMA.map((s) => ({ ...s, database: 'linkwatch' })) } : {}) });
  let body = '';
  (client as unknown as { _pool: unknown })._pool = { discard: (req: { body: string }) => ((body = req.body), Promise.resolve()) };
  void client.writePoints(points, { precision: 'ms' });
  return body;
}

describe('line protocol built directly', () => {
  it.each([
    ['a full report', full],
    ['a report with no probes and no host', minimal],
  ])('matches what the influx package writes for %s', (_, input) => {
    const r = report.parse(input);
    const storedAt = r.ts + 2500;
    const { lines, points } = reportToLines(r, station, storedAt);
    const expected = packageBody(reportToPoints(r, station, storedAt));
    expect(lines).toBe(expected);
    expect(points).toBe(expected.split('\n').length);
  });

  it('writes status and event points like the package does without a schema', () => {
    const point: IPoint = { measurement: 'event', tags: { station: 'a b', type: 'session_drop' }, fields: { name: 'dancu-tls', count: 2, detail: 'say "hi"' }, timestamp: 1_795_295_538_000 };
    expect(pointToLine(point)).toBe(packageBody([point], false));
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
