/**
 * `linkwatch status --config FILE [--json]`: the stations not ok at the newest evaluation, most severe and longest
 * first, then the open incidents. Reads the `health` and `incident` points the evaluator wrote.
 * Exit 0 all ok (maintenance included), 1 some station degraded, down or offline, 2 error.
 */
import { ident, influxFromConfig, select, timeRange, type Influx } from '../collector/influx.js';
import { loadCollectorConfig } from '../collector/main.js';
import { formatStatusTable, sortStatusRows, type StatusRow } from '../collector/verdict/format.js';
import type { Incident, Scope } from '../collector/verdict/incidents.js';
import type { Cause, State } from '../collector/verdict/types.js';
import { readSecret } from '../lib/secrets.js';
import { EXIT } from './main.js';
import { StatusError } from '../lib/errors.js';

/** What `linkwatch status --json` prints. */
export interface StatusReport {
  /** The evaluation time the verdicts are from (ms epoch). */
  at: number;
  /** Stations judged at that time. */
  total: number;
  /** Stations not ok, most severe and longest first. */
  stations: StatusRow[];
  /** Open incidents. */
  incidents: Incident[];
  /** Stations unheard because no collector hears the broker (cause `pipeline`): one fault of the server. */
  pipeline: { down: boolean; stations: number };
  /** Each station's agent version, from its newest report of the last day that carried one. */
  agent_versions: Record<string, string>;
}

type Row = Record<string, unknown> & { time: Date };
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Reads the newest evaluation from InfluxDB. */
export async function readStatus(influx: Influx, url: string): Promise<StatusReport> {
  let newest: Row[];
  try {
    newest = (await influx.query(select({ fields: [`last(${ident('code')})`], from: 'health' }), { precision: 'ms' })) as unknown as Row[];
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { res?: { statusCode?: number } };
    if (/database not found/i.test(e.message)) throw new StatusError(`InfluxDB at ${url} has no such database yet: has the collector run?`);
    throw new StatusError(`cannot query InfluxDB at ${url}: ${e.code ?? e.res?.statusCode ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim());
  }
  if (newest.length === 0) throw new StatusError(`no verdicts in InfluxDB at ${url}: is the collector's evaluator running (evaluator.enabled)?`);
  const at = newest[0]!.time.getTime();
  const [health, incidents, versions] = (await influx.query(
    [
      select({ fields: ['*'], from: 'health', where: timeRange({ ms: at }, { ms: at, inclusive: true }), groupBy: ['station', 'district', 'isp'] }),
      select({ fields: ['*'], from: 'incident', where: timeRange({ ms: at }, { ms: at, inclusive: true }), groupBy: ['scope', 'key'] }),
      select({ fields: [`last(${ident('agent_version')}) AS ${ident('agent_version')}`], from: 'report', where: timeRange({ ms: at - 86_400_000, inclusive: false }, undefined), groupBy: ['station'] }),
    ],
    { precision: 'ms' },
  )) as unknown as Row[][];
  const rows: StatusRow[] = health!.map((r) => {
    const row: StatusRow = {
      station: String(r.station), name: String(r.name ?? ''), commune: String(r.commune ?? ''), district: String(r.district),
      isp: String(r.isp), state: r.state as State, cause: r.cause as Cause, since: num(r.since) ?? at,
    };
    const lastSeen = num(r.last_seen);
    const loss = num(r.loss);
    const rtt = num(r.rtt_ms);
    if (lastSeen !== undefined) row.last_seen = lastSeen;
    if (loss !== undefined) row.loss = loss;
    if (rtt !== undefined) row.rtt_ms = rtt;
    return row;
  });
  const unheard = rows.filter((r) => r.cause === 'pipeline').length;
  return {
    at,
    total: rows.length,
    pipeline: { down: unheard > 0, stations: unheard },
    stations: sortStatusRows(rows),
    incidents: incidents!
      .filter((r) => r.open === true)
      .map((r): Incident => ({ scope: r.scope as Scope, key: String(r.key), cause: r.cause as Cause, stations: num(r.stations) ?? 0, open: true, since: num(r.since) ?? at, members: [] })),
    agent_versions: Object.fromEntries((versions ?? []).filter((r) => typeof r.agent_version === 'string').map((r) => [String(r.station), r.agent_version as string])),
  };
}

/** Whether a status means "some station not ok" (planned maintenance does not). */
export const someNotOk = (report: StatusReport): boolean => report.stations.some((s) => s.state !== 'maintenance');

export interface StatusOptions {
  config: string;
  json?: boolean;
  out?: (text: string) => void;
  err?: (text: string) => void;
  now?: () => number;
}

/** The command: returns its exit code. A bad config throws ConfigError (exit 2, before any network I/O). */
export async function runStatus(opts: StatusOptions): Promise<number> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t));
  const errOut = opts.err ?? ((t: string) => process.stderr.write(t));
  const cfg = loadCollectorConfig(opts.config);
  const password = readSecret({ file: cfg.influx.password_file, envName: 'LINKWATCH_INFLUX_PASSWORD', key: 'influx.password_file', configFile: opts.config });
  const influx = influxFromConfig(cfg.influx, password);
  let report: StatusReport;
  try {
    report = await readStatus(influx, cfg.influx.url);
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    errOut(`linkwatch: ${err.message}\n`);
    return EXIT.ERROR;
  }
  const now = (opts.now ?? Date.now)();
  // The newest point is normally one to two periods old; past five (or 30 s) the evaluator is likely not running.
  const staleMs = Math.max(5 * cfg.evaluator.period + cfg.evaluator.settle, 30_000);
  if (now - report.at > staleMs) {
    errOut(`linkwatch: warning: the newest verdicts are from ${new Date(report.at).toISOString()}; is the evaluator running?\n`);
  }
  if (opts.json) out(`${JSON.stringify(report, null, 2)}\n`);
  else out(`${formatStatusTable([...report.stations, ...Array.from({ length: report.total - report.stations.length }, okRow)], report.incidents, { now: report.at })}\n`);
  if (!opts.json && Object.keys(report.agent_versions).length > 0) out(`${formatAgentVersions(report.agent_versions)}\n`);
  return someNotOk(report) ? EXIT.NOT_OK : EXIT.OK;
}

/** `agent versions: 0.2.0 × 148, 0.1.0 × 2 (bk-a, bk-b)`: the newest first; the stations named for all but it. */
export function formatAgentVersions(versions: Record<string, string>): string {
  const by = new Map<string, string[]>();
  for (const [station, v] of Object.entries(versions)) by.set(v, [...(by.get(v) ?? []), station]);
  const newestFirst = [...by.keys()].sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  const parts = newestFirst.map((v, i) => {
    const stations = by.get(v)!.sort();
    return `${v} × ${stations.length}${i > 0 ? ` (${stations.slice(0, 10).join(', ')}${stations.length > 10 ? ', …' : ''})` : ''}`;
  });
  return `agent versions: ${parts.join(', ')}`;
}

// formatStatusTable counts all stations for its header; the ok ones are not read back, only counted.
function okRow(): StatusRow {
  return { station: '', commune: '', district: '', isp: '', state: 'ok', cause: 'none', since: 0 };
}
