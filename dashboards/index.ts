/**
 * `linkwatch dashboards --out DIR [--lang vi|en] [--groups area,hub] [--basemap-url URL] [--partner ISP]`: the four dashboards as classic (v1) dashboard JSON, ready for a
 * Grafana file provider (deploy/grafana/provisioning/dashboards/linkwatch.yaml).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DEFAULT_SCOPE, type DashboardKind, type Scope } from './common.js';
import { heatmapDashboard, type MapOptions } from './heatmap.js';
import { labels, type Lang } from './i18n.js';
import { partnerUid, slaDashboard } from './sla.js';

export { partnerUid };
import { stationDashboard } from './station.js';
import { triageDashboard } from './triage.js';

export { renderAlertRules, alertRulesFile, alertRuleGroups } from './alerts.js';
export { DATASOURCE_UID, DASHBOARD_UIDS } from './common.js';
export { LANGS, labels, type Lang } from './i18n.js';

/**
 * The boards' grouping columns from a registry and the configured incident scopes: the scopes' columns that the
 * registry has, broadest first (scopes are listed narrowest first, `isp` and `province` have their own variables);
 * without configured scopes, the registry's columns (`district` first in an old registry).
 */
export function boardGroups(registryColumns: readonly string[], incidentScopes?: readonly string[]): string[] {
  if (!incidentScopes || incidentScopes.length === 0) return registryColumns.length > 0 ? [...registryColumns] : ['district'];
  const cols = [...incidentScopes].reverse().filter((s) => s !== 'isp' && s !== 'province' && registryColumns.includes(s));
  return cols.length > 0 ? cols : ['district'];
}

export interface DashboardOptions {
  map?: MapOptions;
  /** The registry's grouping columns the boards filter and group by, in order (default `district`). */
  groups?: readonly string[];
  /** Write only the SLA board, locked to this ISP, for the partner's own Grafana organisation. */
  partner?: string;
}

function scopeOf(opts: DashboardOptions): Scope {
  return { groups: opts.groups && opts.groups.length > 0 ? opts.groups : DEFAULT_SCOPE.groups, ...(opts.partner ? { partner: opts.partner } : {}) };
}

/** Every dashboard, by kind, in one language. Pure. */
export function buildDashboards(lang: Lang, opts: Omit<DashboardOptions, 'partner'> = {}): Record<DashboardKind, Dashboard> {
  const L = labels(lang);
  const scope = scopeOf({ ...opts, partner: undefined });
  return {
    triage: triageDashboard(L, scope),
    sla: slaDashboard(L, scope),
    heatmap: heatmapDashboard(L, opts.map, scope),
    station: stationDashboard(L),
  };
}

/** A partner's boards: the SLA board locked to one ISP, with its own uid. Pure. */
export function buildPartnerDashboards(lang: Lang, partner: string, opts: Omit<DashboardOptions, 'partner'> = {}): Dashboard[] {
  if (!partner.trim()) throw new Error('--partner needs the ISP name as the registry spells it');
  return [slaDashboard(labels(lang), scopeOf({ ...opts, partner: partner.normalize('NFC') }))];
}

/** Writes `<uid>.json` per dashboard into `outDir` (created if missing); returns the paths written. */
export async function writeDashboards(outDir: string, lang: Lang, opts: DashboardOptions = {}): Promise<string[]> {
  if (lang !== 'vi' && lang !== 'en') throw new Error(`--lang must be vi or en, not "${String(lang)}"`);
  const bad = opts.map?.basemapUrl !== undefined ? basemapUrlProblem(opts.map.basemapUrl) : undefined;
  if (bad) throw new Error(bad);
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const boards = opts.partner ? buildPartnerDashboards(lang, opts.partner, opts) : Object.values(buildDashboards(lang, opts));
  for (const d of boards) {
    const file = join(outDir, `${d.uid}.json`);
    await writeFile(file, `${JSON.stringify(d, null, 2)}\n`);
    written.push(file);
  }
  return written;
}

/**
 * Checks a `--basemap-url`: an http(s) XYZ template with `{z}`, `{x}` and `{y}` (OpenLayers' XYZ source), for tiles
 * served inside the network. Returns the reason it is refused, or undefined.
 */
export function basemapUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/\{[xyz]\}/g, '0'));
  } catch {
    return `--basemap-url "${url}" is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `--basemap-url must be http(s), not ${parsed.protocol}`;
  for (const p of ['{z}', '{x}', '{y}']) if (!url.includes(p)) return `--basemap-url needs ${p} (an XYZ tile template like https://tiles.example.vn/{z}/{x}/{y}.png)`;
  return undefined;
}
