/**
 * The boards as Grafana itself draws them: every panel's queries run against a real influxd filled with the scripted
 * day, turned into frames the way Grafana's InfluxDB backend does, then through the panel's transformations with
 * @grafana/data's own transformers; every alert rule through the expression and evaluator rules of Grafana's alerting
 * (test/helpers/dashboards-grafana.ts says what is Grafana's code and what is a port of its Go).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataTransformerConfig, DataFrame } from '@grafana/data';
import type { Dashboard, Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertRulesFile } from '../../dashboards/alerts.js';
import { labels } from '../../dashboards/i18n.js';
import { buildDashboards, buildPartnerDashboards } from '../../dashboards/index.js';
import { applyBackendMacros, substituteMacros, type VariableValue } from '../../dashboards/macros.js';
import type { LocalServer } from '../../deploy/local-servers.js';
import { panelIntervalMs, panelRange, panelsOf, resolveVariables, runInfluxQL, targetsOf, type QueryResult } from '../helpers/dashboards.js';
import { displayName, evaluateAlert, frameRows, influxqlToFrames, transform } from '../helpers/dashboards-grafana.js';
import { brokenNow, slaHourPoints, byId, expectedRollupSla, NOW, startScenarioInflux, STATIONS } from '../helpers/dashboards-scenario.js';

const DB = 'linkwatch';
const L = labels('en');
const boards = buildDashboards('en');
let influx: LocalServer;
let stop: (() => Promise<void>) | undefined;

const run = (q: string): Promise<QueryResult> => runInfluxQL(influx.url, DB, q);

beforeAll(async () => {
  ({ influx, stop } = await startScenarioInflux());
}, 120_000);

afterAll(async () => {
  await stop?.();
});

const day = { from: NOW - 86_400_000, to: NOW };

function panel(d: Dashboard, title: string): Panel {
  const p = panelsOf(d).find((x) => x.title === title);
  if (!p) throw new Error(`no panel "${title}" in ${d.title}`);
  return p;
}

const vars = (d: Dashboard, pick: Record<string, string | string[]> = {}) =>
  resolveVariables(d, run, (q, v) => substituteMacros(q, { ...day, intervalMs: 60_000, variables: v }), pick);

/** A panel's frames as Grafana's datasource returns them, then its transformations by Grafana's transformers. */
async function drawn(d: Dashboard, p: Panel, range?: { from: number; to: number }, v?: Record<string, VariableValue>): Promise<DataFrame[]> {
  const r = range ?? panelRange(d, p, NOW);
  const variables = v ?? (await vars(d));
  const frames: DataFrame[] = [];
  for (const t of targetsOf(p)) {
    const intervalMs = panelIntervalMs(r, 1000, p.interval);
    const q = substituteMacros(t.query, { ...r, intervalMs, variables });
    const res = await run(q);
    expect(res.error, `${p.title} ${t.refId}: ${q}`).toBeUndefined();
    frames.push(...influxqlToFrames(res.series, { refId: t.refId!, resultFormat: t.resultFormat, ...(t.alias ? { alias: t.alias } : {}), intervalMs }));
  }
  return transform((p.transformations ?? []) as DataTransformerConfig[], frames);
}

function only(frames: DataFrame[]): Record<string, unknown>[] {
  expect(frames.length).toBe(1);
  return frameRows(frames[0]!, frames);
}

describe('SLA board, drawn by Grafana\'s transformers', () => {
  it('per ISP: every column the table names is there, MTTR included, with the scenario\'s figures', async () => {
    const rows = only(await drawn(boards.sla, panel(boards.sla, L.panels.slaIsp), day));
    const C = L.columns;
    expect(rows.map((r) => r[C.isp]).sort()).toEqual(['VNPT', 'Viettel']);
    for (const r of rows) for (const col of [C.isp, C.availability, C.outages, C.downtime, C.mttr, C.p95, C.loss]) expect(Object.keys(r), col).toContain(col);
    const vnpt = rows.find((r) => r[C.isp] === 'VNPT')!;
    const want = expectedRollupSla(STATIONS.filter((s) => s.isp === 'VNPT').map((s) => s.id));
    expect(vnpt[C.outages]).toBe(want.outages);
    expect(Number(vnpt[C.mttr])).toBeCloseTo(want.mttrMin!, 6);
    // Viettel had no outage of its own: no MTTR, shown empty.
    expect(rows.find((r) => r[C.isp] === 'Viettel')![C.mttr] ?? null).toBeNull();
  });

  it('per station: MTTR is a number where there were outages and empty (never NaN or Infinity) where there were none', async () => {
    const rows = only(await drawn(boards.sla, panel(boards.sla, L.panels.slaStations), day));
    const C = L.columns;
    expect(rows.map((r) => r[C.station]).sort()).toEqual(STATIONS.map((s) => s.id).sort());
    for (const r of rows) {
      const mttr = r[C.mttr];
      expect(mttr === null || mttr === undefined || Number.isFinite(mttr), `${String(r[C.station])}: MTTR ${String(mttr)}`).toBe(true);
    }
    const byId = new Map(rows.map((r) => [r[C.station], r]));
    expect(Number(byId.get('bk-ba-be-thuong-giao')![C.mttr])).toBeCloseTo(30, 6);
    expect(Number(byId.get('bk-cho-moi-yen-dinh')![C.mttr])).toBeCloseTo(60, 6);
    expect(byId.get('bk-ba-be-cho-ra')![C.mttr] ?? null).toBeNull();
    // Sorted by margin to each circuit's own target, worst first is the panel's sort; the margin is per circuit.
    expect(Number(byId.get('bk-cho-moi-yen-dinh')![C.margin])).toBeCloseTo(expectedRollupSla(['bk-cho-moi-yen-dinh']).availability - 99.5, 6);
  });
});

describe('triage and heatmap, drawn by Grafana\'s transformers', () => {
  it('lists the stations not OK most severe first, then the longest first, with circuit and ISP', async () => {
    const d = boards.triage;
    const rows = only(await drawn(d, panel(d, L.panels.notOk)));
    const C = L.columns;
    expect(rows.map((r) => r[C.station]).sort()).toEqual(brokenNow());
    const keys = rows.map((r) => [Number(r[C.state]), Number(r[C.since])] as const);
    for (let i = 1; i < keys.length; i++) {
      const [c0, s0] = keys[i - 1]!;
      const [c1, s1] = keys[i]!;
      expect(c0 > c1 || (c0 === c1 && s0 <= s1), `row ${i}`).toBe(true);
    }
    expect(rows[0]![C.station]).toBe('bk-ba-be-khang-ninh');
    for (const r of rows) {
      expect(r[C.circuit]).toBe(byId(String(r[C.station])).circuit);
      expect(r[C.isp]).toBe(byId(String(r[C.station])).isp);
    }
  });

  it('ranks the least connected areas first, at most ten bars', async () => {
    const d = boards.heatmap;
    const frames = await drawn(d, panel(d, L.panels.worstGroups), day);
    const rows = only(frames);
    expect(rows.length).toBeLessThanOrEqual(10);
    const connected = (area: string) => {
      const pts = slaHourPoints().filter((p) => p.tags!.district === area && (p.timestamp as number) >= day.from);
      const sum = (k: string) => pts.reduce((n, p) => n + Number(p.fields![k]), 0);
      return (100 * sum('available_s')) / (sum('available_s') + sum('downtime_s') + sum('station_side_s') + sum('other_s'));
    };
    const want = ['Ba Bể', 'Chợ Mới'].sort((a, b) => connected(a) - connected(b));
    expect(rows.map((r) => r[L.vars.district])).toEqual(want);
    const values = rows.map((r) => Number(r[L.columns.connected]));
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    expect(values[0]).toBeLessThan(100);
  });

  it('draws status histories with no more than one cell per two pixels on a 1280 px screen (Grafana refuses more)', async () => {
    const d = boards.heatmap;
    for (const title of [L.panels.groupHours, L.panels.groupDays]) {
      const p = panel(d, title);
      const frames = await drawn(d, p);
      const widthPx = (1280 * (p.gridPos?.w ?? 24)) / 24;
      for (const f of frames) expect(f.length, title).toBeLessThan(widthPx / 2);
    }
  });

  it('shows the map\'s station names and puts the failing stations in their own, larger layer', async () => {
    const d = boards.heatmap;
    const p = panel(d, L.panels.map);
    const frames = await drawn(d, p);
    const failing = frames.find((f) => f.refId === 'B')!;
    expect(frameRows(failing, frames).map((r) => r.station).sort()).toEqual(['bk-ba-be-khang-ninh', 'bk-ba-be-thuong-giao']);
    const all = frameRows(frames.find((f) => f.refId === 'A')!, frames);
    for (const r of all) expect(r.name).toBe(byId(String(r.station)).name);
    const opts = p.options as { view: { id: string }; tooltip: { mode: string }; layers: { config: { style: { size: { fixed: number } } } }[] };
    expect(opts.view.id).toBe('fit');
    expect(opts.tooltip.mode).toBe('details');
    expect(opts.layers[1]!.config.style.size.fixed).toBeGreaterThan(opts.layers[0]!.config.style.size.fixed);
  });
});

describe('boards for a registry made after the 2025 reform (--groups area)', () => {
  const areaBoards = buildDashboards('en', { groups: ['area'] });

  it.each(['triage', 'sla', 'heatmap'] as const)('%s: every panel draws data, filtered by area', async (kind) => {
    const d = areaBoards[kind];
    expect((d.templating.list ?? []).map((v) => v.name)).toContain('area');
    const v = await vars(d, { area: kind === 'heatmap' ? 'Ba Bể' : ['Ba Bể'] });
    expect(v.area!.options!.sort()).toEqual(['Ba Bể', 'Chợ Mới']);
    for (const p of panelsOf(d)) {
      const frames = await drawn(d, p, p.timeFrom ? undefined : day, v);
      if (p.fieldConfig?.defaults?.noValue === '0') continue;
      expect(frames.length, p.title).toBeGreaterThan(0);
    }
    if (kind === 'sla') {
      const rows = only(await drawn(d, panel(d, L.panels.slaStations), day, v));
      expect(rows.map((r) => r[L.vars.area])).toEqual(rows.map(() => 'Ba Bể'));
    }
  });
});

describe('a partner\'s SLA board (--partner VNPT)', () => {
  it('shows only that ISP\'s circuits, with the same figures as the full board', async () => {
    const [d] = buildPartnerDashboards('en', 'VNPT');
    const v = await vars(d!);
    expect(v.isp).toBeUndefined();
    const rows = only(await drawn(d!, panel(d!, L.panels.slaStations), day, v));
    const C = L.columns;
    expect(rows.map((r) => r[C.station]).sort()).toEqual(STATIONS.filter((s) => s.isp === 'VNPT').map((s) => s.id).sort());
    expect(new Set(rows.map((r) => r[C.isp]))).toEqual(new Set(['VNPT']));
    const isp = only(await drawn(d!, panel(d!, L.panels.slaIsp), day, v));
    expect(isp.map((r) => r[C.isp])).toEqual(['VNPT']);
    expect(Number(isp[0]![C.mttr])).toBeCloseTo(expectedRollupSla(STATIONS.filter((s) => s.isp === 'VNPT').map((s) => s.id)).mttrMin!, 6);
  });
});

describe('every panel with transformations', () => {
  const withTransformations = Object.entries(boards).flatMap(([kind, d]) =>
    panelsOf(d).filter((p) => (p.transformations ?? []).length > 0).map((p) => ({ kind, title: p.title! })));

  it.each(withTransformations)('$kind · $title shows every column its organize step names', async ({ kind, title }) => {
    const d = boards[kind as keyof typeof boards];
    const p = panel(d, title);
    const frames = await drawn(d, p, p.timeFrom ? undefined : day);
    const organize = (p.transformations ?? []).filter((t) => t.id === 'organize').at(-1);
    const expected = Object.entries((organize?.options as { renameByName?: Record<string, string> })?.renameByName ?? {});
    const excluded = (organize?.options as { excludeByName?: Record<string, boolean> })?.excludeByName ?? {};
    const shown = new Set(frames.flatMap((f) => f.fields.map((x) => displayName(x, f, frames))));
    for (const [from, to] of expected) {
      if (excluded[from]) continue;
      expect([...shown], `${title}: column ${from} → ${to}`).toContain(to);
    }
  });
});

describe('alert rules, through Grafana\'s expression and evaluator rules', () => {
  const rules = alertRulesFile(L).groups.flatMap((g) => g.rules);

  async function evaluate(uid: string, now = NOW) {
    const rule = rules.find((r) => r.uid === uid)!;
    const a = rule.data[0]!;
    const range = { from: now - (a.relativeTimeRange.from ?? 0) * 1000, to: now - (a.relativeTimeRange.to ?? 0) * 1000 };
    const q = applyBackendMacros(String(a.model.query), { ...range, intervalMs: 60_000 });
    const res = await run(q);
    expect(res.error, q).toBeUndefined();
    const frames = influxqlToFrames(res.series, { refId: 'A', resultFormat: (a.model.resultFormat as 'time_series') ?? 'time_series' });
    const reduce = rule.data[1]!.model as { reducer: string; settings?: { mode?: string } };
    const cond = (rule.data[2]!.model as { conditions: { evaluator: { type: string; params: number[] } }[] }).conditions[0]!.evaluator;
    return { rule, outcome: evaluateAlert(frames, reduce.reducer, reduce.settings?.mode, cond) };
  }

  it.each(rules.map((r) => ({ uid: r.uid! })))('$uid evaluates without error on the scripted day', async ({ uid }) => {
    const { outcome } = await evaluate(uid);
    expect(outcome.state === 'error' ? outcome.error : 'ok').toBe('ok');
  });

  it('the watchdog pages (NoData → Alerting) when no verdict has been written for 5 minutes', async () => {
    const { rule, outcome } = await evaluate('linkwatch-watchdog', NOW + 3_600_000);
    expect(outcome.state).toBe('nodata');
    expect(rule.noDataState).toBe('Alerting');
    expect(rule.execErrState).toBe('Alerting');
    const live = await evaluate('linkwatch-watchdog');
    expect(live.outcome.state === 'ok' && live.outcome.instances.map((i) => i.firing)).toEqual([false]);
  });

  it('every alert query returns one numeric value per series (no string field for Grafana to drop)', async () => {
    for (const r of rules) {
      const a = r.data[0]!;
      const q = applyBackendMacros(String(a.model.query), { from: NOW - 86_400_000, to: NOW, intervalMs: 60_000 });
      const res = await run(q);
      for (const s of res.series) expect(s.columns.length, `${r.uid}: ${s.columns.join(',')}`).toBe(2);
    }
  });

  it('the incident rule fires for the open incident only, one numeric value per frame', async () => {
    const { outcome } = await evaluate('linkwatch-incident');
    expect(outcome.state).toBe('ok');
    if (outcome.state !== 'ok') return;
    expect(outcome.instances.filter((i) => i.firing).map((i) => [i.labels.scope, i.labels.key])).toEqual([['district', 'Ba Bể']]);
  });
});
