/**
 * Connectivity heatmap, for leaders: headline figures, a map of the stations, the least connected areas, areas hour by
 * hour and day by day, one area's stations.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as BarGaugeBuilder } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  PanelBuilder as GeomapBuilder, MapCenterID, MapViewConfigBuilder, TooltipMode, TooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/geomap';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as StatusHistoryBuilder } from '@grafana/grafana-foundation-sdk/statushistory';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  availabilityThresholds, baseDashboard, byThresholds, causeMappings, DATASOURCE, DEFAULT_SCOPE, finish, influx,
  noDataMapping, NOW_WINDOW, stateMappings, stateThresholds, tagVariable, varLabel, type Scope,
} from './common.js';
import type { Labels } from './i18n.js';
import { tagEquals } from './influxql.js';
import {
  availableNowPct, connectivityCells, connectivityPerGroup, downNow, openIncidentCount, overallAvailability,
  stateTimeline, stationMap, stationsFailingOnMap,
} from './queries.js';

/**
 * Map options an operator may set: an XYZ tile URL (`{z}/{x}/{y}`) for networks without internet, else Grafana's
 * default basemap; a fixed centre, else the view fits the stations.
 */
export interface MapOptions {
  basemapUrl?: string;
  attribution?: string;
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

/** The view: fitted to the stations' markers unless the operator fixes a centre. */
function mapView(map: MapOptions): MapViewConfigBuilder {
  if (map.center) return new MapViewConfigBuilder().id(MapCenterID.Coords).lat(map.center.lat).lon(map.center.lon).zoom(map.center.zoom);
  return new MapViewConfigBuilder().id(MapCenterID.Fit).allLayers(true).lastOnly(false).padding(10).zoom(8).maxZoom(13);
}

export function heatmapDashboard(L: Labels, map: MapOptions = {}, scope: Scope = DEFAULT_SCOPE): dashboard.Dashboard {
  // The first grouping column is the leaders' unit: the former district (`district`) or the `area` of the registry.
  const group = scope.groups[0] ?? 'province';
  const groupName = varLabel(L, group);
  const basemap = map.basemapUrl
    ? new common.MapLayerOptionsBuilder().type('xyz').name('Basemap').config({ url: map.basemapUrl, attribution: map.attribution ?? '' })
    : new common.MapLayerOptionsBuilder().type('default').name('Basemap');
  const markers = (name: string, refId: string, size: number) =>
    new common.MapLayerOptionsBuilder()
      .type('markers')
      .name(name)
      .tooltip(true)
      .filterData({ id: 'byRefId', options: refId })
      .location(new common.FrameGeometrySourceBuilder().mode(common.FrameGeometrySourceMode.Coords).latitude('lat').longitude('lon'))
      .config({ showLegend: refId === 'A', style: { size: { fixed: size }, color: { field: 'code', fixed: 'dark-green' }, opacity: 0.9 } });
  const statusHistory = (title: string, query: ReturnType<typeof connectivityCells>, timeFrom: string) =>
    new StatusHistoryBuilder()
      .title(title)
      .datasource(DATASOURCE)
      .timeFrom(timeFrom)
      .withTarget(influx('A', query).alias(`$tag_${group}`))
      .unit(units.Percent)
      .decimals(1)
      .thresholds(availabilityThresholds())
      .colorScheme(byThresholds())
      .mappings([noDataMapping(L)])
      .showValue(common.VisibilityMode.Never)
      .span(24)
      .height(10);
  const bars = new BarGaugeBuilder()
    .title(L.panels.worstGroups)
    .datasource(DATASOURCE)
    .withTarget(influx('A', connectivityPerGroup(group, scope)).table())
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { connected: L.columns.connected, [group]: groupName } } })
    .withTransformation({ id: 'sortBy', options: { fields: {}, sort: [{ field: L.columns.connected, desc: false }] } })
    .withTransformation({ id: 'limit', options: { limitField: 10 } })
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(true).calcs([]).fields(`/^${L.columns.connected}$/`))
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .unit(units.Percent)
    .decimals(2)
    .min(0)
    .max(100)
    .thresholds(availabilityThresholds())
    .colorScheme(byThresholds())
    .span(10)
    .height(10);
  return finish(
    baseDashboard('heatmap', L)
      .time({ from: 'now-7d', to: 'now' })
      .refresh('5m')
      .variables([
        tagVariable('province', L.vars.province, [], scope.partner ? { lock: [tagEquals('isp', scope.partner)] } : {}),
        // One unit at a time for the station timeline: a province of 3,000 stations is no timeline.
        tagVariable(group, groupName, ['province'], { multi: false }),
      ])
      .withRow(new dashboard.RowBuilder(L.rows.now))
      .withPanel(
        stat(L.panels.headlineOkNow, influx('A', availableNowPct(scope)))
          .timeFrom(NOW_WINDOW)
          .unit(units.Percent)
          .decimals(1)
          .noValue(L.states.nodata)
          .thresholds(availabilityThresholds())
          .colorScheme(byThresholds()),
      )
      .withPanel(
        stat(L.panels.headlineDownNow, influx('A', downNow(scope)))
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
        stat(L.panels.headlineAvailability, influx('A', overallAvailability(scope)))
          .unit(units.Percent)
          .decimals(2)
          .noValue(L.states.nodata)
          .thresholds(availabilityThresholds())
          .colorScheme(byThresholds()),
      )
      .withPanel(
        new GeomapBuilder()
          .title(L.panels.map)
          .datasource(DATASOURCE)
          .timeFrom(NOW_WINDOW)
          .withTarget(influx('A', stationMap(scope)).table())
          // The failing stations again, drawn larger on top of the others.
          .withTarget(influx('B', stationsFailingOnMap(scope)).table())
          .view(mapView(map))
          .basemap(basemap)
          .layers([markers(L.panels.map, 'A', 5), markers(L.panels.mapFailing, 'B', 12)])
          .tooltip(new TooltipOptionsBuilder().mode(TooltipMode.Details))
          .mappings(stateMappings(L))
          .thresholds(stateThresholds())
          .colorScheme(byThresholds())
          .overrideByName('name', [{ id: 'displayName', value: L.columns.name }])
          .overrideByName('cause', [{ id: 'displayName', value: L.columns.cause }, { id: 'mappings', value: causeMappings(L) }])
          .overrideByName('code', [{ id: 'displayName', value: L.columns.state }])
          .overrideByName('lat', [{ id: 'custom.hideFrom', value: { tooltip: true, viz: false, legend: true } }])
          .overrideByName('lon', [{ id: 'custom.hideFrom', value: { tooltip: true, viz: false, legend: true } }])
          .span(14)
          .height(14),
      )
      .withPanel(bars)
      .withRow(new dashboard.RowBuilder(L.rows.history))
      .withPanel(statusHistory(L.panels.groupHours, connectivityCells(group, '1h', scope), '7d'))
      .withPanel(statusHistory(L.panels.groupDays, connectivityCells(group, '1d', scope), '90d'))
      .withPanel(
        new StateTimelineBuilder()
          .title(L.panels.stationTimeline)
          .datasource(DATASOURCE)
          .withTarget(influx('A', stateTimeline(['province', group], scope)).alias('$tag_station'))
          .mappings(stateMappings(L))
          .thresholds(stateThresholds())
          .colorScheme(byThresholds())
          .showValue(common.VisibilityMode.Never)
          .mergeValues(true)
          .rowHeight(0.9)
          .perPage(30)
          .span(24)
          .height(14),
      ),
  );
}
