import { describe, expect, it } from 'vitest';
import { rangeOf, SlaOptionError } from '../../cli/sla.js';
import { influxDuration, retentionStatements } from '../../collector/retention.js';
import { CSV_COLUMNS, formatStatementCsv, formatStatementTable } from '../../collector/sla/format.js';
import { sourceFor, statementQueries } from '../../collector/sla/read.js';
import { buildStatement, type StatementStation } from '../../collector/sla/statement.js';
import { monthRange, nextVnMonth, parseInstant, vnDayStart, vnIso, vnMonthStart } from '../../collector/sla/time.js';
import { displayWidth } from '../../lib/text.js';

const Z = (s: string) => Date.parse(s);

describe('time in Asia/Ho_Chi_Minh', () => {
  it.each([
    ['2026-11', '2026-10-31T17:00:00Z', '2026-11-30T17:00:00Z'],
    ['2026-12', '2026-11-30T17:00:00Z', '2026-12-31T17:00:00Z'],
    ['2024-02', '2024-01-31T17:00:00Z', '2024-02-29T17:00:00Z'],
  ])('month %s runs from %s to %s (UTC)', (month, from, to) => {
    expect(monthRange(month)).toEqual({ from: Z(from), to: Z(to) });
  });

  it.each(['2026-13', '2026-1', 'nov', ''])('"%s" is not a month', (m) => expect(monthRange(m)).toBeUndefined());

  it.each([
    ['2026-11-01', '2026-10-31T17:00:00Z'],
    ['2026-11-01T08:30', '2026-11-01T01:30:00Z'],
    ['2026-11-01T08:30:00+07:00', '2026-11-01T01:30:00Z'],
    ['2026-11-01T01:30:00Z', '2026-11-01T01:30:00Z'],
    ['2026-11-01T03:30:00-0100', '2026-11-01T04:30:00Z'],
  ])('%s is %s', (text, utc) => expect(parseInstant(text)).toBe(Z(utc)));

  it.each(['2026-02-30', '01/11/2026', 'yesterday'])('"%s" is not an instant', (t) => expect(parseInstant(t)).toBeUndefined());

  it('a Vietnamese month starts at 17:00 UTC on the last day of the month before', () => {
    expect(vnMonthStart(Z('2026-11-30T16:59:00Z'))).toBe(Z('2026-10-31T17:00:00Z'));
    expect(vnMonthStart(Z('2026-11-30T17:00:00Z'))).toBe(Z('2026-11-30T17:00:00Z'));
    expect(nextVnMonth(Z('2026-11-30T17:00:00Z'))).toBe(Z('2026-12-31T17:00:00Z'));
  });

  it('a Vietnamese day starts at 17:00 UTC the day before', () => {
    expect(vnDayStart(Z('2026-11-30T16:59:59Z'))).toBe(Z('2026-11-29T17:00:00Z'));
    expect(vnDayStart(Z('2026-11-30T17:00:00Z'))).toBe(Z('2026-11-30T17:00:00Z'));
    expect(vnIso(Z('2026-11-30T17:00:00Z'))).toBe('2026-12-01T00:00:00+07:00');
  });
});

describe('the range of linkwatch sla', () => {
  const now = Z('2026-12-15T05:20:00Z');
  it('widens --from/--to to whole hours', () => {
    expect(rangeOf({ from: '2026-12-01T08:10', to: '2026-12-01T10:05' }, now)).toEqual({ from: Z('2026-12-01T01:00:00Z'), to: Z('2026-12-01T04:00:00Z') });
  });
  it('ends a month still running at the last complete hour', () => {
    expect(rangeOf({ month: '2026-12' }, now)).toEqual({ from: Z('2026-11-30T17:00:00Z'), to: Z('2026-12-15T05:00:00Z') });
  });
  it.each([
    [{ month: '2026-11', from: '2026-11-01' }, /either --month/],
    [{ from: '2026-11-01' }, /--from and --to/],
    [{ month: '11/2026' }, /YYYY-MM/],
    [{ from: '2026-11-02', to: '2026-11-01' }, /empty/],
    [{ month: '2027-01' }, /empty/],
  ])('refuses %j', (o, message) => {
    expect(() => rangeOf(o, now)).toThrow(SlaOptionError);
    expect(() => rangeOf(o, now)).toThrow(message);
  });
  it('reads sla_month for whole Vietnamese months, sla_day for whole days and sla_hour otherwise', () => {
    const m = monthRange('2026-11')!;
    expect(sourceFor(m.from, m.to)).toBe('sla_month');
    expect(sourceFor(m.from, m.to - 86_400_000)).toBe('sla_day');
    expect(sourceFor(m.from + 3_600_000, m.to)).toBe('sla_hour');
    const q = statementQueries({ ...m, isp: "O'Net" });
    expect(q.totals).toContain(`FROM "rollups"."sla_month" WHERE "isp" = 'O\\'Net' AND time >= ${m.from}ms`);
    expect(q.daily).toContain('FROM "rollups"."sla_day"');
  });
});

const STATION: StatementStation = { id: 'bk-cho-moi-yen-dinh', name: 'Công an xã Yên Định', commune: 'Xã Yên Định', district: 'Chợ Mới', province: 'Thái Nguyên', isp: 'VNPT', circuit: 'VNPT-0042', sla_target: 99.5 };
const QUIET: StatementStation = { ...STATION, id: 'bk-quiet', name: 'Công an xã Nam Mẫu', isp: 'Viettel', circuit: 'VT-7' };
const month = monthRange('2026-11')!;
const seg = (startIso: string, minutes: number, continued = false) => ({ start: Z(startIso), end: Z(startIso) + minutes * 60_000, cause: 'uplink' as const, continued });

function statement() {
  return buildStatement({
    ...month, source: 'sla_day', stations: [STATION, QUIET],
    totals: new Map([[STATION.id, { period_s: 2_592_000, available_s: 2_570_000, downtime_s: 8400, maintenance_s: 7200, station_side_s: 3000, other_s: 0, unknown_s: 3400, outages: 2, rtt_p50_ms: 12, rtt_p95_ms: 30 }]]),
    segments: new Map([[STATION.id, [seg('2026-11-03T02:00:00Z', 60), seg('2026-11-10T23:20:00Z', 40), seg('2026-11-11T00:00:00Z', 40, true)]]]),
    daily: new Map([[STATION.id, [{ day: month.from, available_s: 86_400, downtime_s: 0, unknown_s: 0 }]]]),
  });
}

describe('the statement', () => {
  it('computes availability over measured time, MTTR, MTBF, completeness and the SLO verdict', () => {
    const r = statement().rows[0]!;
    expect(r.availability_pct).toBeCloseTo((100 * 2_570_000) / 2_578_400, 4);
    expect(r.slo_met).toBe(true);
    expect(r.outages).toEqual([
      { start: '2026-11-03T09:00:00+07:00', end: '2026-11-03T10:00:00+07:00', duration_s: 3600, cause: 'uplink' },
      { start: '2026-11-11T06:20:00+07:00', end: '2026-11-11T07:40:00+07:00', duration_s: 4800, cause: 'uplink' },
    ]);
    expect(r.mttr_s).toBe(4200);
    expect(r.mtbf_s).toBe(1_285_000);
    expect(r.excluded_s).toEqual({ maintenance: 7200, station_side: 3000, other: 0 });
    expect(r.data_completeness_pct).toBeCloseTo(100 * (1 - 3400 / 2_592_000), 4);
    expect(r.daily).toHaveLength(30);
    expect(r.daily![0]).toEqual({ date: '2026-11-01', availability_pct: 100, data_completeness_pct: 100 });
    expect(r.daily![1]).toEqual({ date: '2026-11-02', availability_pct: null, data_completeness_pct: 0 });
  });

  it('lists a circuit without any rollup as unknown, not as available', () => {
    const r = statement().rows[1]!;
    expect(r).toMatchObject({ availability_pct: null, slo_met: null, unknown_s: 2_592_000, data_completeness_pct: 0, outages: [], mttr_s: null, mtbf_s: null });
  });

  it('has one CSV line per circuit with the JSON figures and the outages', () => {
    const s = statement();
    const [head, first] = formatStatementCsv(s).split('\r\n');
    expect(head).toBe(CSV_COLUMNS.join(','));
    const cells = first!.split(',');
    expect(cells[CSV_COLUMNS.indexOf('name')]).toBe('Công an xã Yên Định');
    expect(Number(cells[CSV_COLUMNS.indexOf('downtime_s')])).toBe(8400);
    expect(first).toContain('"2026-11-03T09:00:00+07:00/2026-11-03T10:00:00+07:00/3600/uplink;2026-11-11T06:20:00+07:00/2026-11-11T07:40:00+07:00/4800/uplink"');
  });

  it('aligns the table by Vietnamese letters, in Vietnamese with a decimal comma', () => {
    const lines = formatStatementTable(statement(), 'vi').split('\n');
    const rows = lines.filter((l) => l.startsWith('bk-') || l.startsWith('Đơn vị'));
    // The provider column starts at the same column on every line, after names with diacritics.
    const at = (l: string, word: string) => displayWidth(l.slice(0, l.indexOf(word)));
    expect([at(rows[0]!, 'Nhà cung cấp'), at(rows[1]!, 'VNPT'), at(rows[2]!, 'Viettel')]).toEqual([42, 42, 42]);
    expect(lines.join('\n')).toContain('99,674 %');
    expect(lines.join('\n')).toContain('Mất kết nối tới biên nhà mạng (uplink)');
  });
});

describe('retention policies', () => {
  const existing = [{ name: 'autogen', duration: '0s', default: true }];
  it('shortens the default policy to the raw retention and creates the rollups policy', () => {
    expect(retentionStatements('linkwatch', existing, 90 * 86_400_000, 1830 * 86_400_000)).toEqual([
      'ALTER RETENTION POLICY "autogen" ON "linkwatch" DURATION 2160h',
      'CREATE RETENTION POLICY "rollups" ON "linkwatch" DURATION 43920h REPLICATION 1 SHARD DURATION 2160h',
    ]);
  });
  it('does nothing when the policies are as configured (idempotent)', () => {
    expect(retentionStatements('linkwatch', [{ name: 'autogen', duration: '2160h0m0s', default: true }, { name: 'rollups', duration: '43920h0m0s', default: false }], 90 * 86_400_000, 1830 * 86_400_000)).toEqual([]);
  });
  it('keeps raw points forever with 0', () => {
    expect(influxDuration(0)).toBe('INF');
    expect(retentionStatements('linkwatch', existing, 0, 1830 * 86_400_000)).toHaveLength(1);
  });
});
