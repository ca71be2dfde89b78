/**
 * Grafana's own code, and faithful ports of the Go parts that cannot run here, for the dashboard tests.
 *
 * 1. `influxqlToFrames`: what Grafana's backend makes of an InfluxQL response. A port of
 *    grafana/grafana `pkg/tsdb/influxdb/influxql/buffered/response_parser.go` (the default parser; the streaming one
 *    in `querydata/` is behind the `influxqlStreamingParser` feature flag) and of `influxql/util/util.go`
 *    (`Typeof`, `ParseNumber`, `FormatFrameName`). Since Grafana 11 the frontend datasource passes these frames on
 *    untouched (`public/app/plugins/datasource/influxdb/datasource.ts`, `return super.query(filteredRequest)`).
 * 2. `transform`: Grafana's transformers themselves, from `@grafana/data` 12 (`standardTransformers`, registered in
 *    `standardTransformersRegistry` as the app does at start-up), run in Node on a happy-dom window.
 * 3. `evaluateAlert`: the server-side-expression chain a rule goes through, ported from `pkg/expr/converter.go`
 *    (`ResultConverter.Convert`: InfluxDB frames without a numeric value are dropped, wide frames become one series
 *    per value field), the reduce and threshold expressions, and `pkg/services/ngalert/eval/eval.go`
 *    (`evaluateExecutionResult`: one row and one numeric field per frame, labels unique across frames, else the rule
 *    is in Error with "frame cannot uniquely be identified by its labels").
 */
import { createRequire } from 'node:module';
import { Window } from 'happy-dom';
import { firstValueFrom } from 'rxjs';
import type { DataFrame, DataTransformerConfig, Field } from '@grafana/data';
import type { InfluxSeries } from './dashboards.js';

// @grafana/data's ESM build imports CommonJS moment-timezone by name, which Node's ESM loader refuses; its CommonJS
// build loads. It touches `window`/`document` at import time: a happy-dom window stands in for the browser.
function loadGrafanaData(): typeof import('@grafana/data') {
  const w = new Window({ url: 'http://localhost/' });
  const g = globalThis as Record<string, unknown>;
  for (const k of ['window', 'document', 'navigator', 'HTMLElement', 'Element', 'Node', 'getComputedStyle', 'localStorage',
    'matchMedia', 'requestAnimationFrame', 'cancelAnimationFrame'] as const) {
    if (!(k in g)) g[k] = k === 'window' ? w : (w as unknown as Record<string, unknown>)[k];
  }
  const gd = createRequire(import.meta.url)('@grafana/data') as typeof import('@grafana/data');
  // What public/app/features/transformers/standardTransformers.ts does at app start (minus the editors). Aliases
  // (seriesToColumns = joinByField) share an id: register each id once.
  const unique = new Map(Object.values(gd.standardTransformers).map((t) => [t.id, t]));
  gd.standardTransformersRegistry.setInit(() =>
    [...unique.values()].map((t) => ({ id: t.id, aliasIds: t.aliasIds, name: t.name, description: t.description ?? '', transformation: t, editor: () => null, imageDark: '', imageLight: '' })),
  );
  return gd;
}

export const grafanaData = loadGrafanaData();
const { FieldType } = grafanaData;

// ---- 1. InfluxQL response → frames (buffered/response_parser.go) ------------------------------------------------

export interface FrameQuery {
  refId: string;
  resultFormat: 'time_series' | 'table' | 'logs';
  alias?: string;
  /** `$__interval` in ms, for `$__interval` in an alias. */
  intervalMs?: number;
}

type GoType = 'string' | 'json.Number' | 'bool' | 'null';

/** util.Typeof: the Go type of the first non-null value of a column. */
function typeOf(values: unknown[][], col: number): GoType {
  for (const v of values) {
    const x = v?.[col];
    if (x !== null && x !== undefined) return typeof x === 'string' ? 'string' : typeof x === 'boolean' ? 'bool' : 'json.Number';
  }
  return 'null';
}

const parseNumber = (x: unknown): number | null => (typeof x === 'number' ? x : null);

function field(name: string, type: 'number' | 'string' | 'boolean' | 'time', values: unknown[], labels?: Record<string, string>, displayNameFromDS?: string): Field {
  return {
    name,
    type: type as Field['type'],
    values,
    config: displayNameFromDS !== undefined ? { displayNameFromDS } : {},
    ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
  } as Field;
}

/** newValueFields: one field per column over all rows; the last row's type decides, as in Go (nulls carried over). */
function newValueFields(rows: InfluxSeries[], from: number, to: number): Field[] {
  const fields: Field[] = [];
  for (let c = from; c < to; c++) {
    let made: { type: GoType; values: unknown[] } | undefined;
    let floats: (number | null)[] = [];
    let strings: (string | null)[] = [];
    let bools: (boolean | null)[] = [];
    for (const row of rows) {
      const t = typeOf(row.values, c);
      for (const v of row.values) {
        const x = v[c];
        switch (t) {
          case 'string':
            if (typeof x === 'string') {
              for (const _ of floats) strings.push(null);
              floats = [];
              strings.push(x);
            } else strings.push(null);
            break;
          case 'json.Number':
            floats.push(parseNumber(x));
            break;
          case 'bool':
            if (typeof x === 'boolean') {
              for (const _ of floats) bools.push(null);
              floats = [];
              bools.push(x);
            } else bools.push(null);
            break;
          case 'null':
            if (made) {
              if (made.type === 'string') strings.push(null);
              else if (made.type === 'bool') bools.push(null);
              else floats.push(null);
            } else floats.push(null);
        }
      }
      if (t === 'string') made = { type: 'string', values: [...strings] };
      else if (t === 'json.Number') made = { type: 'json.Number', values: [...floats] };
      else if (t === 'bool') made = { type: 'bool', values: [...bools] };
      else if (!made) made = { type: 'null', values: [...floats] };
      else made = { type: made.type, values: made.type === 'string' ? [...strings] : made.type === 'bool' ? [...bools] : [...floats] };
    }
    const name = rows[0]!.columns[c]!;
    const kind = made!.type === 'string' ? 'string' : made!.type === 'bool' ? 'boolean' : 'number';
    fields.push(field(name, kind, made!.values, undefined, name));
  }
  return fields;
}

/** transformRowsForTable: one frame; Time (if the first column is time), a field per tag of the first row, the values. */
function tableFrame(rows: InfluxSeries[], refId: string): DataFrame {
  const fields: Field[] = [];
  const first = rows[0]!;
  if (first.columns[0] === 'time') {
    fields.push(field('Time', 'time', rows.flatMap((r) => r.values.filter((v) => typeof v[0] === 'number').map((v) => v[0]))));
  } else {
    fields.push(...newValueFields(rows, 0, 1));
  }
  // Go ranges over a map here, so Grafana's tag column order is random; a board must not depend on it.
  for (const key of Object.keys(first.tags ?? {})) {
    fields.push(field(key, 'string', rows.flatMap((r) => r.values.map(() => r.tags?.[key] ?? '')), undefined, key));
  }
  fields.push(...newValueFields(rows, 1, first.columns.length));
  return { name: first.name, refId, fields, length: fields[0]?.values.length ?? 0 };
}

/** util.FormatFrameName with an alias, else BuildFrameNameFromQuery. */
function frameName(rowName: string, column: string, tags: Record<string, string>, q: FrameQuery): string {
  if (!q.alias) {
    let name = q.resultFormat !== 'table' ? `${rowName}.${column}` : column;
    const entries = Object.entries(tags);
    if (entries.length > 0) name += ` { ${entries.map(([k, v]) => `${k}: ${v}`).join(', ')} }`;
    return name;
  }
  const segments = rowName.split('.');
  return q.alias.replace(/\$(\w+)|\[\[([\s\S]+?)\]\]/g, (match, a?: string, b?: string) => {
    const f = (a ?? b)!;
    if (f === 'm' || f === 'measurement') return rowName;
    if (f === 'col') return column;
    if (/^\d+$/.test(f) && segments.length > Number(f)) return segments[Number(f)]!;
    if (!f.startsWith('tag_')) return match;
    const v = tags[f.slice(4)];
    return v !== undefined ? v : match;
  });
}

/** transformRowsForTimeSeries: a frame per series and per column: Time and `Value` with the tags as labels. */
function timeSeriesFrames(rows: InfluxSeries[], q: FrameQuery): DataFrame[] {
  const frames: DataFrame[] = [];
  for (const row of rows) {
    const hasTime = row.columns.some((c) => c.toLowerCase() === 'time');
    if (!hasTime) {
      const values = row.values.map((v) => (v.length >= 1 ? (typeof v[0] === 'string' ? v[0] : String(v[0])) : null));
      frames.push({ name: row.name, refId: q.refId, fields: [field('Value', 'string', values)], length: values.length });
      continue;
    }
    row.columns.forEach((column, c) => {
      if (column === 'time') return;
      const t = typeOf(row.values, c);
      const valid = row.values.filter((v) => typeof v[0] === 'number');
      const times = valid.map((v) => v[0]);
      const values = valid.map((v) => {
        const x = v[c];
        if (t === 'string') return typeof x === 'string' ? x : null;
        if (t === 'bool') return typeof x === 'boolean' ? x : null;
        return parseNumber(x);
      });
      const name = frameName(row.name, column, row.tags ?? {}, q);
      const kind = t === 'string' ? 'string' : t === 'bool' ? 'boolean' : 'number';
      frames.push({
        name, refId: q.refId,
        fields: [field('Time', 'time', times), field('Value', kind, values, row.tags ?? {}, name)],
        length: times.length,
      });
    });
  }
  return frames;
}

/** The frames Grafana's InfluxDB datasource returns for one query's series (`results[0].series`). */
export function influxqlToFrames(series: InfluxSeries[], q: FrameQuery): DataFrame[] {
  if (series.length === 0) return [];
  return q.resultFormat === 'table' ? [tableFrame(series, q.refId)] : timeSeriesFrames(series, q);
}

// ---- 2. Grafana's transformers ----------------------------------------------------------------------------------

/** Runs a panel's transformations with @grafana/data's own implementations. */
export async function transform(transformations: DataTransformerConfig[], frames: DataFrame[]): Promise<DataFrame[]> {
  if (transformations.length === 0) return frames;
  return firstValueFrom(grafanaData.transformDataFrame(transformations, frames));
}

/** The name a table shows for a field (organize's rename sets `displayName`), via Grafana's own function. */
export function displayName(f: Field, frame: DataFrame, all: DataFrame[]): string {
  return grafanaData.getFieldDisplayName(f, frame, all);
}

/** Rows of a frame as objects keyed by display name. */
export function frameRows(frame: DataFrame, all: DataFrame[] = [frame]): Record<string, unknown>[] {
  const names = frame.fields.map((f) => displayName(f, frame, all));
  return Array.from({ length: frame.length }, (_, i) => Object.fromEntries(frame.fields.map((f, j) => [names[j]!, f.values[i]])));
}

export { FieldType };

// ---- 3. Alert evaluation (pkg/expr + ngalert/eval) --------------------------------------------------------------

export interface AlertInstance { labels: Record<string, string>; value: number | null; firing: boolean }
export type AlertOutcome =
  | { state: 'ok'; instances: AlertInstance[] }
  | { state: 'nodata' }
  | { state: 'error'; error: string };

type Evaluator = { type: string; params: number[] };
const labelsKey = (l: Record<string, string>) => Object.entries(l).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(', ');

/**
 * A → reduce(last, dropNN) → threshold, on the frames of the rule's InfluxDB query, with the evaluator's checks.
 * `ResultConverter.Convert`: no frames is NoData; an InfluxDB frame with no numeric value field (a string column) is
 * dropped with a warning; a frame with a string field besides time and value is "long" and refused; each value
 * field must be numeric for `mathexp.SeriesFromFrame`.
 */
export function evaluateAlert(frames: DataFrame[], reducer: string, mode: string | undefined, evaluator: Evaluator): AlertOutcome {
  if (frames.length === 0) return { state: 'nodata' };
  const series: { labels: Record<string, string>; values: (number | null)[] }[] = [];
  let kept = 0;
  for (const f of frames) {
    const time = f.fields.filter((x) => x.type === FieldType.time);
    const factors = f.fields.filter((x) => x.type === FieldType.string);
    const values = f.fields.filter((x) => x.type !== FieldType.time && x.type !== FieldType.string);
    if (time.length === 0 || values.length === 0) continue; // TimeSeriesTypeNot: ignored for InfluxDB
    if (factors.length > 0) return { state: 'error', error: `input data must be a wide series but got type long (${f.name})` };
    kept++;
    for (const v of values) {
      if (v.type !== FieldType.number) return { state: 'error', error: `value field of ${f.name} is ${v.type}, not numeric` };
      series.push({ labels: { ...(v.labels ?? {}) }, values: v.values as (number | null)[] });
    }
  }
  if (kept === 0) return { state: 'nodata' };
  if (reducer !== 'last') throw new Error(`reducer ${reducer} not modelled`);
  const instances: AlertInstance[] = series.map((s) => {
    const vals = mode === 'dropNN' ? s.values.filter((x): x is number => x !== null && !Number.isNaN(x)) : s.values;
    const last = vals.length > 0 ? vals[vals.length - 1]! : null;
    const p = evaluator.params;
    const firing = last === null ? false
      : evaluator.type === 'gt' ? last > p[0]!
      : evaluator.type === 'lt' ? last < p[0]!
      : evaluator.type === 'within_range' ? last > p[0]! && last < p[1]!
      : evaluator.type === 'outside_range' ? last < p[0]! || last > p[1]!
      : (() => { throw new Error(`evaluator ${evaluator.type} not modelled`); })();
    return { labels: s.labels, value: last, firing };
  });
  const seen = new Set<string>();
  for (const i of instances) {
    const k = labelsKey(i.labels);
    if (seen.has(k)) return { state: 'error', error: `frame cannot uniquely be identified by its labels: has duplicate results with labels {${k}}` };
    seen.add(k);
  }
  return { state: 'ok', instances };
}
