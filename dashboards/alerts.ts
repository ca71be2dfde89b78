/**
 * Alert rules (station down, incident of any configured scope, the pipeline's watchdog, SLA at risk), built with the SDK's alerting builders and converted
 * to Grafana's file-provisioning format. The SDK emits the HTTP provisioning-API shape (`interval` in seconds,
 * `folderUID`, `orgID`); file provisioning wants `apiVersion: 1, groups: [{ orgId, name, folder, interval: '60s' }]`
 * (research/grafana.md §1.6, grafana `pkg/services/provisioning/alerting/rules_types.go`).
 */
import * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import { TypeReduceBuilder, TypeThresholdBuilder } from '@grafana/grafana-foundation-sdk/expr';
import { stringify } from 'yaml';
import { DASHBOARD_UIDS, DATASOURCE_UID, DEFAULT_SCOPE, stationBoardPath, type Scope } from './common.js';
import type { Labels } from './i18n.js';
import { InfluxQLQueryBuilder, type Select } from './influxql.js';
import { alertIncidents, alertSlaMargin, alertStationCode, alertVerdictsWritten } from './queries.js';

const EXPR = { type: '__expr__', uid: '__expr__' };
/**
 * Alert-rule files name their folder by title only (`AlertRuleGroupV1.Folder`), and Grafana provisions alerting
 * before dashboards; the dashboard provider (provisioning/dashboards/linkwatch.yaml) then finds that folder by the
 * same title. A `folderUid` on the provider would make it a second "Linkwatch" folder. (The SDK's API shape wants a
 * uid; it is not written to the file.)
 */
export const ALERT_FOLDER_UID = 'linkwatch';

type Evaluator = { type: 'gt' | 'lt' | 'within_range'; params: number[] };
type NoData = 'OK' | 'NoData' | 'Alerting' | 'KeepLast';
type ExecErr = 'Error' | 'Alerting' | 'OK' | 'KeepLast';

/** A: the InfluxQL over the last `windowS` seconds; B: its last value per series; C: the firing condition on B. */
function rule(uid: string, title: string, group: string, query: Select, windowS: number, evaluator: Evaluator,
  states: { noData: NoData; execErr: ExecErr }) {
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
    .noDataState(states.noData)
    .execErrState(states.execErr);
}

/**
 * Who a rule is for: `team` routes it (contact-points.yaml: police IT, or the ISP's NOC for `team=telecom` with
 * `isp` naming which one), `severity` says how loud.
 */
const POLICE_IT = { team: 'police-it' };

/** The rule groups as the SDK builds them (the provisioning-API shape). */
export function alertRuleGroups(L: Labels, scope: Scope = DEFAULT_SCOPE): alerting.RuleGroup[] {
  const A = L.alerts;
  const where = scope.groups.map((g) => `{{ $labels.${g} }}`).join(', ');
  // A station that vanishes from the query is resolved as a missing series; "no data" for the whole rule means the
  // evaluator wrote nothing, which the watchdog below pages for, once, instead of every station rule at once.
  const perStation = { noData: 'OK', execErr: 'Error' } as const;
  const stationDown = rule('linkwatch-station-down', A.stationDown, 'linkwatch', alertStationCode(scope), 600,
    // codes 2 (down) and 3 (offline); maintenance (4) and degraded (1) do not page anyone.
    { type: 'within_range', params: [1.5, 3.5] }, perStation)
    .forDuration('3m')
    .labels({ severity: 'critical', ...POLICE_IT })
    .annotations({
      summary: A.stationDownSummary.replace('{where}', where || '{{ $labels.province }}'),
      station_board: stationBoardPath('{{ $labels.station }}'),
      __dashboardUid__: DASHBOARD_UIDS.station,
    });
  const incident = rule('linkwatch-incident', A.incident, 'linkwatch', alertIncidents(), 1800,
    { type: 'gt', params: [0] }, perStation)
    .forDuration('1m')
    .labels({ severity: 'critical', ...POLICE_IT })
    .annotations({ summary: A.incidentSummary, dashboard: `/d/${DASHBOARD_UIDS.triage}`, __dashboardUid__: DASHBOARD_UIDS.triage });
  // The pipeline's own heartbeat: no verdict in 5 minutes is NoData, and NoData pages (as does InfluxDB not answering).
  const watchdog = rule('linkwatch-watchdog', A.watchdog, 'linkwatch', alertVerdictsWritten(), 300,
    { type: 'lt', params: [1] }, { noData: 'Alerting', execErr: 'Alerting' })
    .forDuration('0s')
    .labels({ severity: 'critical', ...POLICE_IT, component: 'pipeline' })
    .annotations({ summary: A.watchdogSummary, dashboard: `/d/${DASHBOARD_UIDS.triage}`, __dashboardUid__: DASHBOARD_UIDS.triage });
  const slaAtRisk = rule('linkwatch-sla-at-risk', A.slaAtRisk, 'linkwatch-sla', alertSlaMargin(scope), 86_400,
    { type: 'lt', params: [0] }, perStation)
    .forDuration('30m')
    // The ISP's NOC gets these (routed on team=telecom and the `isp` label); police IT sees them on the SLA board.
    .labels({ severity: 'warning', team: 'telecom' })
    .annotations({
      summary: A.slaAtRiskSummary,
      dashboard: `/d/${DASHBOARD_UIDS.sla}`,
      station_board: stationBoardPath('{{ $labels.station }}'),
      __dashboardUid__: DASHBOARD_UIDS.sla,
    });
  return [
    new alerting.RuleGroupBuilder('linkwatch').folderUid(ALERT_FOLDER_UID).interval(60).rules([stationDown, incident, watchdog]).build(),
    // 24 h of hourly rollups per circuit; every 15 minutes is enough for a daily figure.
    new alerting.RuleGroupBuilder('linkwatch-sla').folderUid(ALERT_FOLDER_UID).interval(900).rules([slaAtRisk]).build(),
  ];
}

/** The file-provisioning document Grafana reads from `provisioning/alerting/*.yaml`. */
export function alertRulesFile(L: Labels, scope: Scope = DEFAULT_SCOPE) {
  return {
    apiVersion: 1,
    groups: alertRuleGroups(L, scope).map((g) => ({
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
export function renderAlertRules(L: Labels, scope: Scope = DEFAULT_SCOPE): string {
  return (
    '# Generated by dashboards/alerts.ts (npm run build && node dist/dashboards/generate.js). Do not edit by hand.\n' +
    stringify(alertRulesFile(L, scope), { lineWidth: 0 })
  );
}
