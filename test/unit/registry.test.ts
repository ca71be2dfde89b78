import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { stationTags } from '../../collector/points.js';
import {
  decodeRegistry, groupColumns, loadRegistry, parseRegistry, RegistryError, watchRegistry, type Station,
} from '../../collector/registry.js';
import { eventually } from '../helpers/env.js';

const HEADER = 'id,name,commune,district,province,lat,lon,isp,circuit,sla_target,sla_class';
const ROW = 'bk-cho-moi-yen-dinh,Công an xã Yên Định,Yên Định,Chợ Mới,Bắc Kạn,22.1,105.8,VNPT,VNPT-001,99.5,';

describe('station registry', () => {
  it('reads stations with their Vietnamese names in NFC and a default SLA class', () => {
    const r = parseRegistry(`${HEADER}\n${ROW.normalize('NFD')}\n`);
    expect(r.get('bk-cho-moi-yen-dinh')).toMatchObject({ district: 'Chợ Mới', commune: 'Yên Định', lat: 22.1, sla_class: 'default' });
  });

  it.each<[string, string, RegExp]>([
    ['a duplicate id', `${HEADER}\n${ROW}\n${ROW}\n`, /:3: duplicate id "bk-cho-moi-yen-dinh"/],
    ['a latitude out of range', `${HEADER}\n${ROW.replace('22.1', '122.1')}\n`, /:2: lat "122.1" must be a number in -90..90/],
    ['a longitude that is not a number', `${HEADER}\n${ROW.replace('105.8', 'abc')}\n`, /:2: lon "abc"/],
    ['an unknown column', `${HEADER},Owner\n${ROW},x\n`, /:1: unknown column "Owner"/],
    ['a missing column', `id,name\nx,y\n`, /missing column "commune"/],
    ['a bad id', `${HEADER}\n${ROW.replace('bk-cho-moi-yen-dinh', 'BK Chợ')}\n`, /:2: id "BK Chợ" must match/],
    ['an empty province', `${HEADER}\n${ROW.replace('Bắc Kạn', '')}\n`, /:2: province is empty/],
    ['an empty file', '', /empty file/],
  ])('refuses %s with the line and the reason', (_, text, message) => {
    expect(() => parseRegistry(text, 'stations.csv')).toThrow(RegistryError);
    expect(() => parseRegistry(text, 'stations.csv')).toThrow(message);
  });

  it('reloads when the file changes, and keeps the old registry when the new file is bad', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lw-registry-'));
    const file = join(dir, 'stations.csv');
    writeFileSync(file, `${HEADER}\n${ROW}\n`);
    let current: Map<string, Station> | undefined;
    const errors: Error[] = [];
    const watch = watchRegistry(file, { onReload: (s) => (current = s), onError: (e) => errors.push(e) }, 50);
    try {
      await new Promise((r) => setTimeout(r, 120));
      writeFileSync(file, `${HEADER}\n${ROW}\n${ROW.replace('yen-dinh', 'thanh-mai')}\n`);
      await eventually('the new station', () => current?.has('bk-cho-moi-thanh-mai'), 5000);
      writeFileSync(file, `${HEADER}\n${ROW}\n${ROW}\n`);
      await eventually('the error reported', () => errors.length > 0, 5000);
      expect(errors[0]!.message).toMatch(/duplicate id/);
      expect(current?.size).toBe(2);
    } finally {
      watch.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('registry values', () => {
  it('refuses a control character in a value, naming the line and column', () => {
    const text = 'id,name,commune,district,province,lat,lon,isp,circuit,sla_target\nbk-a,"Công an\nxã A",A,Chợ Mới,Bắc Kạn,21.8,105.7,VNPT,c1,99.5\n';
    expect(() => parseRegistry(text, 'stations.csv')).toThrow(/stations\.csv:2: name contains a control character/);
  });
});

/**
 * Windows-1258 bytes as Windows writes them (WideCharToMultiByte, code page 1258, the table of
 * unicode.org/Public/MAPPINGS/VENDORS/MICSFT/WINDOWS/CP1258.TXT that iconv-lite carries): a letter the code page has
 * precomposed is one byte; otherwise its base letter (â ê ô ơ ư ă đ kept whole) plus the tone mark as a combining
 * character (U+0300 grave, U+0301 acute, U+0303 tilde, U+0309 hook above, U+0323 dot below).
 */
function windows1258(text: string): Buffer {
  const TONES = /[\u0300\u0301\u0303\u0309\u0323]/g;
  const parts: Buffer[] = [];
  for (const ch of text.normalize('NFC')) {
    const direct = iconv.encode(ch, 'windows1258');
    if (ch === '?' || !(direct.length === 1 && direct[0] === 0x3f)) {
      parts.push(direct);
      continue;
    }
    const nfd = ch.normalize('NFD');
    const base = nfd.replace(TONES, '').normalize('NFC');
    const tones = nfd.match(TONES) ?? [];
    const bytes = iconv.encode(base + tones.join(''), 'windows1258');
    if (bytes.includes(0x3f)) throw new Error(`not in Windows-1258: ${ch}`);
    parts.push(bytes);
  }
  return Buffer.concat(parts);
}

// Real names (deploy/examples/stations.csv): the former districts of Bắc Kạn, now areas of Thái Nguyên.
const VN_HEADER = 'id;name;commune;province;area;hub;lat;lon;isp;circuit;sla_target';
const VN_ROWS = [
  'tn-cho-moi-yen-dinh;Công an xã Yên Định;Yên Định;Thái Nguyên;Chợ Mới;VNPT Chợ Mới;21,8712;105,7861;VNPT;VNPT-BKN-0412;99,5',
  'tn-ngan-son-na-phac;Công an xã Nà Phặc;Nà Phặc;Thái Nguyên;Ngân Sơn;;22,44;105,98;Viettel;VT-BKN-2291;99',
];

describe('registries as people make them', () => {
  it('reads a registry without district, with extra grouping columns carried as the station\'s groups', () => {
    const r = parseRegistry(`id,name,commune,province,area,hub,lat,lon,isp,circuit,sla_target\n${VN_ROWS[0]!.replace(/,/g, '.').replace(/;/g, ',')}\n`);
    expect(r.get('tn-cho-moi-yen-dinh')).toMatchObject({ district: '', province: 'Thái Nguyên', groups: { area: 'Chợ Mới', hub: 'VNPT Chợ Mới' } });
    expect(groupColumns(r)).toEqual(['area', 'hub']);
  });

  it('keeps old registries with district working: district is a grouping column and a tag', () => {
    const r = parseRegistry(`${HEADER}\n${ROW}\n`);
    expect(groupColumns(r)).toEqual(['district']);
    expect(stationTags(r.get('bk-cho-moi-yen-dinh')!)).toEqual({ station: 'bk-cho-moi-yen-dinh', district: 'Chợ Mới', province: 'Bắc Kạn', isp: 'VNPT' });
  });

  it('writes no empty district tag (InfluxDB refuses one) and puts the extra columns on every measurement', () => {
    const s = parseRegistry(`${VN_HEADER}\n${VN_ROWS.join('\n')}\n`).get('tn-ngan-son-na-phac')!;
    expect(stationTags(s)).toEqual({ station: 'tn-ngan-son-na-phac', province: 'Thái Nguyên', isp: 'Viettel', area: 'Ngân Sơn' });
  });

  it('reads what Excel in Vietnam saves: Windows-1258 with combining tone marks, semicolons, decimal commas', () => {
    const bytes = windows1258(`${VN_HEADER}\r\n${VN_ROWS.join('\r\n')}\r\n`);
    // The fixture really is the Vietnamese code page: not UTF-8, and "ợ" is two bytes (ơ + combining dot below).
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
    expect([...windows1258('ợ')]).toEqual([0xf5, 0xf2]);
    const { text, encoding } = decodeRegistry(bytes);
    expect(encoding).toBe('windows-1258');
    const r = parseRegistry(text);
    const s = r.get('tn-cho-moi-yen-dinh')!;
    expect(s).toMatchObject({ name: 'Công an xã Yên Định', lat: 21.8712, lon: 105.7861, sla_target: 99.5, groups: { area: 'Chợ Mới' } });
    expect(s.groups!.area).toBe('Chợ Mới'.normalize('NFC'));
    expect(s.groups!.area!.length).toBe('Chợ Mới'.normalize('NFC').length);
    expect(r.get('tn-ngan-son-na-phac')!.name).toBe('Công an xã Nà Phặc');
  });

  it('reads UTF-8 with or without a BOM, comma or semicolon separated, to the same stations', () => {
    const semi = `${VN_HEADER}\n${VN_ROWS.join('\n')}\n`;
    const comma = semi.replace(/,/g, '.').replace(/;/g, ',');
    const variants = [Buffer.from(semi), Buffer.from(`\uFEFF${semi}`), Buffer.from(comma), Buffer.from(`\uFEFF${comma}`.normalize('NFD'))];
    const parsed = variants.map((b) => {
      const { text, encoding } = decodeRegistry(b);
      expect(encoding).toBe('utf-8');
      return [...parseRegistry(text).values()];
    });
    for (const p of parsed) expect(p).toEqual(parsed[0]);
  });

  it('refuses bytes that are neither UTF-8 nor Windows-1258, naming the line, instead of mangling them', () => {
    const bytes = Buffer.concat([Buffer.from(`${VN_HEADER}\n`), Buffer.from([0x81, 0x8d]), Buffer.from(';x\n')]);
    expect(() => decodeRegistry(bytes, 'stations.csv')).toThrow(RegistryError);
    expect(() => decodeRegistry(bytes, 'stations.csv')).toThrow(/stations\.csv:2: neither UTF-8 nor Windows-1258.*CSV UTF-8/);
  });

  it('loads a Windows-1258 file from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lw-registry-1258-'));
    try {
      const file = join(dir, 'stations.csv');
      writeFileSync(file, windows1258(`${VN_HEADER}\r\n${VN_ROWS.join('\r\n')}\r\n`));
      expect(loadRegistry(file).get('tn-cho-moi-yen-dinh')!.groups).toEqual({ area: 'Chợ Mới', hub: 'VNPT Chợ Mới' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([['time'], ['scope'], ['Khu vực']])('refuses an extra column named %s', (col) => {
    expect(() => parseRegistry(`${HEADER},${col}\n${ROW},x\n`, 'stations.csv')).toThrow(/:1: unknown column/);
  });
});
