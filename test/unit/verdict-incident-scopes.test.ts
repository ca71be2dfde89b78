import { describe, expect, it } from 'vitest';
import { collectorConfigSchema } from '../../collector/config.js';
import { groupIncidents, incidentScopesOf, SCOPES, type PlacedVerdict } from '../../collector/verdict/incidents.js';
import type { Cause, State } from '../../collector/verdict/types.js';

const T = 1_750_000_000_000;

/** A post-2025 registry: no district; area = the former district (real names), hub = the aggregation node. */
function v(station: string, area: string, hub: string, isp: string, state: State = 'ok', cause: Cause = 'none'): PlacedVerdict {
  return { station, district: '', isp, province: 'Thái Nguyên', groups: { area, hub }, state, cause, since: T, outage_start: false };
}

// Chợ Mới's stations hang off two VNPT nodes; Ba Bể's off one Viettel node.
const stations = (failing: (s: string) => boolean, cause: Cause = 'uplink') => [
  ...['yen-dinh', 'thanh-mai', 'nong-ha', 'quang-chu'].map((s, i) => v(`cm-${s}`, 'Chợ Mới', i < 3 ? 'VNPT-CM-1' : 'VNPT-CM-2', 'VNPT')),
  ...['cho-ra', 'nam-mau', 'khang-ninh'].map((s) => v(`bb-${s}`, 'Ba Bể', 'VT-BB-1', 'Viettel')),
].map((x) => (failing(x.station) ? { ...x, state: 'down' as State, cause } : x));

const summary = (incs: ReturnType<typeof groupIncidents>) => incs.map((i) => `${i.scope}:${i.key}:${i.stations}`);

describe('configurable incident scopes', () => {
  const scopes = ['hub', 'area', 'isp', 'province'];

  it('makes the stations behind one failing aggregation node one incident, named by the node', () => {
    const incs = groupIncidents(stations((s) => ['cm-yen-dinh', 'cm-thanh-mai', 'cm-nong-ha'].includes(s)), 3, [], scopes);
    expect(summary(incs)).toEqual(['hub:VNPT-CM-1:3']);
  });

  it('names the area when its stations fail behind different nodes', () => {
    const incs = groupIncidents(stations((s) => s.startsWith('cm-')), 3, [], scopes);
    expect(summary(incs)).toEqual(['area:Chợ Mới:4']);
  });

  it('keeps today\'s district, ISP and province scopes by default, and never groups stations without a district', () => {
    expect(SCOPES).toEqual(['district', 'isp', 'province']);
    const incs = groupIncidents(stations((s) => s.startsWith('cm-')), 3);
    // No district in the registry: no "district ''" incident; VNPT's four stations are the incident.
    expect(summary(incs)).toEqual(['isp:VNPT:4']);
  });

  it('reads verdicts.incident_scopes from the collector config, today\'s scopes when absent', () => {
    const base = { broker: { url: 'mqtt://127.0.0.1:1883' }, influx: { url: 'http://127.0.0.1:8086', database: 'linkwatch' }, stations: 's.csv' };
    expect(incidentScopesOf(collectorConfigSchema.parse(base).verdicts)).toEqual(SCOPES);
    const cfg = collectorConfigSchema.parse({ ...base, verdicts: { incident_scopes: scopes } });
    expect(incidentScopesOf(cfg.verdicts)).toEqual(scopes);
    expect(() => collectorConfigSchema.parse({ ...base, verdicts: { incident_scopes: ['Khu vực'] } })).toThrow(/incident_scopes/);
  });
});
