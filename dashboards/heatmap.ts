/** Connectivity heatmap, for leaders: districts over time, one district's stations, a map, headline figures. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as GeomapBuilder, MapViewConfigBuilder } from '@grafana/grafana-foundation-sdk/geomap';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as StatusHistoryBuilder } from '@grafana/grafana-foundation-sdk/statushistory';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  availabilityThresholds, baseDashboard, byThresholds, DATASOURCE, finish, influx, noDataMapping, NOW_WINDOW,
  stateMappings, stateThresholds, tagVariable,
} from './common.js';
import type { Labels } from './i18n.js';
import {
  availableNowPct, availabilityOverTime, downNow, openIncidentCount, overallAvailability, stateTimeline, stationMap,
} from './queries.js';

/** Map options an operator may set: an XYZ tile URL for networks without internet (else Grafana's default basemap). */
export interface MapOptions {
  basemapUrl?: string;
  center?: { lat: number; lon: number; zoom: number };
}

function stat(title: string, refQuery: ReturnType<typeof influx>) {
  return new StatBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .withTarget(refQuery)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .span(6)
    .height(4);
}

export function heatmapDashboard(L: Labels, map: MapOptions = {}): dashboard.Dashboard {
  const center = map.center ?? { lat: 16.0, lon: 106.0, zoom: 5 };
  const basemap = map.basemapUrl
    ? new common.MapLayerOptionsBuilder().type('xyz').name('Basemap').config({ url: map.basemapUrl, attribution: '' })
    : new common.MapLayerOptionsBuilder().type('default').name('Basemap');
  return finish(
    baseDashboard('heatmap', L)
      .time({ from: 'now-7d', to: 'now' })
      .refresh('5m')
      .variables([
        tagVariable('province', L.vars.province),
        tagVariable('district', L.vars.district, ['province']),
      ])
      .withRow(new dashboard.RowBuilder(L.rows.now))
      .withPanel(
        stat(L.panels.headlineOkNow, influx('A', availableNowPct()))
          .timeFrom(NOW_WINDOW)
          .unit(units.Percent)
          .decimals(1)
          .noValue(L.states.nodata)
          .thresholds(availabilityThresholds())
          .colorScheme(byThresholds()),
      )
      .withPanel(
        stat(L.panels.headlineDownNow, influx('A', downNow()))
          .timeFrom(NOW_WINDOW)
          .noValue('0')
          .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute)
            .steps([{ value: null, color: 'green' }, { value: 1, color: 'red' }]))
          .colorScheme(byThresholds()),
      )
      .withPanel(
        stat(L.panels.headlineIncidents, influx('A', openIncidentCount()))
          .noValue('0')
          .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute)
            .steps([{ value: null, color: 'green' }, { value: 1, color: 'red' }]))
          .colorScheme(byThresholds()),
      )
      .withPanel(
        stat(L.panels.headlineAvailability, influx('A', overallAvailability()))
          .unit(units.Percent)
          .decimals(2)
          .noValue(L.states.nodata)
          .thresholds(availabilityThresholds())
          .colorScheme(byThresholds()),
      )
      .withPanel(
        new StatusHistoryBuilder()
          .title(L.panels.districtHistory)
          .datasource(DATASOURCE)
          .withTarget(influx('A', availabilityOverTime('district', ['province', 'district'])).alias('$tag_district'))
          .unit(units.Percent)
          .decimals(1)
          .thresholds(availabilityThresholds())
          .colorScheme(byThresholds())
          .mappings([noDataMapping(L)])
          .showValue(common.VisibilityMode.Never)
          .span(24)
          .height(10),
      )
      .withPanel(
        new StateTimelineBuilder()
          .title(L.panels.stationTimeline)
          .datasource(DATASOURCE)
          .withTarget(influx('A', stateTimeline(['province', 'district'])).alias('$tag_station'))
          .mappings(stateMappings(L))
          .thresholds(stateThresholds())
          .colorScheme(byThresholds())
          .showValue(common.VisibilityMode.Never)
          .mergeValues(true)
          .rowHeight(0.9)
          .perPage(30)
          .span(14)
          .height(14),
      )
      .withPanel(
        new GeomapBuilder()
          .title(L.panels.map)
          .datasource(DATASOURCE)
          .timeFrom(NOW_WINDOW)
          .withTarget(influx('A', stationMap()).table())
          .view(new MapViewConfigBuilder().id('coords').lat(center.lat).lon(center.lon).zoom(center.zoom))
          .basemap(basemap)
          .layers([
            new common.MapLayerOptionsBuilder()
              .type('markers')
              .name(L.panels.map)
              .tooltip(true)
              .location(new common.FrameGeometrySourceBuilder().mode(common.FrameGeometrySourceMode.Coords).latitude('lat').longitude('lon'))
              .config({ showLegend: true, style: { size: { fixed: 6 }, color: { field: 'code', fixed: 'dark-green' }, opacity: 0.9 } }),
          ])
          .mappings(stateMappings(L))
          .thresholds(stateThresholds())
          .colorScheme(byThresholds())
          .span(10)
          .height(14),
      ),
  );
}
