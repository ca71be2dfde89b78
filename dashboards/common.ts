/**
 * House style for every linkwatch dashboard: the datasource, state colours and texts, variables, links, ids.
 * Each dashboard file is one builder chain that uses these.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { InfluxQLQueryBuilder, tagEquals, type Select } from './influxql.js';
import type { Labels } from './i18n.js';

/**
 * Where a board looks: the registry's grouping columns between province and ISP (`district` for registries made
 * before the 2025 reform, `area`, `hub`… after it), and, for a partner's boards, the one ISP they are locked to.
 */
export interface Scope {
  groups: readonly string[];
  partner?: string;
}

export const DEFAULT_SCOPE: Scope = { groups: ['district'] };

/** The variables of a board in order: province, the grouping columns, ISP (unless locked to a partner), station. */
export function scopeVars(scope: Scope, upTo: 'isp' | 'station' = 'station'): string[] {
  const vars = ['province', ...scope.groups, ...(scope.partner ? [] : ['isp'])];
  return upTo === 'station' ? [...vars, 'station'] : vars;
}

/** The uid of the provisioned InfluxDB datasource (deploy/grafana/provisioning/datasources). */
export const DATASOURCE_UID = 'linkwatch-influxdb';
export const DATASOURCE: DataSourceRef = { type: 'influxdb', uid: DATASOURCE_UID };

/**
 * The SDK emits 42 (Grafana 12.2+). Grafana migrates older dashboards forward but refuses newer ones on its k8s API
 * paths (research/grafana.md §1.2), so the files claim 41 and load on Grafana 11.6 and every later version.
 */
export const SCHEMA_VERSION = 41;

export const DASHBOARD_UIDS = {
  triage: 'linkwatch-triage',
  sla: 'linkwatch-sla',
  heatmap: 'linkwatch-heatmap',
  station: 'linkwatch-station',
} as const;
export type DashboardKind = keyof typeof DASHBOARD_UIDS;

export const DASHBOARD_TAG = 'linkwatch';

/**
 * "Now" for panels that show the current state: verdicts older than this are not current. A station without a
 * verdict in the window has no row, and reads NO DATA, never its last (possibly OK) state.
 */
export const NOW_WINDOW = '15m';

/** Min interval of the datasource (`timeInterval`): the agents' and the evaluator's period. */
export const MIN_INTERVAL = '10s';

/** `health.code` (docs/influxdb-schema.md). */
export const CODE = { ok: 0, degraded: 1, down: 2, offline: 3, maintenance: 4 } as const;

const STATE_COLORS = {
  ok: 'green',
  degraded: 'orange',
  down: 'red',
  offline: 'dark-red',
  maintenance: 'blue',
  nodata: 'text',
} as const;

/** Code → state text and colour; null (no verdict in the bucket) → NO DATA. */
export function stateMappings(L: Labels): dashboard.ValueMapping[] {
  const entry = (k: keyof typeof CODE, index: number) => ({ text: L.states[k], color: STATE_COLORS[k], index });
  return [
    {
      type: dashboard.MappingType.ValueToText,
      options: {
        [CODE.ok]: entry('ok', 0),
        [CODE.degraded]: entry('degraded', 1),
        [CODE.down]: entry('down', 2),
        [CODE.offline]: entry('offline', 3),
        [CODE.maintenance]: entry('maintenance', 4),
      },
    },
    noDataMapping(L, 5),
  ];
}

export function noDataMapping(L: Labels, index = 0): dashboard.ValueMapping {
  return {
    type: dashboard.MappingType.SpecialValue,
    options: { match: dashboard.SpecialValueMatch.Null, result: { text: L.states.nodata, color: STATE_COLORS.nodata, index } },
  };
}

/** Cause codes → words. */
export function causeMappings(L: Labels): dashboard.ValueMapping[] {
  const options: Record<string, dashboard.ValueMappingResult> = {};
  Object.entries(L.causes).forEach(([cause, text], index) => (options[cause] = { text, index }));
  return [{ type: dashboard.MappingType.ValueToText, options }];
}

/** Colours by code, for panels that draw codes (timelines, map markers). */
export function stateThresholds(): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: STATE_COLORS.ok },
    { value: CODE.degraded, color: STATE_COLORS.degraded },
    { value: CODE.down, color: STATE_COLORS.down },
    { value: CODE.offline, color: STATE_COLORS.offline },
    { value: CODE.maintenance, color: STATE_COLORS.maintenance },
  ]);
}

/** Availability %: red below 95, orange below 99, green from 99. */
export function availabilityThresholds(): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: 95, color: 'orange' },
    { value: 99, color: 'green' },
  ]);
}

/** A signed margin (availability − target): negative is a breach. */
export function marginThresholds(): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: 0, color: 'green' },
  ]);
}

export function byThresholds(): dashboard.FieldColorBuilder {
  return new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds);
}

/** A panel target in raw InfluxQL on the linkwatch datasource. */
export function influx(refId: string, query: string | Select): InfluxQLQueryBuilder {
  return new InfluxQLQueryBuilder(query).refId(refId).datasource(DATASOURCE);
}

/**
 * A tag-value variable, narrowed by the variables before it (`province` → `district` → `station`). Multi-select with
 * All as `.*`, so 11,000 stations do not become one giant regex; refreshed with the time range so new stations show.
 */
export function tagVariable(
  tag: string,
  label: string,
  parents: string[] = [],
  opts: { multi?: boolean; measurement?: string; lock?: string[] } = {},
): dashboard.QueryVariableBuilder {
  const multi = opts.multi ?? true;
  const where = [...parents.map((p) => `"${p}" =~ /^$${p}$/`), ...(opts.lock ?? [])].join(' AND ');
  const query = `SHOW TAG VALUES FROM "${opts.measurement ?? 'health'}" WITH KEY = "${tag}"${where ? ` WHERE ${where}` : ''}`;
  const v = new dashboard.QueryVariableBuilder(tag)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalCaseInsensitiveAsc)
    .allowCustomValue(false)
    .multi(multi)
    .includeAll(multi);
  return multi ? v.allValue('.*').current({ text: 'All', value: '$__all' }) : v;
}

/** The label of a variable: the known ones translated, a registry column of the operator's own by its name. */
export function varLabel(L: Labels, name: string): string {
  return (L.vars as Record<string, string>)[name] ?? name;
}

/**
 * The location/ownership variables, chained: province, the registry's grouping columns (`district` in old
 * registries; `area`, `hub`… since the 2025 reform), ISP (absent on a partner's boards), station.
 */
export function scopeVariables(L: Labels, scope: Scope, upTo: 'isp' | 'station' = 'station'): dashboard.QueryVariableBuilder[] {
  const names = scopeVars(scope, upTo);
  const lock = scope.partner ? [tagEquals('isp', scope.partner)] : [];
  return names.map((name, i) => tagVariable(name, varLabel(L, name), names.slice(0, i), { lock }));
}

/** A dashboard in house style: stable uid, tags, browser time zone, shared crosshair, a menu of the other boards. */
export function baseDashboard(kind: DashboardKind, L: Labels): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(L.dashboards[kind])
    .uid(DASHBOARD_UIDS[kind])
    .description(L.descriptions[kind])
    .tags([DASHBOARD_TAG, kind])
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .editable()
    .link(
      new dashboard.DashboardLinkBuilder(L.links.dashboards)
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([DASHBOARD_TAG])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    );
}

/** The station board of one station, from an alert's labels (Grafana's template syntax in annotations). */
export function stationBoardPath(stationExpr: string): string {
  return `/d/${DASHBOARD_UIDS.station}?var-station=${stationExpr}`;
}

/** A data link from a station id cell to the station detail dashboard, keeping the time range. */
export function stationDetailLink(L: Labels): { title: string; url: string } {
  return { title: L.links.stationDetail, url: `/d/${DASHBOARD_UIDS.station}?var-station=\${__value.raw}&\${__url_time_range}` };
}

/**
 * Builds the dashboard and settles what the SDK leaves open: panel ids (Grafana needs them for links and alerts;
 * the SDK emits none, and every row gets 0) and the schema version.
 */
export function finish(builder: dashboard.DashboardBuilder): dashboard.Dashboard {
  const d = builder.build();
  d.schemaVersion = SCHEMA_VERSION;
  let id = 0;
  for (const p of d.panels ?? []) {
    p.id = ++id;
    if ('panels' in p) for (const inner of (p as dashboard.RowPanel).panels ?? []) inner.id = ++id;
  }
  return d;
}
