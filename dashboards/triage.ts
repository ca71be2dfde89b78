/** Triage, for police IT: which stations are not OK now, why, since when; open incidents; counts by state. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  baseDashboard, byThresholds, causeMappings, CODE, DATASOURCE, DEFAULT_SCOPE, finish, influx, NOW_WINDOW, scopeVariables,
  stateMappings, stateThresholds, stationDetailLink, varLabel, type Scope,
} from './common.js';
import type { Labels } from './i18n.js';
import { openIncidents, stationsNotOk, stationsNotOkOverTime, stationsUnheardByPipeline, stationsWithCode } from './queries.js';

/**
 * One stat per state, each with its own query: InfluxDB 1.x returns no series for `count()` over nothing, so a tile
 * of several queries would lose the state that has no station; alone, its `noValue` reads 0. The OK tile reads NO
 * DATA instead: no OK station at all means no verdicts (the watchdog rule pages for that).
 */
function stateTile(L: Labels, scope: Scope, state: (typeof STATES)[number], span: number) {
  return new StatBuilder()
    .title(L.states[state])
    .datasource(DATASOURCE)
    .timeFrom(NOW_WINDOW)
    .withTarget(influx('A', stationsWithCode(CODE[state], state, scope)).alias(L.panels.stateCount))
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.Value)
    .noValue(state === 'ok' ? L.states.nodata : '0')
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Fixed).fixedColor(STATE_TILE_COLORS[state]))
    .span(span)
    .height(4);
}

/**
 * Stations unheard because no collector hears the broker: one fault of the province's server (collector/watchdog.ts,
 * collector/verdict/pipeline.ts), red when any, so IT looks at mosquitto and the collectors instead of N stations.
 */
function pipelineTile(L: Labels, scope: Scope, span: number) {
  return new StatBuilder()
    .title(L.panels.pipeline)
    .datasource(DATASOURCE)
    .timeFrom(NOW_WINDOW)
    .withTarget(influx('A', stationsUnheardByPipeline(scope)).alias(L.panels.stateCount))
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.Value)
    .noValue('0')
    .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
      { value: null, color: 'green' }, { value: 1, color: 'red' },
    ]))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .span(span)
    .height(4);
}

const STATES = ['ok', 'degraded', 'down', 'offline', 'maintenance'] as const;
const STATE_TILE_COLORS = { ok: 'green', degraded: 'orange', down: 'red', offline: 'dark-red', maintenance: 'blue' } as const;

export function triageDashboard(L: Labels, scope: Scope = DEFAULT_SCOPE): dashboard.Dashboard {
  const C = L.columns;
  const groupCols = Object.fromEntries(scope.groups.map((g) => [g, varLabel(L, g)]));
  const columns = ['code', 'station', 'name', 'commune', ...scope.groups, 'province', 'isp', 'circuit', 'cause', 'since', 'last_seen', 'loss', 'rtt_ms'];
  let b = baseDashboard('triage', L)
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .variables(scopeVariables(L, scope))
    .withRow(new dashboard.RowBuilder(`${L.rows.now} · ${L.panels.stateCounts}`));
  STATES.forEach((s) => (b = b.withPanel(stateTile(L, scope, s, 4))));
  b = b.withPanel(pipelineTile(L, scope, 4));
  return finish(
    b
      .withPanel(
        new TableBuilder()
          .title(L.panels.notOk)
          .datasource(DATASOURCE)
          .timeFrom(NOW_WINDOW)
          .withTarget(influx('A', stationsNotOk(scope)).table())
          // Most severe first (offline, down, degraded), and within a state the longest first: two stable sorts,
          // the second key first (Grafana's sortBy transformer sorts by one field).
          .withTransformation({ id: 'sortBy', options: { fields: {}, sort: [{ field: 'since', desc: false }] } })
          .withTransformation({ id: 'sortBy', options: { fields: {}, sort: [{ field: 'code', desc: true }] } })
          .withTransformation({
            id: 'organize',
            options: {
              excludeByName: { Time: true, state: true },
              indexByName: Object.fromEntries(columns.map((c, i) => [c, i])),
              renameByName: {
                code: C.state, station: C.station, name: C.name, commune: C.commune, ...groupCols,
                province: C.province, isp: C.isp, circuit: C.circuit, cause: C.cause, since: C.since, last_seen: C.lastSeen,
                loss: C.loss, rtt_ms: C.rtt,
              },
            },
          })
          .filterable(true)
          .noValue('—')
          .overrideByName(C.state, [
            { id: 'mappings', value: stateMappings(L) },
            { id: 'thresholds', value: stateThresholds().build() },
            { id: 'color', value: { mode: 'thresholds' } },
            { id: 'custom.cellOptions', value: { type: 'color-background' } },
          ])
          .overrideByName(C.station, [{ id: 'links', value: [stationDetailLink(L)] }])
          .overrideByName(C.cause, [{ id: 'mappings', value: causeMappings(L) }])
          .overrideByName(C.since, [{ id: 'unit', value: 'dateTimeFromNow' }])
          .overrideByName(C.lastSeen, [{ id: 'unit', value: 'dateTimeFromNow' }])
          .overrideByName(C.loss, [{ id: 'unit', value: units.PercentUnit }, { id: 'decimals', value: 0 }])
          .overrideByName(C.rtt, [{ id: 'unit', value: units.Milliseconds }, { id: 'decimals', value: 0 }])
          .span(24)
          .height(12),
      )
      .withPanel(
        new TableBuilder()
          .title(L.panels.incidents)
          .datasource(DATASOURCE)
          .withTarget(influx('A', openIncidents()).table())
          .withTransformation({
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              indexByName: { scope: 0, key: 1, stations: 2, cause: 3, since: 4 },
              renameByName: { scope: C.scope, key: C.key, stations: C.stations, cause: C.cause, since: C.since },
            },
          })
          .overrideByName(C.cause, [{ id: 'mappings', value: causeMappings(L) }])
          .overrideByName(C.scope, [{ id: 'mappings', value: [{ type: dashboard.MappingType.ValueToText, options: scopeNames(L, scope) }] }])
          .overrideByName(C.since, [{ id: 'unit', value: 'dateTimeFromNow' }])
          .span(12)
          .height(8),
      )
      .withPanel(
        new TimeseriesBuilder()
          .title(L.panels.notOkOverTime)
          .datasource(DATASOURCE)
          .withTarget(influx('A', stationsNotOkOverTime(CODE.degraded, CODE.degraded, 'degraded', scope)).alias(L.states.degraded))
          .withTarget(influx('B', stationsNotOkOverTime(CODE.down, CODE.offline, 'down', scope)).alias(`${L.states.down} / ${L.states.offline}`))
          .drawStyle(common.GraphDrawStyle.Bars)
          .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
          .fillOpacity(80)
          .decimals(0)
          .min(0)
          .colorScheme(byThresholds())
          .overrideByName(L.states.degraded, [{ id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } }])
          .overrideByName(`${L.states.down} / ${L.states.offline}`, [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
          .span(12)
          .height(8),
      ),
  );
}

/** Incident scope codes (registry columns) → their names. */
function scopeNames(L: Labels, scope: Scope): Record<string, dashboard.ValueMappingResult> {
  const names = ['province', 'isp', ...scope.groups, 'district', 'area', 'hub'];
  return Object.fromEntries([...new Set(names)].map((n, index) => [n, { text: varLabel(L, n), index }]));
}
