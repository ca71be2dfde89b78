/**
 * SLA, for telecom partners: availability against each circuit's target per ISP and circuit, outages, downtime, MTTR,
 * exclusions, latency, loss and data completeness, from the evaluator's hourly/daily rollups (RP `rollups`).
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  baseDashboard, DASHBOARD_UIDS, DATASOURCE, DEFAULT_SCOPE, finish, influx, marginThresholds, scopeVariables, stationDetailLink,
  varLabel, type Scope,
} from './common.js';
import type { Labels } from './i18n.js';
import { availabilityOverTime, latencyP95, mttr, ROLLUP_VAR, slaPerIsp, slaPerStation } from './queries.js';

/**
 * Availability is shown plain: each circuit has its own target, so a fixed colour scale would call 99.2 % green on a
 * 99.5 % circuit. The margin to the circuit's own target carries the colour (red below 0).
 */
function slaColumns() {
  return {
    availability: [
      { id: 'unit', value: units.Percent },
      { id: 'decimals', value: 3 },
    ],
    margin: [
      { id: 'unit', value: units.Percent },
      { id: 'decimals', value: 2 },
      { id: 'thresholds', value: marginThresholds().build() },
      { id: 'color', value: { mode: 'thresholds' } },
      { id: 'custom.cellOptions', value: { type: 'color-background' } },
    ],
  };
}

/** Time is the range start in every frame; dropped before merge, so rows are matched on their tags alone. */
const dropTime = { id: 'organize', options: { excludeByName: { Time: true } } };
const merge = { id: 'merge', options: {} };

/** Which rollup the tables read: hours (exact to the hour, the default) or days in Asia/Ho_Chi_Minh (months, years). */
function rollupVariable(L: Labels): dashboard.CustomVariableBuilder {
  return new dashboard.CustomVariableBuilder(ROLLUP_VAR)
    .label(L.vars.rollup)
    .values('sla_hour,sla_day')
    .options([
      { text: L.vars.rollupHour, value: 'sla_hour', selected: true },
      { text: L.vars.rollupDay, value: 'sla_day', selected: false },
    ])
    .current({ text: L.vars.rollupHour, value: 'sla_hour' })
    .multi(false)
    .includeAll(false);
}

/** The SLA board; a partner's copy (`scope.partner`) is locked to that ISP and has its own uid. */
export function slaDashboard(L: Labels, scope: Scope = DEFAULT_SCOPE): dashboard.Dashboard {
  const C = L.columns;
  const col = slaColumns();
  const stationTags = ['station', 'isp', 'circuit', ...scope.groups];
  const minutes = [{ id: 'unit', value: units.Minutes }, { id: 'decimals', value: 0 }];
  const groupCols = Object.fromEntries(scope.groups.map((g) => [g, varLabel(L, g)]));
  const board = baseDashboard('sla', L);
  if (scope.partner) board.uid(partnerUid(scope.partner)).title(`${L.dashboards.sla} · ${scope.partner}`);
  return finish(
    board
      .time({ from: 'now-30d', to: 'now' })
      .refresh('15m')
      .variables([...scopeVariables(L, scope, 'isp'), rollupVariable(L)])
      .withRow(new dashboard.RowBuilder(L.panels.slaIsp))
      .withPanel(
        new TableBuilder()
          .title(L.panels.slaIsp)
          .description(L.descriptions.slaFigures)
          .datasource(DATASOURCE)
          .withTarget(influx('A', slaPerIsp(scope)).table())
          .withTarget(influx('B', mttr(['isp'], scope)).table())
          .withTransformation(dropTime)
          .withTransformation(merge)
          .withTransformation({
            id: 'organize',
            options: {
              indexByName: { isp: 0, availability: 1, outages: 2, downtime_min: 3, mttr_min: 4, excluded_min: 5, rtt_p95_ms: 6, loss_pct: 7, completeness: 8 },
              renameByName: {
                isp: C.isp, availability: C.availability, outages: C.outages, downtime_min: C.downtime, mttr_min: C.mttr,
                excluded_min: C.excluded, rtt_p95_ms: C.p95, loss_pct: C.loss, completeness: C.completeness,
              },
            },
          })
          .overrideByName(C.availability, col.availability)
          .overrideByName(C.downtime, minutes)
          .overrideByName(C.mttr, minutes)
          .overrideByName(C.excluded, minutes)
          .overrideByName(C.p95, [{ id: 'unit', value: units.Milliseconds }, { id: 'decimals', value: 0 }])
          .overrideByName(C.loss, [{ id: 'unit', value: units.Percent }, { id: 'decimals', value: 2 }])
          .overrideByName(C.completeness, [{ id: 'unit', value: units.Percent }, { id: 'decimals', value: 1 }])
          .span(24)
          .height(7),
      )
      .withPanel(
        new TimeseriesBuilder()
          .title(L.panels.availabilityOverTime)
          .datasource(DATASOURCE)
          .interval('1h')
          .withTarget(influx('A', availabilityOverTime('isp', scope)).alias('$tag_isp'))
          .unit(units.Percent)
          .max(100)
          .spanNulls(false)
          .span(12)
          .height(8),
      )
      .withPanel(
        new TimeseriesBuilder()
          .title(L.panels.latencyIsp)
          .datasource(DATASOURCE)
          .interval('1h')
          .withTarget(influx('A', latencyP95('isp', scope)).alias('$tag_isp'))
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
          .withTarget(influx('A', slaPerStation(scope)).table())
          .withTarget(influx('B', mttr(stationTags, scope)).table())
          .withTransformation(dropTime)
          .withTransformation(merge)
          .withTransformation({
            id: 'organize',
            options: {
              indexByName: Object.fromEntries([
                'isp', 'circuit', 'station', ...scope.groups, 'availability', 'sla_target', 'margin', 'outages', 'downtime_min',
                'mttr_min', 'excluded_min', 'rtt_p95_ms', 'loss_pct', 'completeness',
              ].map((k, i) => [k, i])),
              renameByName: {
                isp: C.isp, circuit: C.circuit, station: C.station, ...groupCols, availability: C.availability,
                sla_target: C.target, margin: C.margin, outages: C.outages, downtime_min: C.downtime, mttr_min: C.mttr,
                excluded_min: C.excluded, rtt_p95_ms: C.p95, loss_pct: C.loss, completeness: C.completeness,
              },
            },
          })
          .sortBy([new common.TableSortByFieldStateBuilder().displayName(C.margin).desc(false)])
          .filterable(true)
          .overrideByName(C.availability, col.availability)
          .overrideByName(C.margin, col.margin)
          .overrideByName(C.target, [{ id: 'unit', value: units.Percent }, { id: 'decimals', value: 2 }])
          // A partner's organisation has no station board to link to.
          .overrideByName(C.station, scope.partner ? [] : [{ id: 'links', value: [stationDetailLink(L)] }])
          .overrideByName(C.downtime, minutes)
          .overrideByName(C.mttr, minutes)
          .overrideByName(C.excluded, minutes)
          .overrideByName(C.p95, [{ id: 'unit', value: units.Milliseconds }, { id: 'decimals', value: 0 }])
          .overrideByName(C.loss, [{ id: 'unit', value: units.Percent }, { id: 'decimals', value: 2 }])
          .overrideByName(C.completeness, [{ id: 'unit', value: units.Percent }, { id: 'decimals', value: 1 }])
          .span(24)
          .height(14),
      ),
  );
}

/** The uid of a partner's SLA board: `linkwatch-sla-<isp slug>`. */
export function partnerUid(partner: string): string {
  const slug = partner.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${DASHBOARD_UIDS.sla}-${slug || 'partner'}`.slice(0, 40);
}
