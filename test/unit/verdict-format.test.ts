import { describe, expect, it } from 'vitest';
import { displayWidth, formatAge, formatStatusTable, sortStatusRows, type StatusRow } from '../../collector/verdict/format.js';

const NOW = Date.parse('2025-06-01T10:00:00Z');
const row = (station: string, state: StatusRow['state'], sinceMin: number, extra: Partial<StatusRow> = {}): StatusRow => ({
  station, commune: 'Yên Định', district: 'Chợ Mới', isp: 'VNPT', state, cause: 'lan', since: NOW - sinceMin * 60_000, last_seen: NOW - 10_000, loss: 1, ...extra,
});

describe('status table', () => {
  it('lists stations not ok, most severe first, then longest first', () => {
    const rows = [row('a', 'degraded', 50), row('b', 'ok', 0), row('c', 'down', 5), row('d', 'offline', 1), row('e', 'down', 30), row('f', 'maintenance', 90)];
    expect(sortStatusRows(rows).map((r) => r.station)).toEqual(['d', 'e', 'c', 'a', 'f']);
  });

  it('aligns columns by code points, whatever normalisation the names came in', () => {
    const text = formatStatusTable(
      [row('bk-1', 'down', 5, { commune: 'Yên Định'.normalize('NFD'), district: 'Chợ Mới' }), row('bk-22', 'down', 6, { commune: 'Nam Mẫu', district: 'Ba Bể', rtt_ms: 41.6 })],
      [],
      { now: NOW, timeZone: 'Asia/Ho_Chi_Minh' },
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('2 of 2 stations not ok');
    const cells = lines.slice(1).map((l) => [...l]);
    const col = (cs: string[], word: string) => cs.findIndex((_, i) => cs.slice(i, i + [...word].length).join('') === word);
    const [header, ...body] = cells;
    for (const [title, values] of [['DISTRICT', ['Chợ Mới', 'Ba Bể']], ['STATE', ['down', 'down']], ['LOSS', ['100%', '100%']]] as const) {
      const at = col(header!, title);
      expect(at).toBeGreaterThan(0);
      expect(body.map((cs, i) => col(cs, values[i === 0 ? 1 : 0]!))).toEqual([at, at]);
    }
    expect(text).toContain('Yên Định'.normalize('NFC'));
    expect(text).toContain('16:54 (6m00s)');
    expect(text).toContain('42 ms');
    expect(text).toContain('100%');
  });

  it('shows stations unheard because no collector hears the broker as one pipeline fault, not as station outages', () => {
    const rows = [
      row('a', 'offline', 3, { cause: 'pipeline' }), row('b', 'offline', 3, { cause: 'pipeline' }), row('c', 'offline', 2, { cause: 'pipeline' }),
      row('d', 'down', 10, { cause: 'lan' }), row('e', 'ok', 0),
    ];
    const lines = formatStatusTable(rows, [], { now: NOW, timeZone: 'Asia/Ho_Chi_Minh' }).split('\n');
    expect(lines[0]).toBe('PIPELINE DOWN since 16:57 (3m00s): no collector hears the broker, so 3 of 5 stations are unheard.');
    expect(lines).toContain('1 of 5 stations not ok');
    expect(lines.filter((l) => /^[abc] /.test(l))).toEqual([]);
    expect(lines.some((l) => l.startsWith('d '))).toBe(true);
    const all = formatStatusTable([row('a', 'offline', 3, { cause: 'pipeline' }), row('e', 'ok', 0)], [], { now: NOW, timeZone: 'Asia/Ho_Chi_Minh' }).split('\n');
    expect(all.at(-1)).toBe('The other 1 stations ok.');
  });

  it('says when all stations are ok, and lists open incidents after the stations', () => {
    expect(formatStatusTable([row('a', 'ok', 1)], [], { now: NOW })).toBe('All 1 stations ok.');
    const text = formatStatusTable([row('a', 'down', 1)], [
      { scope: 'district', key: 'Chợ Mới', cause: 'uplink', stations: 6, open: true, since: NOW - 120_000, members: [] },
      { scope: 'district', key: 'Ba Bể', cause: 'lan', stations: 0, open: false, since: NOW, members: [] },
    ], { now: NOW, timeZone: 'UTC' });
    expect(text).toMatch(/1 open incident\nSCOPE +KEY +CAUSE +STATIONS +SINCE\ndistrict +Chợ Mới +uplink +6 +09:58 \(2m00s\)$/);
  });

  it.each<[number, string]>([[35_000, '35s'], [250_000, '4m10s'], [7_500_000, '2h05m'], [3 * 86_400_000, '3d00h']])('formats %i ms as %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });

  it('counts a Vietnamese letter as one column in either normal form', () => {
    expect(displayWidth('Bạch Thông'.normalize('NFD'))).toBe(10);
  });
});

describe('status table from an evaluation (what the demo prints)', () => {
  it('takes the evaluator\'s verdicts as they are', async () => {
    const { Evaluator } = await import('../../collector/evaluator.js');
    type Verdicts = Awaited<ReturnType<InstanceType<typeof Evaluator>['evaluate']>>['verdicts'];
    const verdicts: Verdicts = [
      { station: 'bk-1', name: 'Công an xã Nam Mẫu', commune: 'Nam Mẫu', district: 'Ba Bể', isp: 'Viettel', province: 'Bắc Kạn', state: 'offline', cause: 'silent', since: NOW - 60_000, outage_start: true },
      { station: 'bk-2', name: 'x', commune: 'Yên Định', district: 'Chợ Mới', isp: 'VNPT', province: 'Bắc Kạn', state: 'ok', cause: 'none', since: NOW, outage_start: false },
    ];
    expect(formatStatusTable(verdicts, [], { now: NOW, timeZone: 'UTC' }).split('\n')[2]).toMatch(/^bk-1 +Nam Mẫu +Ba Bể +Viettel +offline +silent +09:59 \(1m00s\) +never +- +-$/);
  });
});
