/** Station detail: one station's path, sessions, backlog, host and agent, for the engineer on the phone with it. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  baseDashboard, byThresholds, causeMappings, DATASOURCE, finish, influx, NOW_WINDOW, stateMappings, stateThresholds,
  tagVariable,
} from './common.js';
import type { Labels } from './i18n.js';
import {
  backlog, currentState, host, httpPhases, outbox, probeByRole, reportDelay, sequenceGaps, sessionDrops, stateTimeline,
} from './queries.js';

const PHASES = [['dns_ms', 'dns'], ['connect_ms', 'connect'], ['tls_ms', 'tls'], ['ttfb_ms', 'ttfb']] as const;

function series(title: string, unit: string) {
  return new TimeseriesBuilder().title(title).datasource(DATASOURCE).unit(unit).span(12).height(8);
}

export function stationDashboard(L: Labels): dashboard.Dashboard {
  return finish(
    baseDashboard('station', L)
      .time({ from: 'now-24h', to: 'now' })
      .refresh('1m')
      .withVariable(tagVariable('station', L.vars.station, [], { multi: false }))
      .withRow(new dashboard.RowBuilder(L.rows.station))
      .withPanel(
        new StatBuilder()
          .title(L.panels.currentState)
          .datasource(DATASOURCE)
          .timeFrom(NOW_WINDOW)
          .withTarget(influx('A', currentState()).table())
          .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^code$/'))
          .mappings(stateMappings(L))
          .thresholds(stateThresholds())
          .colorScheme(byThresholds())
          .colorMode(common.BigValueColorMode.Background)
          .graphMode(common.BigValueGraphMode.None)
          // A station without a verdict in the window has no row at all: it reads NO DATA, never OK.
          .noValue(L.states.nodata)
          .span(6)
          .height(5),
      )
      .withPanel(
        new StatBuilder()
          .title(L.panels.currentCause)
          .datasource(DATASOURCE)
          .timeFrom(NOW_WINDOW)
          .withTarget(influx('A', currentState()).table())
          .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^(cause|since|last_seen)$/'))
          .overrideByName('cause', [{ id: 'displayName', value: L.columns.cause }, { id: 'mappings', value: causeMappings(L) }])
          .overrideByName('since', [{ id: 'unit', value: 'dateTimeFromNow' }, { id: 'displayName', value: L.columns.since }])
          .overrideByName('last_seen', [{ id: 'unit', value: 'dateTimeFromNow' }, { id: 'displayName', value: L.columns.lastSeen }])
          .colorMode(common.BigValueColorMode.None)
          .graphMode(common.BigValueGraphMode.None)
          .textMode(common.BigValueTextMode.ValueAndName)
          .noValue(L.states.nodata)
          .span(18)
          .height(5),
      )
      .withPanel(
        new StateTimelineBuilder()
          .title(L.panels.stateTimeline)
          .datasource(DATASOURCE)
          .withTarget(influx('A', stateTimeline(['station'])).alias('$tag_station'))
          .mappings(stateMappings(L))
          .thresholds(stateThresholds())
          .colorScheme(byThresholds())
          .showValue(common.VisibilityMode.Never)
          .mergeValues(true)
          .span(24)
          .height(4),
      )
      .withRow(new dashboard.RowBuilder(L.rows.path))
      .withPanel(series(L.panels.rttByRole, units.Milliseconds).withTarget(influx('A', probeByRole('rtt_avg_ms', 'mean("rtt_avg_ms")')).alias('$tag_role · $tag_target')))
      .withPanel(series(L.panels.lossByRole, units.Percent).max(100).withTarget(influx('A', probeByRole('loss_pct', '100 * mean("loss")')).alias('$tag_role · $tag_target')))
      .withPanel(
        series(L.panels.httpPhases, units.Milliseconds)
          .targets(PHASES.map(([field, key], i) => influx(String.fromCharCode(65 + i), httpPhases(field)).alias(`$tag_target · ${L.columns[key]}`)))
          .drawStyle(common.GraphDrawStyle.Bars)
          .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
          .fillOpacity(70),
      )
      .withPanel(
        series(L.panels.sessionDrops, units.Short)
          .withTarget(influx('A', sessionDrops()).alias('$tag_session'))
          .drawStyle(common.GraphDrawStyle.Bars)
          .fillOpacity(80)
          .decimals(0),
      )
      .withRow(new dashboard.RowBuilder(L.rows.agent))
      .withPanel(series(L.panels.backlog, units.Short).withTarget(influx('A', backlog('pending')).alias('$tag_source')))
      .withPanel(series(L.panels.backlogAge, units.Seconds).withTarget(influx('A', backlog('oldest_age_s')).alias('$tag_source')))
      // Every series named in the board's language: one field per query and an alias, never `$col` (a raw field name).
      .withPanel(series(L.panels.host, units.Percent).max(100)
        .withTarget(influx('A', host(['mean', 'cpu_pct'])).alias(L.columns.cpu))
        .withTarget(influx('B', host(['mean', 'mem_used_pct'])).alias(L.columns.mem)))
      .withPanel(series(L.panels.disk, units.BytesIEC).withTarget(influx('A', host(['min', 'disk_free_bytes'])).alias(L.columns.diskFree)))
      .withPanel(series(L.panels.outbox, units.Short)
        .withTarget(influx('A', outbox('outbox_depth')).alias(L.columns.outboxDepth))
        .withTarget(influx('B', outbox('outbox_dropped')).alias(L.columns.outboxDropped)))
      .withPanel(
        series(L.panels.gaps, units.Short)
          .withTarget(influx('A', sequenceGaps()).alias(L.panels.gaps))
          .drawStyle(common.GraphDrawStyle.Bars)
          .decimals(0),
      )
      .withPanel(series(L.panels.delay, units.Milliseconds).withTarget(influx('A', reportDelay()).alias(L.columns.delay))),
  );
}
