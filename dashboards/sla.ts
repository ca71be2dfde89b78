/** SLA, for telecom partners: availability against target per ISP and circuit, outages, downtime, MTTR, latency. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  availabilityThresholds, baseDashboard, DATASOURCE, finish, influx, marginThresholds, stationDetailLink, tagVariable,
} from './common.js';
import type { Labels } from './i18n.js';
import { availabilityOverTime, downtimePerStation, latencyP95, slaPerIsp, slaPerStation } from './queries.js';

function slaColumns(L: Labels) {
  const C = L.columns;
  return {
    availability: [
      { id: 'unit', value: units.Percent },
      { id: 'decimals', value: 2 },
      { id: 'thresholds', value: availabilityThresholds().build() },
      { id: 'color', value: { mode: 'thresholds' } },
      { id: 'custom.cellOptions', value: { type: 'color-text' } },
    ],
    margin: [
      { id: 'unit', value: units.Percent },
      { id: 'decimals', value: 2 },
      { id: 'thresholds', value: marginThresholds().build() },
      { id: 'color', value: { mode: 'thresholds' } },
      { id: 'custom.cellOptions', value: { type: 'color-background' } },
      { id: 'displayName', value: C.margin },
    ],
  };
}

/** MTTR = downtime / outages, computed by Grafana on the merged frames (see downtimePerStation). */
const mttr = {
  id: 'calculateField',
  options: { mode: 'binary', alias: 'mttr_min', binary: { left: 'downtime_min', operator: '/', right: 'outages' }, replaceFields: false },
};

export function slaDashboard(L: Labels): dashboard.Dashboard {
  const C = L.columns;
  const col = slaColumns(L);
  return finish(
    baseDashboard('sla', L)
      .time({ from: 'now-30d', to: 'now' })
      .refresh('15m')
      .variables([
        tagVariable('province', L.vars.province),
        tagVariable('district', L.vars.district, ['province']),
        tagVariable('isp', L.vars.isp, ['province', 'district']),
      ])
      .withRow(new dashboard.RowBuilder(L.panels.slaIsp))
      .withPanel(
        new TableBuilder()
          .title(L.panels.slaIsp)
          .datasource(DATASOURCE)
          .withTarget(influx('A', slaPerIsp()).table())
          .withTarget(influx('B', downtimePerStation()).table())
          // InfluxDB 1.x cannot be trusted to sum integrals or divide them by another aggregate in one statement
          // (see queries.ts): Grafana sums the stations' downtime per ISP, joins on the ISP and divides.
          .withTransformation({
            id: 'groupBy',
            filter: { id: 'byRefId', options: 'B' },
            options: {
              fields: {
                isp: { operation: 'groupby', aggregations: [] },
                downtime_min: { operation: 'aggregate', aggregations: ['sum'] },
              },
            },
          })
          .withTransformation({ id: 'organize', filter: { id: 'byRefId', options: 'B' }, options: { renameByName: { 'downtime_min (sum)': 'downtime_min' } } })
          .withTransformation({ id: 'merge', options: {} })
          .withTransformation(mttr)
          .withTransformation({
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              indexByName: { isp: 0, availability: 1, outages: 2, downtime_min: 3, mttr_min: 4, rtt_p95_ms: 5, loss_pct: 6 },
              renameByName: {
                isp: C.isp, availability: C.availability, outages: C.outages, downtime_min: C.downtime, mttr_min: C.mttr,
                rtt_p95_ms: C.p95, loss_pct: C.loss,
              },
            },
          })
          .overrideByName(C.availability, col.availability)
          .overrideByName(C.downtime, [{ id: 'unit', value: units.Minutes }, { id: 'decimals', value: 0 }])
          .overrideByName(C.mttr, [{ id: 'unit', value: units.Minutes }, { id: 'decimals', value: 0 }])
          .overrideByName(C.p95, [{ id: 'unit', value: units.Milliseconds }, { id: 'decimals', value: 0 }])
          .overrideByName(C.loss, [{ id: 'unit', value: units.Percent }, { id: 'decimals', value: 2 }])
          .span(24)
          .height(7),
      )
      .withPanel(
        new TimeseriesBuilder()
          .title(L.panels.availabilityOverTime)
          .datasource(DATASOURCE)
          .withTarget(influx('A', availabilityOverTime('isp')).alias('$tag_isp'))
          .unit(units.Percent)
          .max(100)
          .thresholds(availabilityThresholds())
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
          .spanNulls(false)
          .span(12)
          .height(8),
      )
      .withPanel(
        new TimeseriesBuilder()
          .title(L.panels.latencyIsp)
          .datasource(DATASOURCE)
          .withTarget(influx('A', latencyP95('isp')).alias('$tag_isp'))
          .unit(units.Milliseconds)
          .span(12)
          .height(8),
      )
      .withRow(new dashboard.RowBuilder(L.panels.slaStations))
      .withPanel(
        new TableBuilder()
          .title(L.panels.slaStations)
          .description(L.descriptions.sla)
          .datasource(DATASOURCE)
          .withTarget(influx('A', slaPerStation()).table())
          .withTarget(influx('B', downtimePerStation()).table())
          .withTransformation({ id: 'merge', options: {} })
          .withTransformation(mttr)
          .withTransformation({
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              indexByName: {
                isp: 0, circuit: 1, station: 2, name: 3, district: 4, availability: 5, sla_target: 6, margin: 7,
                outages: 8, downtime_min: 9, mttr_min: 10, rtt_p95_ms: 11, loss_pct: 12,
              },
              renameByName: {
                isp: C.isp, circuit: C.circuit, station: C.station, name: C.name, district: C.district,
                availability: C.availability, sla_target: C.target, outages: C.outages, downtime_min: C.downtime,
                mttr_min: C.mttr, rtt_p95_ms: C.p95, loss_pct: C.loss,
              },
            },
          })
          .sortBy([new common.TableSortByFieldStateBuilder().displayName(C.margin).desc(false)])
          .filterable(true)
          .overrideByName(C.availability, col.availability)
          .overrideByName('margin', col.margin)
          .overrideByName(C.target, [{ id: 'unit', value: units.Percent }, { id: 'decimals', value: 2 }])
          .overrideByName(C.station, [{ id: 'links', value: [stationDetailLink(L)] }])
          .overrideByName(C.downtime, [{ id: 'unit', value: units.Minutes }, { id: 'decimals', value: 0 }])
          .overrideByName(C.mttr, [{ id: 'unit', value: units.Minutes }, { id: 'decimals', value: 0 }])
          .overrideByName(C.p95, [{ id: 'unit', value: units.Milliseconds }, { id: 'decimals', value: 0 }])
          .overrideByName(C.loss, [{ id: 'unit', value: units.Percent }, { id: 'decimals', value: 2 }])
          .span(24)
          .height(14),
      ),
  );
}
