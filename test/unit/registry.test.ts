import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRegistry, RegistryError, watchRegistry, type Station } from '../../collector/registry.js';
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
    ['an unknown column', `${HEADER},owner\n${ROW},x\n`, /:1: unknown column "owner"/],
    ['a missing column', `id,name\nx,y\n`, /missing column "commune"/],
    ['a bad id', `${HEADER}\n${ROW.replace('bk-cho-moi-yen-dinh', 'BK Chợ')}\n`, /:2: id "BK Chợ" must match/],
    ['an empty district', `${HEADER}\n${ROW.replace('Chợ Mới', '')}\n`, /:2: district is empty/],
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
