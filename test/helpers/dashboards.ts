/** Walking generated dashboards the way Grafana would: panels, targets, variables, time ranges; running InfluxQL. */
import type { Dashboard, Panel, RowPanel, ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import type { InfluxQLQuery } from '../../dashboards/influxql.js';
import { ALL, calculateIntervalMs, type VariableValue, variablesIn } from '../../dashboards/macros.js';

export function panelsOf(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === 'row') out.push(...((p as RowPanel).panels ?? []));
    else out.push(p as Panel);
  }
  return out;
}

export function targetsOf(p: Panel): InfluxQLQuery[] {
  return (p.targets ?? []) as unknown as InfluxQLQuery[];
}

/** Names Grafana provides itself: `$timeFilter`, `$interval`, and everything starting with `__`. */
export function isBuiltin(name: string): boolean {
  return name === 'timeFilter' || name === 'interval' || name.startsWith('__');
}

/** Every `$var` a dashboard refers to (queries, variable queries, links, titles), built-ins excluded. */
export function variablesUsed(d: Dashboard): string[] {
  const texts: string[] = [];
  for (const v of d.templating.list ?? []) if (typeof v.query === 'string') texts.push(v.query);
  for (const p of panelsOf(d)) {
    texts.push(p.title ?? '', JSON.stringify(p.fieldConfig ?? {}));
    for (const t of targetsOf(p)) {
      texts.push(t.query);
      // $tag_<key>, $col, $m, $measurement and $1..$9 in an alias are the datasource's legend patterns.
      texts.push(...variablesIn(t.alias ?? '').filter((n) => !/^(tag_\w+|col|m|measurement|\d)$/.test(n)).map((n) => `$${n}`));
    }
  }
  return [...new Set(texts.flatMap(variablesIn))].filter((n) => !isBuiltin(n)).sort();
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function durationMs(text: string): number {
  const m = /^(\d+)([smhdw])$/.exec(text);
  if (!m) throw new Error(`unsupported duration ${text}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** The range a panel queries at `now`: its relative `timeFrom` if set, else the dashboard's `now-X` default. */
export function panelRange(d: Dashboard, p: Panel, now: number): { from: number; to: number } {
  if (p.timeFrom) return { from: now - durationMs(p.timeFrom), to: now };
  const from = /^now-(\w+)$/.exec(d.time?.from ?? '');
  if (!from || d.time?.to !== 'now') throw new Error(`unsupported dashboard time ${JSON.stringify(d.time)}`);
  return { from: now - durationMs(from[1]!), to: now };
}

/**
 * `$__interval` for a panel about 1000 px wide (Grafana's max data points), floored at the datasource's 10 s or the
 * panel's own min interval (`interval: '1h'` on panels that read hourly rollups).
 */
export function panelIntervalMs(range: { from: number; to: number }, maxDataPoints = 1000, panelMin?: string): number {
  return calculateIntervalMs(range.to - range.from, maxDataPoints, panelMin ? durationMs(panelMin) : 10_000);
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface QueryResult {
  series: InfluxSeries[];
  error?: string;
}

/** Runs one InfluxQL statement over the v1 HTTP API, as Grafana's backend does (POST, epoch ms). */
export async function runInfluxQL(url: string, db: string, q: string, auth?: { u: string; p: string }): Promise<QueryResult> {
  const body = new URLSearchParams({ db, q, epoch: 'ms' });
  // Grafana sends the datasource's user and password as basic auth.
  const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${auth.u}:${auth.p}`).toString('base64')}` } : {};
  const res = await fetch(`${url}/query`, { method: 'POST', body, headers });
  const json = (await res.json()) as { error?: string; results?: { error?: string; series?: InfluxSeries[] }[] };
  if (json.error) return { series: [], error: json.error };
  const r = json.results?.[0] ?? {};
  return { series: r.series ?? [], ...(r.error ? { error: r.error } : {}) };
}

/** Rows of a result as objects, tags merged in (what Grafana's table format shows). */
export function rowsOf(r: QueryResult): Record<string, unknown>[] {
  return r.series.flatMap((s) => s.values.map((v) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) })));
}

/** Resolves a dashboard's variables in order, each query run with the ones before it; every value set to All. */
export async function resolveVariables(
  d: Dashboard,
  run: (q: string) => Promise<QueryResult>,
  substitute: (q: string, vars: Record<string, VariableValue>) => string,
  pick: Record<string, string | string[]> = {},
): Promise<Record<string, VariableValue>> {
  const vars: Record<string, VariableValue> = {};
  for (const v of d.templating.list ?? []) {
    if (v.type === 'custom') {
      const options = (v.options ?? []).map((o) => String(o.value));
      const current = v.current?.value;
      vars[v.name] = { value: pick[v.name] ?? (Array.isArray(current) ? current.map(String) : String(current ?? options[0])), options, multi: Boolean(v.multi) };
      continue;
    }
    if (v.type !== 'query' || typeof v.query !== 'string') continue;
    const r = await run(substitute(v.query, vars));
    if (r.error) throw new Error(`variable ${v.name}: ${r.error}`);
    const options = rowsOf(r).map((row) => String(row.value));
    const chosen = pick[v.name] ?? (v.includeAll ? ALL : options[0]!);
    vars[v.name] = {
      value: chosen,
      options,
      multi: Boolean(v.multi || v.includeAll),
      ...(v.allValue !== undefined ? { allValue: v.allValue } : {}),
    };
  }
  return vars;
}

/** Every value-mapping list of a panel: its defaults and each override's `mappings` property. */
export function mappingsOf(p: Panel): ValueMapping[][] {
  const lists: ValueMapping[][] = [];
  if (p.fieldConfig?.defaults?.mappings) lists.push(p.fieldConfig.defaults.mappings);
  for (const o of p.fieldConfig?.overrides ?? []) {
    for (const prop of o.properties) if (prop.id === 'mappings') lists.push(prop.value as ValueMapping[]);
  }
  return lists;
}
