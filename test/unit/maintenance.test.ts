import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MaintenanceError, MaintenanceFile, openWindow, parseMaintenance } from '../../collector/maintenance.js';
import { silentLogger } from '../../lib/log.js';

const FILE = `
windows:
  - station: bk-cho-moi-yen-dinh
    start: 2025-06-01T22:00:00+07:00
    end: 2025-06-02T02:00:00+07:00
    reason: thay router
  - district: Chợ Mới
    isp: VNPT
    start: 2025-06-03T01:00:00+07:00
    end: 2025-06-03T03:00:00+07:00
  - isp: Viettel
    start: 2025-06-04T00:00:00Z
    end: 2025-06-04T01:00:00Z
`;

const yenDinh = { id: 'bk-cho-moi-yen-dinh', district: 'Chợ Mới', isp: 'VNPT', province: 'Bắc Kạn' };
const thanhMai = { id: 'bk-cho-moi-thanh-mai', district: 'Chợ Mới', isp: 'Viettel', province: 'Bắc Kạn' };
const t = (iso: string) => Date.parse(iso);

describe('maintenance windows', () => {
  const windows = parseMaintenance(FILE);

  it.each<[string, typeof yenDinh, string, boolean]>([
    ['a station window, inside', yenDinh, '2025-06-01T23:00:00+07:00', true],
    ['a station window, at its start', yenDinh, '2025-06-01T22:00:00+07:00', true],
    ['a station window, at its end (exclusive)', yenDinh, '2025-06-02T02:00:00+07:00', false],
    ['another station, same time', thanhMai, '2025-06-01T23:00:00+07:00', false],
    ['district and ISP both match', yenDinh, '2025-06-03T02:00:00+07:00', true],
    ['district matches, ISP does not', thanhMai, '2025-06-03T02:00:00+07:00', false],
    ['an ISP-wide window', thanhMai, '2025-06-04T00:30:00Z', true],
    ['the ISP-wide window, other ISP', yenDinh, '2025-06-04T00:30:00Z', false],
  ])('%s', (_, station, at, open) => {
    expect(openWindow(windows, station, t(at)) !== undefined).toBe(open);
  });

  it('compares names in NFC whatever the file was saved in', () => {
    const nfd = parseMaintenance(`windows: [{ district: "${'Chợ Mới'.normalize('NFD')}", start: 2025-01-01T00:00:00Z, end: 2025-01-02T00:00:00Z }]`);
    expect(openWindow(nfd, yenDinh, t('2025-01-01T12:00:00Z'))).toBeDefined();
  });

  it.each<[string, string, RegExp]>([
    ['no selector', 'windows: [{ start: 2025-01-01T00:00:00Z, end: 2025-01-02T00:00:00Z }]', /at least one of station/],
    ['end before start', 'windows: [{ station: a, start: 2025-01-02T00:00:00Z, end: 2025-01-01T00:00:00Z }]', /windows\[0\]\.end: end must be after start/],
    ['no UTC offset', 'windows: [{ station: a, start: "2025-01-01 22:00", end: 2025-01-02T00:00:00Z }]', /UTC offset/],
    ['an unknown key', 'windows: [{ station: a, commune: b, start: 2025-01-01T00:00:00Z, end: 2025-01-02T00:00:00Z }]', /commune|Unrecognized/],
    ['not YAML', 'windows: [', /not valid YAML/],
  ])('refuses %s, naming the problem', (_, text, message) => {
    expect(() => parseMaintenance(text, 'm.yaml')).toThrow(MaintenanceError);
    expect(() => parseMaintenance(text, 'm.yaml')).toThrow(message);
  });

  it('an empty file has no windows', () => {
    expect(parseMaintenance('')).toEqual([]);
  });

  it('re-reads the file when it changes and keeps the old windows when the new text is bad', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lw-maint-'));
    try {
      const file = join(dir, 'maintenance.yaml');
      const m = new MaintenanceFile(file, silentLogger());
      expect(m.current()).toEqual([]);
      writeFileSync(file, FILE);
      expect(m.current()).toHaveLength(3);
      writeFileSync(file, 'windows: [ {');
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      expect(m.current()).toHaveLength(3);
      writeFileSync(file, 'windows: []\n');
      utimesSync(file, new Date(), new Date(Date.now() + 10_000));
      expect(m.current()).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
