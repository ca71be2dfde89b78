/**
 * Every panel and alert query, with Grafana's macros substituted, against a real influxd filled with a scripted day
 * in Bắc Kạn (test/helpers/dashboards-scenario.ts). Proves the queries parse and return what the day implies.
 */
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dashboard, Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertRulesFile } from '../../dashboards/alerts.js';
import { labels } from '../../dashboards/i18n.js';
import { buildDashboards } from '../../dashboards/index.js';
import { applyBackendMacros, substituteMacros, type VariableValue } from '../../dashboards/macros.js';
import type { LocalServer } from '../../deploy/local-servers.js';
import {
  panelIntervalMs, panelRange, panelsOf, resolveVariables, rowsOf, runInfluxQL, targetsOf, type QueryResult,
} from '../helpers/dashboards.js';
import {
  at, brokenNow, byId, codeOf, expectedRollupSla, expectedSla, healthPoints, MINUTES, NOW, SCHEMA, startScenarioInflux,
  stateNow, STATIONS,
} from '../helpers/dashboards-scenario.js';

const DB = 'linkwatch';
const L = labels('en');
const boards = buildDashboards('en');
let influx: LocalServer;
let stop: (() => Promise<void>) | undefined;
let queriesRun = 0;

async function run(q: string): Promise<QueryResult> {
  queriesRun++;
  return runInfluxQL(influx.url, DB, q);
}

beforeAll(async () => {
  ({ influx, stop } = await startScenarioInflux());
}, 120_000);

afterAll(async () => {
  await stop?.();
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
    const q = substituteMacros(t.query, { ...range, intervalMs: panelIntervalMs(range, 1000, p.interval), variables: opts.vars ?? {} });
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
      // The scripted day has no deaf pipeline; its tile reads 0 here and is proven below ('a deaf pipeline').
      if (p.title === L.panels.pipeline) continue;
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
        // A state tile with no station in the pick is empty, and says so with its noValue, 0.
        if (p.fieldConfig?.defaults?.noValue === '0') continue;
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

  it('counts stations by their current state, one tile per state; a state with no station reads 0, not nothing', async () => {
    const d = boards.triage;
    const v = await vars(d);
    const states = ['ok', 'degraded', 'down', 'offline', 'maintenance'] as const;
    const counts: number[] = [];
    for (const s of states) {
      const p = panel(d, L.states[s]);
      const r = await runPanel(d, p, { vars: v });
      counts.push(r.A!.series.length === 0 ? Number(p.fieldConfig?.defaults?.noValue) : Number(r.A!.series[0]!.values[0]![1]));
    }
    expect(counts).toEqual(states.map((st) => STATIONS.filter((s) => stateNow(s) === st).length));
    expect(counts).toEqual([4, 1, 1, 1, 1]);
    // None down in Chợ Mới: InfluxDB returns no series; the tile shows its noValue, 0.
    const p = panel(d, L.states.down);
    const r = await runPanel(d, p, { vars: await vars(d, { district: ['Chợ Mới'] }) });
    expect(r.A!.series).toEqual([]);
    expect(p.fieldConfig?.defaults?.noValue).toBe('0');
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

describe('SLA (from the rollups)', () => {
  const slaRows = async (range = day) => {
    const d = boards.sla;
    const r = await runPanel(d, panel(d, L.panels.slaStations), { vars: await vars(d), range });
    // One row per station in each frame, else Grafana's merge would show a station twice.
    for (const res of [r.A!, r.B!]) expect(new Set(rowsOf(res).map((x) => x.station)).size).toBe(rowsOf(res).length);
    const byStation = new Map<string, Record<string, unknown>>();
    for (const row of [...rowsOf(r.A!), ...rowsOf(r.B!)]) {
      byStation.set(String(row.station), { ...byStation.get(String(row.station)), ...row });
    }
    return byStation;
  };

  it('shows 95.83 % for a station with a 1-hour ISP outage in 24 hours, 100 % when that hour was maintenance', async () => {
    const rows = await slaRows();
    near(rows.get('bk-cho-moi-yen-dinh')!.availability, 95.83);
    near(rows.get('bk-ba-be-cho-ra')!.availability, 100);
    expect(Number(rows.get('bk-cho-moi-yen-dinh')!.margin)).toBeLessThan(0);
    expect(Number(rows.get('bk-ba-be-cho-ra')!.margin)).toBeCloseTo(0.5, 6);
  });

  it('excludes station-side faults (LAN, silence) from the ISP\'s availability and counts them as excluded time', async () => {
    const rows = await slaRows();
    near(rows.get('bk-cho-moi-thanh-mai')!.availability, 100, 1e-9);
    near(rows.get('bk-cho-moi-thanh-mai')!.excluded_min, 60, 1e-9);
    near(rows.get('bk-ba-be-cho-ra')!.excluded_min, 60, 1e-9);
    expect(rows.get('bk-cho-moi-thanh-mai')!.outages).toBe(0);
  });

  it('gives the same figures over the dashboard\'s default 30 days, daily rollups included (no data before the day counts as nothing)', async () => {
    const d = boards.sla;
    const range = panelRange(d, panel(d, L.panels.slaStations), NOW);
    const rows = await slaRows(range);
    near(rows.get('bk-cho-moi-yen-dinh')!.availability, 95.83);
    near(rows.get('bk-ba-be-cho-ra')!.availability, 100);
    const daily = await runPanel(d, panel(d, L.panels.slaStations), { vars: await vars(d, { rollup: 'sla_day' }), range });
    const yd = rowsOf(daily.A!).find((x) => x.station === 'bk-cho-moi-yen-dinh')!;
    near(yd.availability, 95.83);
    expect(yd.outages).toBe(1);
  });

  it('matches the rollups for every station: availability, outages, downtime, MTTR only where there were outages', async () => {
    const rows = await slaRows();
    expect([...rows.keys()].sort()).toEqual(STATIONS.map((s) => s.id).sort());
    for (const s of STATIONS) {
      const want = expectedRollupSla([s.id]);
      const got = rows.get(s.id)!;
      near(got.availability, want.availability, 1e-9);
      expect(Number(got.outages), s.id).toBe(want.outages);
      near(got.downtime_min, want.downtime_s / 60, 1e-9);
      if (want.mttrMin !== null) near(got.mttr_min, want.mttrMin, 1e-9);
      else expect(got.mttr_min ?? null, s.id).toBeNull();
      expect(got.circuit).toBe(s.circuit);
      expect(got.sla_target).toBe(s.sla_target);
    }
    expect([rows.get('bk-cho-moi-yen-dinh')!.outages, rows.get('bk-cho-moi-yen-dinh')!.downtime_min, rows.get('bk-cho-moi-yen-dinh')!.mttr_min]).toEqual([1, 60, 60]);
    expect([rows.get('bk-ba-be-thuong-giao')!.outages, rows.get('bk-ba-be-thuong-giao')!.downtime_min, rows.get('bk-ba-be-thuong-giao')!.mttr_min]).toEqual([1, 30, 30]);
  });

  it('sums per ISP: availability, outages, downtime and MTTR', async () => {
    const d = boards.sla;
    const r = await runPanel(d, panel(d, L.panels.slaIsp), { vars: await vars(d), range: day });
    expect(rowsOf(r.A!).map((x) => x.isp).sort()).toEqual(['VNPT', 'Viettel']);
    for (const isp of ['VNPT', 'Viettel']) {
      const want = expectedRollupSla(STATIONS.filter((s) => s.isp === isp).map((s) => s.id));
      const row = rowsOf(r.A!).find((x) => x.isp === isp)!;
      near(row.availability, want.availability, 1e-9);
      expect(row.outages).toBe(want.outages);
      near(row.downtime_min, want.downtime_s / 60, 1e-9);
      const m = rowsOf(r.B!).find((x) => x.isp === isp);
      expect(m ? Number(m.mttr_min) : null).toEqual(want.mttrMin);
    }
    expect(rowsOf(r.B!).map((x) => [x.isp, x.mttr_min])).toEqual([['VNPT', 45]]);
  });

  it('draws availability per ISP over time, below 100 % only where the ISP had outages', async () => {
    const d = boards.sla;
    const r = await runPanel(d, panel(d, L.panels.availabilityOverTime), { vars: await vars(d), range: day });
    const vnpt = r.A!.series.find((s) => s.tags?.isp === 'VNPT')!;
    const dips = vnpt.values.filter((v) => v[1] !== null && Number(v[1]) < 100).map((v) => Number(v[0]));
    // VNPT's ISP outages: Yên Đĩnh 690–750 and Thượng Giáo from 1410; Thanh Mai's LAN faults are no dip.
    expect(dips.length).toBeGreaterThan(0);
    for (const t of dips) expect((t >= at(600) - 60_000 && t < at(780)) || t >= at(1380) - 60_000, new Date(t).toISOString()).toBe(true);
    const viettel = r.A!.series.find((s) => s.tags?.isp === 'Viettel')!;
    expect(viettel.values.every((v) => v[1] === null || Number(v[1]) === 100)).toBe(true);
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

  it('colours each area in hour cells and day cells (Asia/Ho_Chi_Minh days), few enough for a status history', async () => {
    const d = boards.heatmap;
    const hours = await runPanel(d, panel(d, L.panels.groupHours), { vars: await vars(d) });
    expect(hours.A!.series.map((s) => s.tags!.district).sort()).toEqual(['Ba Bể', 'Chợ Mới']);
    for (const s of hours.A!.series) {
      expect(s.values.length).toBeLessThanOrEqual(7 * 24 + 1);
      for (const v of s.values) expect(Number(v[0]) % 3_600_000).toBe(0);
    }
    const days = await runPanel(d, panel(d, L.panels.groupDays), { vars: await vars(d) });
    for (const s of days.A!.series) {
      expect(s.values.length).toBeLessThanOrEqual(91);
      // A Vietnamese day starts at 17:00 UTC.
      for (const v of s.values) expect((Number(v[0]) + 7 * 3_600_000) % 86_400_000).toBe(0);
    }
    const choMoi = days.A!.series.find((s) => s.tags!.district === 'Chợ Mới')!.values.filter((v) => v[1] !== null);
    expect(choMoi.some((v) => Number(v[1]) < 100)).toBe(true);
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
    const phases = await detail('bk-ba-be-dia-linh', L.panels.httpPhases);
    const first = (refId: string, f: string) => rowsOf(phases[refId]!).find((x) => x[f] !== null)![f];
    expect([first('A', 'dns_ms'), first('B', 'connect_ms'), first('C', 'tls_ms'), first('D', 'ttfb_ms')]).toEqual([3, 12, 25, 80]);
    const drops = rowsOf((await detail('bk-cho-moi-nong-ha', L.panels.sessionDrops)).A!);
    expect(drops.reduce((n, x) => n + Number(x.drops ?? 0), 0)).toBe(10);
    const pending = rowsOf((await detail('bk-ba-be-thuong-giao', L.panels.backlog)).A!).filter((x) => x.pending !== null);
    expect(Number(pending.at(-1)!.pending)).toBe(40 + 29);
    const cpu = rowsOf((await detail('bk-ba-be-dia-linh', L.panels.host)).A!).filter((x) => x.cpu_pct !== null);
    expect(cpu.length).toBeGreaterThan(0);
    const outbox = rowsOf((await detail('bk-ba-be-thuong-giao', L.panels.outbox)).A!).filter((x) => x.outbox_depth !== null);
    expect(rowsOf((await detail('bk-ba-be-thuong-giao', L.panels.outbox)).B!).some((x) => x.outbox_dropped === 0)).toBe(true);
    expect(Number(outbox.at(-1)!.outbox_depth)).toBe(30);
  });

  it('counts the reports lost in transit from the sequence gaps', async () => {
    const r = await detail('bk-ba-be-dia-linh', L.panels.gaps, day);
    expect(rowsOf(r.A!).reduce((n, x) => n + Number(x.missing ?? 0), 0)).toBe(5);
    const none = await detail('bk-cho-moi-yen-dinh', L.panels.gaps, day);
    expect(rowsOf(none.A!).reduce((n, x) => n + Number(x.missing ?? 0), 0)).toBe(0);
  });
});

// The rules' figures follow the rollups' SLA: the ISP's downtime only.
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
  queriesRun++;
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

describe('alert rules', () => {
  it('station down fires for the down and the silent station, not for degraded or maintenance', async () => {
    expect(await firing('linkwatch-station-down', 'station')).toEqual(['bk-ba-be-khang-ninh', 'bk-ba-be-thuong-giao']);
  });

  it('the incident rule fires for the open incident only', async () => {
    expect(await firing('linkwatch-incident', 'key')).toEqual(['Ba Bể']);
  });

  it('SLA at risk fires for the circuits below their target over 24 h, maintenance and station-side faults excluded', async () => {
    const below = STATIONS.filter((s) => expectedRollupSla([s.id]).availability < s.sla_target).map((s) => s.id).sort();
    expect(await firing('linkwatch-sla-at-risk', 'station')).toEqual(below);
    expect(below).toEqual(['bk-ba-be-thuong-giao', 'bk-cho-moi-yen-dinh']);
  });

  it('the watchdog does not fire while verdicts arrive', async () => {
    expect(await firing('linkwatch-watchdog', 'station')).toEqual([]);
  });
});

// Last in the file: it adds two stations to the scripted day, and removes them after.
describe('a deaf pipeline', () => {
  const UNHEARD = ['bk-na-ri-kim-hy', 'bk-na-ri-cu-le'];
  beforeAll(async () => {
    const client = new InfluxDB({ host: '127.0.0.1', port: influx.port, database: DB, schema: SCHEMA });
    // Five minutes of verdicts: ok, then unheard because no collector hears the broker (collector/verdict/pipeline.ts).
    const points = UNHEARD.flatMap((station) => Array.from({ length: 30 }, (_, i) => {
      const t = NOW - 300_000 + i * 10_000;
      const unheard = i >= 12;
      return {
        measurement: 'health', timestamp: t,
        tags: { station, district: 'Na Rì', province: 'Bắc Kạn', isp: 'VNPT', area: 'Na Rì' },
        fields: { state: unheard ? 'offline' : 'ok', code: unheard ? 3 : 0, cause: unheard ? 'pipeline' : 'none', since: unheard ? NOW - 180_000 : NOW - 86_400_000, name: station, commune: 'Na Rì', circuit: `VNPT-${station}` },
      };
    }));
    await client.writePoints(points, { precision: 'ms' });
  });
  afterAll(async () => {
    for (const s of UNHEARD) await run(`DROP SERIES FROM "health" WHERE "station" = '${s}'`);
  });

  it('counts the unheard stations in one tile and leaves them out of the stations not OK', async () => {
    const d = boards.triage;
    const v = await vars(d);
    const tile = await runPanel(d, panel(d, L.panels.pipeline), { vars: v });
    expect(rowsOf(tile.A!)[0]!.pipeline).toBe(UNHEARD.length);
    const notOk = rowsOf((await runPanel(d, panel(d, L.panels.notOk), { vars: v })).A!);
    expect(notOk.filter((r) => UNHEARD.includes(String(r.station)))).toEqual([]);
    expect(sortedIds(notOk)).toEqual(brokenNow());
  });

  it('pages once through the watchdog, not once per unheard station', async () => {
    expect(await firing('linkwatch-station-down', 'station')).toEqual(['bk-ba-be-khang-ninh', 'bk-ba-be-thuong-giao']);
  });
});
