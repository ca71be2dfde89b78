/** Triage, for police IT: which stations are not OK now, why, since when; open incidents; counts by state. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  baseDashboard, byThresholds, causeMappings, CODE, DATASOURCE, finish, influx, NOW_WINDOW, scopeVariables,
  stateMappings, stateThresholds, stationDetailLink,
} from './common.js';
import type { Labels } from './i18n.js';
import { openIncidents, stationsNotOk, stationsNotOkOverTime, stationsWithCode } from './queries.js';

export function triageDashboard(L: Labels): dashboard.Dashboard {
  const C = L.columns;
  const states = ['ok', 'degraded', 'down', 'offline', 'maintenance'] as const;
  return finish(
    baseDashboard('triage', L)
      .time({ from: 'now-6h', to: 'now' })
      .refresh('30s')
      .variables(scopeVariables(L))
      .withRow(new dashboard.RowBuilder(L.rows.now))
      .withPanel(
        new StatBuilder()
          .title(L.panels.stateCounts)
          .datasource(DATASOURCE)
          .timeFrom(NOW_WINDOW)
          .targets(states.map((s, i) => influx(String.fromCharCode(65 + i), stationsWithCode(CODE[s], s)).alias(L.states[s])))
          .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
          .colorMode(common.BigValueColorMode.Background)
          .graphMode(common.BigValueGraphMode.None)
          .textMode(common.BigValueTextMode.ValueAndName)
          .noValue(L.states.nodata)
          .overrideByName(L.states.ok, [{ id: 'color', value: { mode: 'fixed', fixedColor: 'green' } }])
          .overrideByName(L.states.degraded, [{ id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } }])
          .overrideByName(L.states.down, [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
          .overrideByName(L.states.offline, [{ id: 'color', value: { mode: 'fixed', fixedColor: 'dark-red' } }])
          .overrideByName(L.states.maintenance, [{ id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } }])
          .span(24)
          .height(4),
      )
      .withPanel(
        new TableBuilder()
          .title(L.panels.notOk)
          .datasource(DATASOURCE)
          .timeFrom(NOW_WINDOW)
          .withTarget(influx('A', stationsNotOk()).table())
          .withTransformation({
            id: 'organize',
            options: {
              excludeByName: { Time: true, state: true },
              indexByName: {
                code: 0, station: 1, name: 2, commune: 3, district: 4, province: 5, isp: 6, cause: 7, since: 8,
                last_seen: 9, loss: 10, rtt_ms: 11,
              },
              renameByName: {
                code: C.state, station: C.station, name: C.name, commune: C.commune, district: C.district,
                province: C.province, isp: C.isp, cause: C.cause, since: C.since, last_seen: C.lastSeen, loss: C.loss,
                rtt_ms: C.rtt,
              },
            },
          })
          .sortBy([new common.TableSortByFieldStateBuilder().displayName(C.state).desc(true)])
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
          .overrideByName(C.since, [{ id: 'unit', value: 'dateTimeFromNow' }])
          .span(12)
          .height(8),
      )
      .withPanel(
        new TimeseriesBuilder()
          .title(L.panels.notOkOverTime)
          .datasource(DATASOURCE)
          .withTarget(influx('A', stationsNotOkOverTime(CODE.degraded, CODE.degraded, 'degraded')).alias(L.states.degraded))
          .withTarget(influx('B', stationsNotOkOverTime(CODE.down, CODE.offline, 'down')).alias(`${L.states.down} / ${L.states.offline}`))
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
