/**
 * Every panel and alert query, with Grafana's macros substituted, against a real influxd filled with a scripted day
 * in Bắc Kạn (test/helpers/dashboards-scenario.ts). Proves the queries parse and return what the day implies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dashboard, Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertRulesFile } from '../../dashboards/alerts.js';
import { labels } from '../../dashboards/i18n.js';
import { buildDashboards } from '../../dashboards/index.js';
import { applyBackendMacros, substituteMacros, type VariableValue } from '../../dashboards/macros.js';
import { startInflux, type LocalServer } from '../../deploy/local-servers.js';
import {
  panelIntervalMs, panelRange, panelsOf, resolveVariables, rowsOf, runInfluxQL, targetsOf, type QueryResult,
} from '../helpers/dashboards.js';
import {
  allPoints, at, brokenNow, byId, codeOf, expectedSla, healthPoints, MINUTES, NOW, SCHEMA, stateNow, STATIONS,
} from '../helpers/dashboards-scenario.js';

const DB = 'linkwatch';
const L = labels('en');
const boards = buildDashboards('en');
let influx: LocalServer;
let dir: string;
let queriesRun = 0;

async function run(q: string): Promise<QueryResult> {
  queriesRun++;
  return runInfluxQL(influx.url, DB, q);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lw-dash-influx-'));
  influx = await startInflux({ dir });
  const client = new InfluxDB({ host: '127.0.0.1', port: influx.port, database: DB, schema: SCHEMA });
  await client.createDatabase(DB);
  const points = allPoints();
  for (let i = 0; i < points.length; i += 10_000) await client.writePoints(points.slice(i, i + 10_000), { precision: 'ms' });
}, 120_000);

afterAll(async () => {
  await influx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  // The figure for the report: how many statements this file ran against influxd.
  console.info(`dashboards-queries: ${queriesRun} InfluxQL statements run`);
});

function panel(d: Dashboard, title: string): Panel {
  const p = panelsOf(d).find((x) => x.title === title);
  if (!p) throw new Error(`no panel "${title}" in ${d.title}`);
  return p;
}

interface RunOptions { vars?: Record<string, VariableValue>; range?: { from: number; to: number } }

/** Runs one panel's targets the way Grafana would at the scenario's "now"; fails on any InfluxDB error. */
async function runPanel(d: Dashboard, p: Panel, opts: RunOptions = {}): Promise<Record<string, QueryResult>> {
  const range = opts.range ?? panelRange(d, p, NOW);
  const out: Record<string, QueryResult> = {};
  for (const t of targetsOf(p)) {
    const q = substituteMacros(t.query, { ...range, intervalMs: panelIntervalMs(range), variables: opts.vars ?? {} });
    const r = await run(q);
    expect(r.error, `${p.title} ${t.refId}: ${q}`).toBeUndefined();
    out[t.refId!] = r;
  }
  return out;
}

const vars = (d: Dashboard, pick: Record<string, string | string[]> = {}) =>
  resolveVariables(d, run, (q, v) => substituteMacros(q, { from: NOW - 86_400_000, to: NOW, intervalMs: 60_000, variables: v }), pick);

const day = { from: NOW - 86_400_000, to: NOW };
const near = (a: unknown, b: number, eps = 0.05) => expect(Math.abs(Number(a) - b)).toBeLessThanOrEqual(eps);
const sortedIds = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.station)).sort();

describe('every panel query', () => {
  it.each(Object.keys(boards))('of the %s dashboard runs and returns data with every variable at All', async (kind) => {
    const d = boards[kind as keyof typeof boards];
    const v = await vars(d);
    for (const p of panelsOf(d)) {
      const results = await runPanel(d, p, { vars: v });
      for (const [refId, r] of Object.entries(results)) expect(r.series.length, `${p.title} ${refId}`).toBeGreaterThan(0);
    }
  });

  it.each(['triage', 'sla', 'heatmap'] as const)(
    'of the %s dashboard runs with several Vietnamese districts picked (regex-escaped, parenthesised)',
    async (kind) => {
      const d = boards[kind];
      const v = await vars(d, { district: ['Chợ Mới', 'Ba Bể'], ...(kind !== 'heatmap' ? { isp: ['VNPT'] } : {}) });
      for (const p of panelsOf(d)) {
        const results = await runPanel(d, p, { vars: v });
        expect(Object.values(results).some((r) => r.series.length > 0), p.title).toBe(true);
      }
    },
  );

  it('resolves chained variables: districts of the province, stations of the district', async () => {
    const v = await vars(boards.triage, { district: 'Ba Bể' });
    expect(v.province!.options).toEqual(['Bắc Kạn']);
    expect(v.district!.options!.sort()).toEqual(['Ba Bể', 'Chợ Mới']);
    expect(v.station!.options!.sort()).toEqual(STATIONS.filter((s) => s.district === 'Ba Bể').map((s) => s.id).sort());
  });
});

describe('triage', () => {
  it('lists exactly the stations not OK now, with their state and cause', async () => {
    const d = boards.triage;
    const r = await runPanel(d, panel(d, L.panels.notOk), { vars: await vars(d) });
    const rows = rowsOf(r.A!);
    expect(sortedIds(rows)).toEqual(brokenNow());
    expect(sortedIds(rows)).toEqual(['bk-ba-be-khang-ninh', 'bk-ba-be-thuong-giao', 'bk-cho-moi-nong-ha']);
    for (const row of rows) {
      const s = byId(String(row.station));
      expect(row.code).toBe(codeOf(stateNow(s)));
      expect(row.cause).toBe(s.segments.at(-1)!.cause);
      expect(row.since).toBe(at(s.segments.at(-1)!.from));
      expect(row.name).toBe(s.name);
      expect(row.district).toBe(s.district);
    }
  });

  it('narrows the list to the chosen district', async () => {
    const d = boards.triage;
    const r = await runPanel(d, panel(d, L.panels.notOk), { vars: await vars(d, { district: ['Chợ Mới'] }) });
    expect(sortedIds(rowsOf(r.A!))).toEqual(['bk-cho-moi-nong-ha']);
  });

  it('counts stations by their current state', async () => {
    const d = boards.triage;
    const r = await runPanel(d, panel(d, L.panels.stateCounts), { vars: await vars(d) });
    const count = (refId: string) => Number(r[refId]!.series[0]?.values[0]?.[1] ?? 0);
    const expected = (state: string) => STATIONS.filter((s) => stateNow(s) === state).length;
    expect([count('A'), count('B'), count('C'), count('D'), count('E')]).toEqual(
      ['ok', 'degraded', 'down', 'offline', 'maintenance'].map(expected),
    );
    expect([count('A'), count('B'), count('C'), count('D'), count('E')]).toEqual([4, 1, 1, 1, 1]);
  });

  it('shows only the incidents still open', async () => {
    const d = boards.triage;
    const r = await runPanel(d, panel(d, L.panels.incidents));
    expect(rowsOf(r.A!).map((x) => [x.scope, x.key, x.stations, x.cause])).toEqual([['district', 'Ba Bể', 5, 'uplink']]);
  });

  it('draws stations not OK over time, zero where all were fine', async () => {
    const d = boards.triage;
    const r = await runPanel(d, panel(d, L.panels.notOkOverTime), { vars: await vars(d), range: day });
    const down = r.B!.series[0]!.values.map((v) => Number(v[1]));
    expect(Math.max(...down)).toBe(2);
    expect(down.filter((n) => n === 0).length).toBeGreaterThan(down.length / 2);
  });
});

describe('SLA', () => {
  const slaRows = async (range = day) => {
    const d = boards.sla;
    const r = await runPanel(d, panel(d, L.panels.slaStations), { vars: await vars(d), range });
    // One row per station in each frame, else Grafana's merge would show a station twice.
    for (const res of [r.A!, r.B!]) expect(new Set(rowsOf(res).map((x) => x.station)).size).toBe(rowsOf(res).length);
    const byStation = new Map<string, Record<string, unknown>>();
    for (const row of [...rowsOf(r.A!), ...rowsOf(r.B!)]) {
      byStation.set(String(row.station), { ...byStation.get(String(row.station)), ...row });
    }
    // The panel's calculateField transformation: MTTR = downtime / outages.
    for (const row of byStation.values()) row.mttr_min = row.outages ? Number(row.downtime_min) / Number(row.outages) : null;
    return byStation;
  };

  it('shows 95.83 % for a station with a 1-hour outage in 24 hours, 100 % when that hour was maintenance', async () => {
    const rows = await slaRows();
    near(rows.get('bk-cho-moi-yen-dinh')!.availability, 95.83);
    near(rows.get('bk-ba-be-cho-ra')!.availability, 100);
    expect(Number(rows.get('bk-cho-moi-yen-dinh')!.margin)).toBeLessThan(0);
    expect(Number(rows.get('bk-ba-be-cho-ra')!.margin)).toBeCloseTo(0.5, 6);
  });

  it('gives the same figures over the dashboard\'s default 30 days (no data before the day counts as nothing)', async () => {
    const d = boards.sla;
    const rows = await slaRows(panelRange(d, panel(d, L.panels.slaStations), NOW));
    near(rows.get('bk-cho-moi-yen-dinh')!.availability, 95.83);
    near(rows.get('bk-ba-be-cho-ra')!.availability, 100);
  });

  it('matches the scenario for every station: availability, outages, downtime and MTTR', async () => {
    const rows = await slaRows();
    expect([...rows.keys()].sort()).toEqual(STATIONS.map((s) => s.id).sort());
    for (const s of STATIONS) {
      const want = expectedSla(healthPoints(s));
      const got = rows.get(s.id)!;
      near(got.availability, want.availability, 1e-6);
      expect(Number(got.outages ?? 0), s.id).toBe(want.outages);
      near(got.downtime_min, want.downtimeMin, 1e-6);
      if (want.outages > 0) near(got.mttr_min, want.downtimeMin / want.outages, 1e-6);
      else expect(got.mttr_min ?? null, s.id).toBeNull();
      expect(got.circuit).toBe(s.circuit);
      expect(got.sla_target).toBe(s.sla_target);
    }
    // The figures spelled out: one 60-minute outage; two outages of 10 and 50 minutes.
    expect([rows.get('bk-cho-moi-yen-dinh')!.outages, rows.get('bk-cho-moi-yen-dinh')!.downtime_min, rows.get('bk-cho-moi-yen-dinh')!.mttr_min]).toEqual([1, 60, 60]);
    expect([rows.get('bk-cho-moi-thanh-mai')!.outages, rows.get('bk-cho-moi-thanh-mai')!.downtime_min, rows.get('bk-cho-moi-thanh-mai')!.mttr_min]).toEqual([2, 60, 30]);
    expect(rows.get('bk-ba-be-cho-ra')!.outages ?? null).toBeNull();
  });

  it('sums per ISP: availability, outages, downtime and MTTR (= downtime / outages, as the panel computes)', async () => {
    const d = boards.sla;
    const r = await runPanel(d, panel(d, L.panels.slaIsp), { vars: await vars(d), range: day });
    expect(rowsOf(r.A!).map((x) => x.isp).sort()).toEqual(['VNPT', 'Viettel']);
    expect(new Set(rowsOf(r.B!).map((x) => x.station)).size).toBe(STATIONS.length);
    const got = new Map<string, Record<string, unknown>>(rowsOf(r.A!).map((row) => [String(row.isp), { ...row, downtime_min: 0 }]));
    // The panel's groupBy transformation on B: downtime summed per ISP.
    for (const row of rowsOf(r.B!)) got.get(String(row.isp))!.downtime_min = Number(got.get(String(row.isp))!.downtime_min) + Number(row.downtime_min);
    for (const isp of ['VNPT', 'Viettel']) {
      const stations = STATIONS.filter((s) => s.isp === isp);
      const figures = stations.map((s) => expectedSla(healthPoints(s)));
      const avail = figures.reduce((n, f) => n + f.avail, 0) / figures.reduce((n, f) => n + f.total, 0);
      const outages = figures.reduce((n, f) => n + f.outages, 0);
      const downtime = figures.reduce((n, f) => n + f.downtimeMin, 0);
      const row = got.get(isp)!;
      near(row.availability, 100 * avail, 1e-6);
      expect(row.outages).toBe(outages);
      near(row.downtime_min, downtime, 1e-6);
      near(Number(row.downtime_min) / Number(row.outages), downtime / outages, 1e-6);
    }
    expect(got.get('VNPT')!.outages).toBe(4);
    near(Number(got.get('VNPT')!.downtime_min) / Number(got.get('VNPT')!.outages), 149.5 / 4, 1e-6);
  });

  it('draws availability per ISP over time, below 100 % only where the scenario had outages', async () => {
    const d = boards.sla;
    const r = await runPanel(d, panel(d, L.panels.availabilityOverTime), { vars: await vars(d), range: day });
    const viettel = r.A!.series.find((s) => s.tags?.isp === 'Viettel')!;
    const dips = viettel.values.filter((v) => v[1] !== null && Number(v[1]) < 100).map((v) => Number(v[0]));
    // Viettel's only outage is Khang Ninh's silence at the end of the day; Chợ Rã's maintenance is no dip.
    expect(dips.length).toBeGreaterThan(0);
    expect(Math.min(...dips)).toBeGreaterThanOrEqual(at(1420) - 60_000);
  });
});

describe('heatmap', () => {
  it('gives the headline figures of now', async () => {
    const d = boards.heatmap;
    const v = await vars(d);
    const one = async (title: string) => {
      const row = rowsOf((await runPanel(d, panel(d, title), { vars: v })).A!)[0]!;
      return Number(Object.entries(row).find(([k]) => k !== 'time')![1]);
    };
    // 5 of the 7 stations not in maintenance are available (Thượng Giáo down, Khang Ninh silent).
    near(await one(L.panels.headlineOkNow), (100 * 5) / 7, 1e-6);
    expect(await one(L.panels.headlineDownNow)).toBe(2);
    expect(await one(L.panels.headlineIncidents)).toBe(1);
    const all = STATIONS.map((s) => expectedSla(healthPoints(s)));
    near(await one(L.panels.headlineAvailability), (100 * all.reduce((n, f) => n + f.avail, 0)) / all.reduce((n, f) => n + f.total, 0), 1e-6);
  });

  it('colours each district over time by availability, and leaves the future empty instead of repeating the past', async () => {
    const d = boards.heatmap;
    const r = await runPanel(d, panel(d, L.panels.districtHistory), { vars: await vars(d), range: { from: NOW - 3 * 3_600_000, to: NOW + 3_600_000 } });
    expect(r.A!.series.map((s) => s.tags!.district).sort()).toEqual(['Ba Bể', 'Chợ Mới']);
    for (const s of r.A!.series) {
      const future = s.values.filter((v) => Number(v[0]) >= NOW);
      expect(future.length).toBeGreaterThan(0);
      expect(future.every((v) => v[1] === null)).toBe(true);
    }
  });

  it('shows the state timeline of the chosen district\'s stations, NO DATA (null) after the data ends, never OK', async () => {
    const d = boards.heatmap;
    const r = await runPanel(d, panel(d, L.panels.stationTimeline), {
      vars: await vars(d, { district: 'Ba Bể' }), range: { from: NOW - 2 * 3_600_000, to: NOW + 3_600_000 },
    });
    const series = new Map(r.A!.series.map((s) => [s.tags!.station!, s.values]));
    expect([...series.keys()].sort()).toEqual(STATIONS.filter((s) => s.district === 'Ba Bể').map((s) => s.id).sort());
    const lastKnown = (id: string) => Number(series.get(id)!.filter((v) => v[1] !== null).at(-1)![1]);
    expect(lastKnown('bk-ba-be-thuong-giao')).toBe(2);
    expect(lastKnown('bk-ba-be-khang-ninh')).toBe(3);
    expect(lastKnown('bk-ba-be-dia-linh')).toBe(0);
    for (const values of series.values()) expect(values.filter((v) => Number(v[0]) >= NOW).every((v) => v[1] === null)).toBe(true);
  });

  it('puts every station on the map at its coordinates, with its current state', async () => {
    const d = boards.heatmap;
    const rows = rowsOf((await runPanel(d, panel(d, L.panels.map), { vars: await vars(d) })).A!);
    expect(sortedIds(rows)).toEqual(STATIONS.map((s) => s.id).sort());
    for (const row of rows) {
      const s = byId(String(row.station));
      expect([row.lat, row.lon, row.code, row.name]).toEqual([s.lat, s.lon, codeOf(stateNow(s)), s.name]);
    }
  });
});

describe('station detail', () => {
  const detail = async (station: string, title: string, range = { from: NOW - 3 * 3_600_000, to: NOW }) => {
    const d = boards.station;
    return runPanel(d, panel(d, title), { vars: await vars(d, { station }), range });
  };

  it('shows the current state and cause of the station', async () => {
    const d = boards.station;
    const r = await runPanel(d, panel(d, L.panels.currentState), { vars: await vars(d, { station: 'bk-ba-be-khang-ninh' }) });
    expect(rowsOf(r.A!).map((x) => [x.code, x.cause])).toEqual([[3, 'silent']]);
  });

  it('reads NO DATA for a station without any verdict in the window (no row; the panel shows its noValue)', async () => {
    const d = boards.station;
    const p = panel(d, L.panels.currentState);
    const r = await runPanel(d, p, { vars: { station: { value: 'bk-cho-moi-yen-dinh' } }, range: { from: NOW + 3_600_000, to: NOW + 4_500_000 } });
    expect(r.A!.series).toEqual([]);
    expect(p.fieldConfig?.defaults?.noValue).toBe(L.states.nodata);
  });

  it('shows latency per path role, and only the gateway answering while the ISP edge is down', async () => {
    const r = await detail('bk-ba-be-thuong-giao', L.panels.rttByRole);
    const last = (role: string) => r.A!.series.find((s) => s.tags!.role === role)!.values.filter((v) => v[1] !== null).at(-1)![0] as number;
    expect(r.A!.series.map((s) => s.tags!.role).sort()).toEqual(['core', 'gateway', 'isp', 'service']);
    expect(last('gateway')).toBeGreaterThanOrEqual(at(MINUTES - 2) - 600_000);
    expect(last('isp')).toBeLessThan(at(1410));
    const loss = await detail('bk-ba-be-thuong-giao', L.panels.lossByRole);
    const lossIsp = loss.A!.series.find((s) => s.tags!.role === 'isp')!.values.filter((v) => v[1] !== null);
    expect(Number(lossIsp.at(-1)![1])).toBe(100);
  });

  it('shows HTTP phases, session drops, backlog, host vitals and outbox depth', async () => {
    const phases = rowsOf((await detail('bk-ba-be-dia-linh', L.panels.httpPhases)).A!).filter((x) => x.dns_ms !== null);
    expect([phases[0]!.dns_ms, phases[0]!.connect_ms, phases[0]!.tls_ms, phases[0]!.ttfb_ms]).toEqual([3, 12, 25, 80]);
    const drops = rowsOf((await detail('bk-cho-moi-nong-ha', L.panels.sessionDrops)).A!);
    expect(drops.reduce((n, x) => n + Number(x.drops ?? 0), 0)).toBe(10);
    const pending = rowsOf((await detail('bk-ba-be-thuong-giao', L.panels.backlog)).A!).filter((x) => x.pending !== null);
    expect(Number(pending.at(-1)!.pending)).toBe(40 + 29);
    const cpu = rowsOf((await detail('bk-ba-be-dia-linh', L.panels.host)).A!).filter((x) => x.cpu_pct !== null);
    expect(cpu.length).toBeGreaterThan(0);
    const outbox = rowsOf((await detail('bk-ba-be-thuong-giao', L.panels.outbox)).A!).filter((x) => x.outbox_depth !== null);
    expect(Number(outbox.at(-1)!.outbox_depth)).toBe(30);
  });

  it('counts the reports lost in transit from the sequence gaps', async () => {
    const r = await detail('bk-ba-be-dia-linh', L.panels.gaps, day);
    expect(rowsOf(r.A!).reduce((n, x) => n + Number(x.missing ?? 0), 0)).toBe(5);
    const none = await detail('bk-cho-moi-yen-dinh', L.panels.gaps, day);
    expect(rowsOf(none.A!).reduce((n, x) => n + Number(x.missing ?? 0), 0)).toBe(0);
  });
});

describe('alert rules', () => {
  const rules = alertRulesFile(L).groups.flatMap((g) => g.rules);

  /** Runs A over its relative range at NOW, then B (last, non-null) and C (the threshold) as Grafana's expressions do. */
  async function firing(uid: string, labelKey: string): Promise<string[]> {
    const rule = rules.find((r) => r.uid === uid)!;
    const a = rule.data[0]!;
    const range = { from: NOW - (a.relativeTimeRange.from ?? 0) * 1000, to: NOW - (a.relativeTimeRange.to ?? 0) * 1000 };
    const q = applyBackendMacros(String(a.model.query), { ...range, intervalMs: 60_000 });
    const r = await run(q);
    expect(r.error, q).toBeUndefined();
    expect(r.series.length, q).toBeGreaterThan(0);
    const { type, params } = (rule.data[2]!.model as { conditions: { evaluator: { type: string; params: number[] } }[] }).conditions[0]!.evaluator;
    const test = (x: number) =>
      type === 'gt' ? x > params[0]! : type === 'lt' ? x < params[0]! : type === 'within_range' ? x > params[0]! && x < params[1]! : false;
    return r.series
      .filter((s) => {
        const last = s.values.map((v) => v[1]).filter((x) => x !== null).at(-1);
        return last !== undefined && test(Number(last));
      })
      .map((s) => s.tags![labelKey]!)
      .sort();
  }

  it('station down fires for the down and the silent station, not for degraded or maintenance', async () => {
    expect(await firing('linkwatch-station-down', 'station')).toEqual(['bk-ba-be-khang-ninh', 'bk-ba-be-thuong-giao']);
  });

  it('district incident fires for the open district incident only', async () => {
    expect(await firing('linkwatch-district-incident', 'key')).toEqual(['Ba Bể']);
  });

  it('SLA at risk fires for the stations below target over 24 h, maintenance excluded', async () => {
    const below = STATIONS.filter((s) => expectedSla(healthPoints(s)).availability < s.sla_target).map((s) => s.id).sort();
    expect(await firing('linkwatch-sla-at-risk', 'station')).toEqual(below);
    expect(below).toEqual(['bk-ba-be-khang-ninh', 'bk-ba-be-thuong-giao', 'bk-cho-moi-thanh-mai', 'bk-cho-moi-yen-dinh']);
  });
});
