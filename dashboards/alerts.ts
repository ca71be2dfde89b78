/**
 * Alert rules (station down, district incident, SLA at risk), built with the SDK's alerting builders and converted
 * to Grafana's file-provisioning format. The SDK emits the HTTP provisioning-API shape (`interval` in seconds,
 * `folderUID`, `orgID`); file provisioning wants `apiVersion: 1, groups: [{ orgId, name, folder, interval: '60s' }]`
 * (research/grafana.md §1.6, grafana `pkg/services/provisioning/alerting/rules_types.go`).
 */
import * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import { TypeReduceBuilder, TypeThresholdBuilder } from '@grafana/grafana-foundation-sdk/expr';
import { stringify } from 'yaml';
import { DASHBOARD_UIDS, DATASOURCE_UID } from './common.js';
import type { Labels } from './i18n.js';
import { InfluxQLQueryBuilder, type Select } from './influxql.js';
import { alertDistrictIncidents, alertSlaMargin, alertStationCode } from './queries.js';

const EXPR = { type: '__expr__', uid: '__expr__' };
export const ALERT_FOLDER_UID = 'linkwatch';

type Evaluator = { type: 'gt' | 'lt' | 'within_range'; params: number[] };

/** A: the InfluxQL over the last `windowS` seconds; B: its last value per series; C: the firing condition on B. */
function rule(uid: string, title: string, group: string, query: Select, windowS: number, evaluator: Evaluator) {
  return new alerting.RuleBuilder(title)
    .uid(uid)
    .ruleGroup(group)
    .folderUID(ALERT_FOLDER_UID)
    .orgID(1)
    .queries([
      new alerting.QueryBuilder('A')
        .datasourceUid(DATASOURCE_UID)
        .relativeTimeRange({ from: windowS, to: 0 })
        .model(new InfluxQLQueryBuilder(query).refId('A')),
      new alerting.QueryBuilder('B')
        .datasourceUid(EXPR.uid)
        .model(new TypeReduceBuilder().expression('A').reducer('last').settings({ mode: 'dropNN' }).refId('B').datasource(EXPR)),
      new alerting.QueryBuilder('C')
        .datasourceUid(EXPR.uid)
        .model(new TypeThresholdBuilder().expression('B').conditions([{ evaluator }]).refId('C').datasource(EXPR)),
    ])
    .condition('C')
    // A station that vanishes from the query is resolved as a missing series; "no data" for the whole rule means
    // the evaluator wrote nothing, which the station rules cannot judge.
    .noDataState('OK')
    .execErrState('Error');
}

/** The rule groups as the SDK builds them (the provisioning-API shape). */
export function alertRuleGroups(L: Labels): alerting.RuleGroup[] {
  const A = L.alerts;
  const stationDown = rule('linkwatch-station-down', A.stationDown, 'linkwatch', alertStationCode(), 600,
    // codes 2 (down) and 3 (offline); maintenance (4) and degraded (1) do not page anyone.
    { type: 'within_range', params: [1.5, 3.5] })
    .forDuration('3m')
    .labels({ severity: 'critical', team: 'police-it' })
    .annotations({ summary: A.stationDownSummary, dashboard: `/d/${DASHBOARD_UIDS.triage}` });
  const districtIncident = rule('linkwatch-district-incident', A.districtIncident, 'linkwatch', alertDistrictIncidents(), 1800,
    { type: 'gt', params: [0] })
    .forDuration('1m')
    .labels({ severity: 'critical', team: 'police-it', scope: 'district' })
    .annotations({ summary: A.districtIncidentSummary, dashboard: `/d/${DASHBOARD_UIDS.triage}` });
  const slaAtRisk = rule('linkwatch-sla-at-risk', A.slaAtRisk, 'linkwatch-sla', alertSlaMargin(), 86_400,
    { type: 'lt', params: [0] })
    .forDuration('30m')
    .labels({ severity: 'warning', team: 'telecom' })
    .annotations({ summary: A.slaAtRiskSummary, dashboard: `/d/${DASHBOARD_UIDS.sla}` });
  return [
    new alerting.RuleGroupBuilder('linkwatch').folderUid(ALERT_FOLDER_UID).interval(60).rules([stationDown, districtIncident]).build(),
    // 24 h of verdicts per station is heavier; every 15 minutes is enough for a daily figure.
    new alerting.RuleGroupBuilder('linkwatch-sla').folderUid(ALERT_FOLDER_UID).interval(900).rules([slaAtRisk]).build(),
  ];
}

/** The file-provisioning document Grafana reads from `provisioning/alerting/*.yaml`. */
export function alertRulesFile(L: Labels) {
  return {
    apiVersion: 1,
    groups: alertRuleGroups(L).map((g) => ({
      orgId: 1,
      name: g.title,
      folder: L.alerts.folder,
      interval: `${g.interval}s`,
      rules: (g.rules ?? []).map((r) => ({
        uid: r.uid,
        title: r.title,
        condition: r.condition,
        data: r.data.map((q) => ({
          refId: q.refId,
          ...(q.relativeTimeRange ? { relativeTimeRange: q.relativeTimeRange } : { relativeTimeRange: { from: 0, to: 0 } }),
          datasourceUid: q.datasourceUid,
          model: JSON.parse(JSON.stringify(q.model)) as Record<string, unknown>,
        })),
        noDataState: r.noDataState,
        execErrState: r.execErrState,
        for: r.for,
        labels: r.labels,
        annotations: r.annotations,
        isPaused: false,
      })),
    })),
  };
}

/** The YAML text committed as deploy/grafana/provisioning/alerting/linkwatch-rules.yaml. */
export function renderAlertRules(L: Labels): string {
  return (
    '# Generated by dashboards/alerts.ts (npm run build && node dist/dashboards/generate.js). Do not edit by hand.\n' +
    stringify(alertRulesFile(L), { lineWidth: 0 })
  );
}
