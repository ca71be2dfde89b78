/**
 * What Grafana does to a raw InfluxQL query before InfluxDB sees it, as pure functions, so every panel and alert
 * query can be run against a real influxd in tests.
 *
 * Two stages, in Grafana's order:
 * 1. the browser interpolates template variables (`$var`, `${var}`, `${var:format}`, `[[var]]`), formatting
 *    multi-value and All values the way the InfluxDB datasource does (`interpolateQueryExpr`): regex-escaped values
 *    joined as `(a|b)`; All becomes the variable's `allValue` verbatim, or every option;
 * 2. the backend (`pkg/tsdb/influxdb/models/query.go`, `(*Query).Build`) replaces `$timeFilter`, `$interval`,
 *    `$__interval_ms` and `$__interval`, in that order (`$__interval_ms` before its prefix `$__interval`).
 * Alert rules get stage 2 only: dashboard variables do not exist there.
 */

/** Grafana's internal value of the "All" option. */
export const ALL = '$__all';

/** A template variable's current value and what "All" means for it. */
export interface VariableValue {
  /** One value, several (multi-select), or `ALL`. */
  value: string | string[];
  /** `allValue` of the variable (`.*`); without it All means every option. */
  allValue?: string;
  /** The variable's options, used for All when there is no allValue. */
  options?: string[];
  /** Multi-value or include-All variables are regex-escaped by default; single-value ones are not. */
  multi?: boolean;
}

export interface MacroContext {
  /** Range start and end, ms epoch. */
  from: number;
  to: number;
  /** `$__interval` in ms (see `calculateIntervalMs`). */
  intervalMs: number;
  variables?: Record<string, VariableValue>;
}

/** Grafana's `escapeRegex`: the characters special in a JavaScript/Go regex, plus `/` that ends an InfluxQL regex. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

/** Go's `gtime.FormatInterval`: the largest whole unit (`1d`, `5m`, `10s`, `500ms`). */
export function formatInterval(ms: number): string {
  const units: [number, string][] = [
    [365 * 86_400_000, 'y'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
    [1, 'ms'],
  ];
  for (const [size, unit] of units) if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  return '1ms';
}

// Grafana's roundInterval (pkg/tsdb/intervalv2 / public/app/core/utils/kbn): upper bound → rounded value, ms.
const ROUNDING: [number, number][] = [
  [10, 1], [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000], [3500, 2000],
  [7500, 5000], [12_500, 10_000], [17_500, 15_000], [25_000, 20_000], [45_000, 30_000], [90_000, 60_000],
  [210_000, 120_000], [450_000, 300_000], [750_000, 600_000], [1_050_000, 900_000], [1_500_000, 1_200_000],
  [2_700_000, 1_800_000], [5_400_000, 3_600_000], [9_000_000, 7_200_000], [16_200_000, 10_800_000],
  [32_400_000, 21_600_000], [86_400_000, 43_200_000], [604_800_000, 86_400_000], [1_814_400_000, 604_800_000],
  [3_628_800_000, 2_592_000_000],
];

export function roundInterval(ms: number): number {
  for (const [bound, value] of ROUNDING) if (ms <= bound) return value;
  return 31_536_000_000;
}

/** `$__interval`: range / max data points, rounded, floored at the min interval (datasource `timeInterval`). */
export function calculateIntervalMs(rangeMs: number, maxDataPoints: number, minIntervalMs = 0): number {
  const raw = roundInterval(rangeMs / Math.max(1, maxDataPoints));
  return Math.max(1, raw, minIntervalMs);
}

function values(v: VariableValue): { list: string[]; all: boolean } {
  const list = Array.isArray(v.value) ? v.value : [v.value];
  if (list.length === 1 && list[0] === ALL) return { list: v.options ?? [], all: true };
  return { list, all: false };
}

function format(v: VariableValue, fmt: string | undefined): string {
  const { list, all } = values(v);
  if (all && v.allValue !== undefined && (fmt === undefined || fmt === 'regex')) return v.allValue;
  switch (fmt) {
    case 'raw':
    case 'csv':
      return list.join(',');
    case 'pipe':
      return list.join('|');
    case 'singlequote':
      return list.map((s) => `'${s.replace(/'/g, "\\'")}'`).join(',');
    case 'doublequote':
      return list.map((s) => `"${s.replace(/"/g, '\\"')}"`).join(',');
    case 'regex':
      return list.length === 1 ? escapeRegex(list[0]!) : `(${list.map(escapeRegex).join('|')})`;
    case undefined: {
      if (!v.multi && !all && list.length === 1) return list[0]!;
      const escaped = list.map(escapeRegex);
      return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
    }
    default:
      throw new Error(`unsupported variable format :${fmt}`);
  }
}

// Grafana's variable regex (public/app/features/variables/utils.ts): $var, [[var:fmt]], ${var:fmt}.
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** The names of the template variables a text refers to (built-ins like `$__interval` included). */
export function variablesIn(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(VARIABLE)) names.add((m[1] ?? m[2] ?? m[4])!);
  return [...names];
}

/** Stage 1: the browser's template-variable interpolation. Unknown names are left as they are, like Grafana. */
export function interpolateVariables(query: string, variables: Record<string, VariableValue>): string {
  return query.replace(VARIABLE, (match, plain?: string, bracket?: string, bracketFmt?: string, braced?: string,
    _path?: string, bracedFmt?: string) => {
    const name = (plain ?? bracket ?? braced)!;
    const v = variables[name];
    if (!v) return match;
    return format(v, bracketFmt ?? bracedFmt);
  });
}

/** Stage 2: the backend's macros, as `(*Query).Build` does it. */
export function applyBackendMacros(query: string, ctx: Pick<MacroContext, 'from' | 'to' | 'intervalMs'>): string {
  const interval = formatInterval(ctx.intervalMs);
  return query
    .replaceAll('$timeFilter', `time >= ${Math.trunc(ctx.from)}ms and time <= ${Math.trunc(ctx.to)}ms`)
    .replaceAll('$interval', interval)
    .replaceAll('$__interval_ms', String(Math.trunc(ctx.intervalMs)))
    .replaceAll('$__interval', interval);
}

/** Both stages: the text InfluxDB receives for a dashboard panel. */
export function substituteMacros(query: string, ctx: MacroContext): string {
  return applyBackendMacros(interpolateVariables(query, ctx.variables ?? {}), ctx);
}
