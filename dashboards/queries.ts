/**
 * The InfluxQL of every panel and alert, by name, on the schema of docs/influxdb-schema.md. Dashboards and alert
 * rules take their queries from here, and the integration tests run each of them against a real influxd (and through
 * Grafana's own frame conversion and transformers).
 */
import { agg, col, inPolicy, select, tagEquals, tagMatchesVar, type Select } from './influxql.js';
import { CODE, DEFAULT_SCOPE, scopeVars, type Scope } from './common.js';
import { ROLLUP_RP } from '../collector/retention.js';

export { DEFAULT_SCOPE, scopeVars, type Scope };

/** Conditions for these tags: each matches its variable, and a partner's lock on `isp` is always there. */
function conds(scope: Scope, tags: readonly string[]): string[] {
  const out = tags.filter((t) => !(t === 'isp' && scope.partner)).map((t) => tagMatchesVar(t));
  if (scope.partner) out.push(tagEquals('isp', scope.partner));
  return out;
}

/** Tags every station row carries in a table. */
const stationTags = (scope: Scope) => ['station', ...scope.groups, 'isp', 'province'];

/** The newest verdict of each station in range, whole (absent fields stay absent, unlike `last()` per field). */
function newestVerdict(scope: Scope, fields: string[]): Select {
  return select(...fields.map((f) => col(f)))
    .from('health')
    .where(...conds(scope, scopeVars(scope)))
    .groupBy(...stationTags(scope))
    .newestFirst()
    .limit(1);
}

const NOT_OK = [`"code" >= ${CODE.degraded}`, `"code" <= ${CODE.offline}`];

/** Per station, its last code in range. */
function lastCodePerStation(scope: Scope): Select {
  return select(agg('last', 'code')).from('health').where(...conds(scope, scopeVars(scope))).groupBy('station');
}

/** Stations whose last verdict in range has this code (no series at all when there are none: the tile says 0). */
export function stationsWithCode(code: number, as: string, scope: Scope = DEFAULT_SCOPE): Select {
  return select(`count("code") AS "${as}"`).from(lastCodePerStation(scope)).where(`"code" = ${code}`);
}

export const TRIAGE_FIELDS = ['code', 'state', 'cause', 'since', 'last_seen', 'loss', 'rtt_ms', 'name', 'commune', 'circuit'];

/**
 * Stations whose newest verdict is degraded, down or offline: one row each, with its tags as columns. Stations unheard
 * because no collector hears the broker (cause `pipeline`) are one fault of the server, counted apart
 * (`stationsUnheardByPipeline`), not listed as station outages.
 */
export function stationsNotOk(scope: Scope = DEFAULT_SCOPE): Select {
  return select(...TRIAGE_FIELDS.map((f) => col(f)))
    .from(newestVerdict(scope, TRIAGE_FIELDS))
    .where(...NOT_OK, `"cause" != 'pipeline'`)
    .groupBy(...stationTags(scope))
    .newestFirst();
}

/** How many stations are unheard now because no collector hears the broker (no series when none: the tile says 0). */
export function stationsUnheardByPipeline(scope: Scope = DEFAULT_SCOPE): Select {
  const lastCause = select(agg('last', 'cause')).from('health').where(...conds(scope, scopeVars(scope))).groupBy('station');
  return select(`count("cause") AS "pipeline"`).from(lastCause).where(`"cause" = 'pipeline'`);
}

/** The newest point of each incident in range, then only those still open; `fields` are the columns shown. */
export function openIncidents(fields: string[] = ['stations', 'cause', 'since'], scope?: string): Select {
  const inner = select(col('stations'), col('cause'), col('since'), col('open'))
    .from('incident')
    .where(...(scope ? [tagEquals('scope', scope)] : []))
    .groupBy('scope', 'key')
    .newestFirst()
    .limit(1);
  return select(...fields.map((f) => col(f))).from(inner).where('"open" = true').groupBy('scope', 'key').newestFirst();
}

/** How many stations were degraded (or down/offline) in each interval: worst code per station, then counted. */
export function stationsNotOkOverTime(minCode: number, maxCode: number, as: string, scope: Scope = DEFAULT_SCOPE): Select {
  const worst = select(agg('max', 'code')).from('health').where(...conds(scope, scopeVars(scope))).groupByTime().groupBy('station');
  return select(`count("code") AS "${as}"`)
    .from(worst)
    .where(`"code" >= ${minCode}`, `"code" <= ${maxCode}`)
    .groupByTime()
    .fill(0);
}

// ---- SLA, from the evaluator's rollups ---------------------------------------------------------------------------

/** The rollup the SLA board reads: `$rollup` is `sla_hour` (exact to the hour) or `sla_day` (for months and years). */
export const ROLLUP_VAR = 'rollup';
const ROLLUP = inPolicy(ROLLUP_RP, `$${ROLLUP_VAR}`);
const HOURLY = inPolicy(ROLLUP_RP, 'sla_hour');
const DAILY = inPolicy(ROLLUP_RP, 'sla_day');

/** Availability over any range: the ISP's downtime against the time the circuit was up; exclusions left out. */
const AVAILABILITY = '100 * sum("available_s") / (sum("available_s") + sum("downtime_s"))';

/**
 * The figures of an SLA row. Latency and loss are the means of the periods' p95 (each period's p95 is taken over its
 * available, non-maintenance time only; percentiles of different periods cannot be merged exactly).
 */
function slaFigures(): string[] {
  return [
    `${AVAILABILITY} AS "availability"`,
    'sum("outages") AS "outages"',
    'sum("downtime_s") / 60 AS "downtime_min"',
    '(sum("maintenance_s") + sum("station_side_s")) / 60 AS "excluded_min"',
    agg('mean', 'rtt_p95_ms'),
    '100 * mean("loss_p95") AS "loss_pct"',
    '100 - 100 * sum("unknown_s") / sum("period_s") AS "completeness"',
  ];
}

const SLA_STATION_TAGS = (scope: Scope) => ['station', 'isp', 'circuit', ...scope.groups];

/** Per circuit: target, availability, margin to target, outages, downtime, exclusions, p95 latency and loss. */
export function slaPerStation(scope: Scope = DEFAULT_SCOPE): Select {
  return select(
    agg('last', 'sla_target'),
    ...slaFigures(),
    `${AVAILABILITY} - last("sla_target") AS "margin"`,
  )
    .from(ROLLUP)
    .where(...conds(scope, scopeVars(scope, 'isp')))
    .groupBy(...SLA_STATION_TAGS(scope));
}

/**
 * MTTR = ISP downtime / ISP outages, only where there were outages: InfluxQL divides by zero to 0, which would read
 * as instant repairs; a row without outages has no MTTR row at all, so the merged table shows it empty.
 */
export function mttr(groupTags: readonly string[], scope: Scope = DEFAULT_SCOPE): Select {
  const inner = select('sum("downtime_s") / 60 / sum("outages") AS "mttr_min"', 'sum("outages") AS "n"')
    .from(ROLLUP)
    .where(...conds(scope, scopeVars(scope, 'isp')))
    .groupBy(...groupTags);
  return select(col('mttr_min')).from(inner).where('"n" > 0').groupBy(...groupTags);
}

/** Per ISP: the same figures. */
export function slaPerIsp(scope: Scope = DEFAULT_SCOPE): Select {
  return select(...slaFigures())
    .from(ROLLUP)
    .where(...conds(scope, scopeVars(scope, 'isp')))
    .groupBy('isp');
}

/** Hourly rollups, bucketed by the panel's interval (at least an hour), per tag. */
export function availabilityOverTime(groupTag: string, scope: Scope = DEFAULT_SCOPE): Select {
  return select(`${AVAILABILITY} AS "availability"`)
    .from(HOURLY)
    .where(...conds(scope, scopeVars(scope, 'isp')))
    .groupByTime()
    .groupBy(groupTag)
    .fill('null');
}

export function latencyP95(groupTag: string, scope: Scope = DEFAULT_SCOPE): Select {
  return select(agg('mean', 'rtt_p95_ms')).from(HOURLY).where(...conds(scope, scopeVars(scope, 'isp'))).groupByTime().groupBy(groupTag).fill('null');
}

// ---- heatmap ---------------------------------------------------------------------------------------------------

/** Share of stations whose latest verdict is available (ok or degraded); maintenance is left out, as in SLA. */
export function availableNowPct(scope: Scope = DEFAULT_SCOPE): Select {
  const lastAvail = select(agg('last', 'avail')).from('health').where(...conds(scope, ['province'])).groupBy('station');
  return select('100 * mean("avail") AS "available_pct"').from(lastAvail);
}

export function downNow(scope: Scope = DEFAULT_SCOPE): Select {
  const last = select(agg('last', 'code')).from('health').where(...conds(scope, ['province'])).groupBy('station');
  return select('count("code") AS "down"').from(last).where(`"code" >= ${CODE.down}`, `"code" <= ${CODE.offline}`);
}

export function openIncidentCount(): Select {
  return select('count("stations") AS "incidents"').from(openIncidents()).newestFirst();
}

export function overallAvailability(scope: Scope = DEFAULT_SCOPE): Select {
  return select('100 * mean("avail") AS "availability"').from('health').where(...conds(scope, ['province']));
}

/** Connectivity of a group: time up against all judged time that was not maintenance, whoever's fault the rest was. */
const CONNECTED = '100 * sum("available_s") / (sum("available_s") + sum("downtime_s") + sum("station_side_s") + sum("other_s"))';

/**
 * Connectivity per group in cells of an hour or of a day in Asia/Ho_Chi_Minh, from the rollups: a status history
 * draws at most one cell per two pixels, so the cells are fixed, never `$__interval`.
 */
export function connectivityCells(groupTag: string, cell: '1h' | '1d', scope: Scope = DEFAULT_SCOPE): Select {
  return select(`${CONNECTED} AS "connected"`)
    .from(cell === '1h' ? HOURLY : DAILY)
    .where(...conds(scope, ['province']))
    .groupByTime(cell)
    .groupBy(groupTag)
    .fill('null')
    .tz('Asia/Ho_Chi_Minh');
}

/** Per group over the range, for the ranked bar of the worst places. */
export function connectivityPerGroup(groupTag: string, scope: Scope = DEFAULT_SCOPE): Select {
  return select(`${CONNECTED} AS "connected"`).from(HOURLY).where(...conds(scope, ['province'])).groupBy(groupTag);
}

/** Worst code per station and interval; no verdict in an interval stays null (NO DATA), never the previous state. */
export function stateTimeline(vars: readonly string[], scope: Scope = DEFAULT_SCOPE): Select {
  return select(agg('max', 'code')).from('health').where(...conds(scope, vars)).groupByTime().groupBy('station').fill('null');
}

/** Newest position, state and name of each station, for the map. */
export function stationMap(scope: Scope = DEFAULT_SCOPE): Select {
  return select(agg('last', 'code'), agg('last', 'lat'), agg('last', 'lon'), agg('last', 'name'), agg('last', 'cause'))
    .from('health')
    .where(...conds(scope, ['province']))
    .groupBy('station', ...scope.groups, 'isp');
}

/** The stations down or offline now, for the map's larger markers. */
export function stationsFailingOnMap(scope: Scope = DEFAULT_SCOPE): Select {
  return select(col('code'), col('lat'), col('lon'), col('name'), col('cause'))
    .from(stationMap(scope))
    .where(`"code" >= ${CODE.down}`, `"code" <= ${CODE.offline}`)
    .groupBy('station', ...scope.groups, 'isp');
}

// ---- station detail --------------------------------------------------------------------------------------------

const ST = ['station'] as const;

export function currentState(): Select {
  return select(col('code'), col('cause'), col('since'), col('last_seen')).from('health').whereVars(...ST).newestFirst().limit(1);
}

export function probeByRole(field: string, expr: string): Select {
  return select(`${expr} AS "${field}"`).from('probe').whereVars(...ST).groupByTime().groupBy('role', 'target').fill('null');
}

export function httpPhases(field: string): Select {
  return select(agg('mean', field))
    .from('probe')
    .whereVars(...ST)
    .where(`"kind" = 'http'`)
    .groupByTime()
    .groupBy('target')
    .fill('null');
}

export function sessionDrops(): Select {
  return select(agg('sum', 'drops')).from('session').whereVars(...ST).groupByTime().groupBy('session').fill('null');
}

export function backlog(field: string): Select {
  return select(agg('max', field)).from('backlog').whereVars(...ST).groupByTime().groupBy('source').fill('null');
}

export function host(...fields: [fn: string, field: string][]): Select {
  return select(...fields.map(([fn, f]) => agg(fn, f))).from('host').whereVars(...ST).groupByTime().fill('null');
}

export function outbox(field: string): Select {
  return select(agg('max', field)).from('report').whereVars(...ST).groupByTime().fill('null');
}

/** Reports missing between consecutive sequence numbers (stamped at measurement time, so backfill fills them). */
export function sequenceGaps(): Select {
  const gaps = select('difference("seq") - 1 AS "missing"').from('report').whereVars(...ST);
  return select(agg('sum', 'missing')).from(gaps).groupByTime().fill(0);
}

export function reportDelay(): Select {
  return select(agg('max', 'delay_ms')).from('report').whereVars(...ST).groupByTime().fill('null');
}

// ---- alerts (no dashboard variables: Grafana alerting has none) --------------------------------------------------
// Grafana's alert evaluator takes one numeric value per series and needs every series told apart by its labels
// (= the GROUP BY tags): each alert query selects exactly one numeric field.

export function alertStationCode(scope: Scope = DEFAULT_SCOPE): Select {
  // A station unheard because no collector hears the broker is the pipeline's fault: the watchdog rule pages for
  // that once, so it does not page per station (its last verdict before stays what it was).
  return select(agg('last', 'code')).from('health').where(`"cause" != 'pipeline'`).groupBy('station', ...scope.groups, 'isp', 'province');
}

/** Open incidents of every configured scope: `stations` only (a string `cause` beside it is dropped by Grafana). */
export function alertIncidents(): Select {
  return openIncidents(['stations']);
}

/** ISP availability of each circuit against its own target, over the rule's window. */
export function alertSlaMargin(scope: Scope = DEFAULT_SCOPE): Select {
  return select(`${AVAILABILITY} - last("sla_target") AS "margin"`).from(HOURLY).groupBy('station', 'isp', 'circuit', ...scope.groups);
}

/** Verdicts written in the window, all stations together: none means the evaluator, collector or InfluxDB is down. */
export function alertVerdictsWritten(): Select {
  return select('count("code") AS "verdicts"').from('health');
}
