import { describe, expect, it } from 'vitest';
import { groupIncidents, type Incident, type PlacedVerdict } from '../../collector/verdict/incidents.js';
import type { Cause, State } from '../../collector/verdict/types.js';

const T = 1_750_000_000_000;

function v(station: string, district: string, isp: string, state: State, cause: Cause, since = T): PlacedVerdict {
  return { station, district, isp, province: 'Bắc Kạn', state, cause, since, outage_start: false };
}

/** 3 districts × 6 stations; district A is VNPT, B Viettel, C half VNPT half FPT. */
function province(fail: (s: string, d: string, isp: string) => [State, Cause] | undefined): PlacedVerdict[] {
  const out: PlacedVerdict[] = [];
  for (const [d, isps] of [['A', 'VNPT,VNPT,VNPT,VNPT,VNPT,VNPT'], ['B', 'Viettel,Viettel,Viettel,Viettel,Viettel,Viettel'], ['C', 'VNPT,VNPT,VNPT,FPT,FPT,FPT']] as const) {
    isps.split(',').forEach((isp, i) => {
      const id = `${d.toLowerCase()}${i}`;
      const [state, cause] = fail(id, d, isp) ?? ['ok', 'none'];
      out.push(v(id, d, isp, state, cause));
    });
  }
  return out;
}

const summary = (incs: Incident[]) => incs.map((i) => `${i.scope}:${i.key}:${i.cause}:${i.stations}:${i.open ? 'open' : 'closed'}`);

describe('groupIncidents', () => {
  it.each<[string, (s: string, d: string, isp: string) => [State, Cause] | undefined, string[]]>([
    ['nothing failing, no incident', () => undefined, []],
    ['one station down is not an incident', (s) => (s === 'a0' ? ['down', 'lan'] : undefined), []],
    ['two stations of a district, below K=3', (s) => (s === 'a0' || s === 'a1' ? ['down', 'uplink'] : undefined), []],
    ['a district ISP edge down is one district incident', (_, d, isp) => (d === 'C' && isp === 'VNPT' ? ['down', 'uplink'] : undefined), ['district:C:uplink:3:open']],
    ['an ISP down in two districts is one ISP incident', (_, __, isp) => (isp === 'VNPT' ? ['down', 'uplink'] : undefined), ['isp:VNPT:uplink:9:open']],
    ['the national service down is one province incident', () => ['down', 'service'], ['province:Bắc Kạn:service:18:open']],
    ['silent stations group too', (_, d) => (d === 'B' ? ['offline', 'silent'] : undefined), ['district:B:silent:6:open']],
    ['degraded stations are not incidents', (_, d) => (d === 'B' ? ['degraded', 'backlog'] : undefined), []],
    ['different causes do not add up', (s, d) => (d === 'A' ? (Number(s[1]) % 2 ? ['down', 'lan'] : ['down', 'core']) : undefined), ['district:A:lan:3:open']],
    [
      'a district outage during a national one stays its own incident',
      (_, d, isp) => (d === 'C' && isp === 'VNPT' ? ['down', 'uplink'] : ['down', 'service']),
      ['province:Bắc Kạn:service:15:open', 'district:C:uplink:3:open'],
    ],
  ])('%s', (_, fail, expected) => {
    expect(summary(groupIncidents(province(fail), 3))).toEqual(expected);
  });

  it('closes incidents that are over and keeps the start of those still open', () => {
    const previous: Incident[] = [
      { scope: 'district', key: 'C', cause: 'uplink', stations: 3, open: true, since: T - 60_000, members: [] },
      { scope: 'district', key: 'A', cause: 'lan', stations: 4, open: true, since: T - 90_000, members: [] },
      { scope: 'district', key: 'B', cause: 'lan', stations: 4, open: false, since: T - 99_000, members: [] },
    ];
    const now = groupIncidents(province((_, d, isp) => (d === 'C' && isp === 'VNPT' ? ['down', 'uplink'] : undefined)), 3, previous);
    expect(summary(now)).toEqual(['district:A:lan:0:closed', 'district:C:uplink:3:open']);
    expect(now.find((i) => i.key === 'C')!.since).toBe(T - 60_000);
    expect(now.find((i) => i.key === 'C')!.members).toEqual(['c0', 'c1', 'c2']);
  });

  it('an incident starts when its first member failed', () => {
    const vs = [v('x1', 'D', 'VNPT', 'down', 'core', T - 3000), v('x2', 'D', 'VNPT', 'down', 'core', T - 1000), v('x3', 'D', 'VNPT', 'offline', 'core', T)];
    expect(groupIncidents(vs, 3)[0]!.since).toBe(T - 3000);
  });
});
