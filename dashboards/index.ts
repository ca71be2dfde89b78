/**
 * `linkwatch dashboards --out DIR [--lang vi|en]`: the four dashboards as classic (v1) dashboard JSON, ready for a
 * Grafana file provider (deploy/grafana/provisioning/dashboards/linkwatch.yaml).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS, type DashboardKind } from './common.js';
import { heatmapDashboard, type MapOptions } from './heatmap.js';
import { labels, type Lang } from './i18n.js';
import { slaDashboard } from './sla.js';
import { stationDashboard } from './station.js';
import { triageDashboard } from './triage.js';

export { renderAlertRules, alertRulesFile, alertRuleGroups } from './alerts.js';
export { DATASOURCE_UID, DASHBOARD_UIDS } from './common.js';
export { LANGS, type Lang } from './i18n.js';

export interface DashboardOptions {
  map?: MapOptions;
}

/** Every dashboard, by kind, in one language. Pure. */
export function buildDashboards(lang: Lang, opts: DashboardOptions = {}): Record<DashboardKind, Dashboard> {
  const L = labels(lang);
  return {
    triage: triageDashboard(L),
    sla: slaDashboard(L),
    heatmap: heatmapDashboard(L, opts.map),
    station: stationDashboard(L),
  };
}

/** Writes `<uid>.json` per dashboard into `outDir` (created if missing); returns the paths written. */
export async function writeDashboards(outDir: string, lang: Lang, opts: DashboardOptions = {}): Promise<string[]> {
  if (lang !== 'vi' && lang !== 'en') throw new Error(`--lang must be vi or en, not "${String(lang)}"`);
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [kind, d] of Object.entries(buildDashboards(lang, opts))) {
    const file = join(outDir, `${DASHBOARD_UIDS[kind as DashboardKind]}.json`);
    await writeFile(file, `${JSON.stringify(d, null, 2)}\n`);
    written.push(file);
  }
  return written;
}
