/**
 * The InfluxQL of every panel and alert, by name, on the schema of docs/influxdb-schema.md. Dashboards and alert
 * rules take their queries from here, and the integration test runs each of them against a real influxd.
 */
import { agg, col, select, tagEquals, type Select } from './influxql.js';
import { CODE } from './common.js';

export const SCOPE_VARS = ['province', 'district', 'isp', 'station'] as const;
const TAGS = ['station', 'district', 'isp', 'province'] as const;

/** The newest verdict of each station in range, whole (absent fields stay absent, unlike `last()` per field). */
function newestVerdict(fields: string[], tags: readonly string[] = TAGS): Select {
  return select(...fields.map((f) => col(f)))
    .from('health')
    .whereVars(...SCOPE_VARS)
    .groupBy(...tags)
    .newestFirst()
    .limit(1);
}

const NOT_OK = [`"code" >= ${CODE.degraded}`, `"code" <= ${CODE.offline}`];

/** Per station, its last code in range. */
function lastCodePerStation(): Select {
  return select(agg('last', 'code')).from('health').whereVars(...SCOPE_VARS).groupBy('station');
}

/** Stations whose last verdict in range has this code. */
export function stationsWithCode(code: number, as: string): Select {
  return select(`count("code") AS "${as}"`).from(lastCodePerStation()).where(`"code" = ${code}`);
}

export const TRIAGE_FIELDS = ['code', 'state', 'cause', 'since', 'last_seen', 'loss', 'rtt_ms', 'name', 'commune'];

/** Stations whose newest verdict is degraded, down or offline: one row each, with its tags as columns. */
export function stationsNotOk(): Select {
  return select(...TRIAGE_FIELDS.map((f) => col(f)))
    .from(newestVerdict(TRIAGE_FIELDS))
    .where(...NOT_OK)
    .groupBy(...TAGS)
    .newestFirst();
}

/** Incidents whose newest point in range is still open. */
export function openIncidents(scope?: string): Select {
  const inner = select(col('stations'), col('cause'), col('since'), col('open'))
    .from('incident')
    .where(...(scope ? [tagEquals('scope', scope)] : []))
    .groupBy('scope', 'key')
    .newestFirst()
    .limit(1);
  return select(col('stations'), col('cause'), col('since')).from(inner).where('"open" = true').groupBy('scope', 'key').newestFirst();
}

/** How many stations were degraded (or down/offline) in each interval: worst code per station, then counted. */
export function stationsNotOkOverTime(minCode: number, maxCode: number, as: string): Select {
  const worst = select(agg('max', 'code')).from('health').whereVars(...SCOPE_VARS).groupByTime().groupBy('station');
  return select(`count("code") AS "${as}"`)
    .from(worst)
    .where(`"code" >= ${minCode}`, `"code" <= ${maxCode}`)
    .groupByTime()
    .fill(0);
}

// ---- SLA -------------------------------------------------------------------------------------------------------

const SLA_VARS = ['province', 'district', 'isp'] as const;

/** The figures of an SLA row, per station or per ISP, after its availability (maintenance excluded): outages, p95 latency, loss. */
const AVAILABILITY = '100 * mean("avail") AS "availability"';
const SLA_FIGURES = [
  agg('count', 'outage_start', 'outages'),
  agg('percentile', 'rtt_ms', 'rtt_p95_ms', 95),
  '100 * mean("loss") AS "loss_pct"',
] as const;

/**
 * Per station (= per circuit): availability with maintenance excluded (`avail` is absent there), the margin to its
 * target, outage count, p95 latency and mean loss, plus the registry fields a partner needs in the export.
 */
export function slaPerStation(): Select {
  return select(
    agg('last', 'name'),
    agg('last', 'circuit'),
    agg('last', 'sla_target'),
    AVAILABILITY,
    '100 * mean("avail") - last("sla_target") AS "margin"',
    ...SLA_FIGURES,
  )
    .from('health')
    .whereVars(...SLA_VARS)
    .groupBy('station', 'isp', 'district');
}

/** 1 while down or offline, absent in maintenance: the integrand of downtime. */
function downSignal(tags: readonly string[]): Select {
  return select('1 - "avail" AS "down"').from('health').whereVars(...SLA_VARS).groupBy(...tags);
}

/**
 * Downtime (minutes) per station: the time integral of the down signal, so it does not depend on the evaluator's
 * period; taken per station (integrating a merged multi-station series is wrong). MTTR = downtime / outages is
 * divided by Grafana: InfluxDB 1.x splits series unpredictably when one statement combines an integral with an
 * aggregate of another field or another subquery (seen on 1.6.7), so the integral stays alone in its statement.
 */
export function downtimePerStation(): Select {
  const tags = ['station', 'isp', 'district'];
  return select('integral("down", 1m) AS "downtime_min"').from(downSignal(tags)).groupBy(...tags);
}

/** Per ISP: availability, outages, p95 latency, loss. */
export function slaPerIsp(): Select {
  return select(AVAILABILITY, ...SLA_FIGURES)
    .from('health')
    .whereVars(...SLA_VARS)
    .groupBy('isp');
}

/**
 * Per ISP, downtime is the sum of the per-station integrals (`downtimePerStation`), summed by Grafana: a `sum()` over
 * an integral subquery sometimes comes back from InfluxDB 1.6 split into two series for one ISP.
 */

export function availabilityOverTime(groupTag: string, vars: readonly string[] = SLA_VARS): Select {
  return select('100 * mean("avail") AS "availability"')
    .from('health')
    .whereVars(...vars)
    .groupByTime()
    .groupBy(groupTag)
    .fill('null');
}

export function latencyP95(groupTag: string): Select {
  return select(agg('percentile', 'rtt_ms', 'rtt_p95_ms', 95)).from('health').whereVars(...SLA_VARS).groupByTime().groupBy(groupTag).fill('null');
}

// ---- heatmap ---------------------------------------------------------------------------------------------------

/** Share of stations whose latest verdict is available (ok or degraded); maintenance is left out, as in SLA. */
export function availableNowPct(): Select {
  const lastAvail = select(agg('last', 'avail')).from('health').whereVars('province', 'district').groupBy('station');
  return select('100 * mean("avail") AS "available_pct"').from(lastAvail);
}

export function downNow(): Select {
  const last = select(agg('last', 'code')).from('health').whereVars('province', 'district').groupBy('station');
  return select('count("code") AS "down"').from(last).where(`"code" >= ${CODE.down}`, `"code" <= ${CODE.offline}`);
}

export function openIncidentCount(): Select {
  return select('count("stations") AS "incidents"').from(openIncidents()).newestFirst();
}

export function overallAvailability(): Select {
  return select('100 * mean("avail") AS "availability"').from('health').whereVars('province', 'district');
}

/** Worst code per station and interval; no verdict in an interval stays null (NO DATA), never the previous state. */
export function stateTimeline(vars: readonly string[]): Select {
  return select(agg('max', 'code')).from('health').whereVars(...vars).groupByTime().groupBy('station').fill('null');
}

/** Newest position and state of each station, for the map. */
export function stationMap(): Select {
  return select(agg('last', 'code'), agg('last', 'lat'), agg('last', 'lon'), agg('last', 'name'))
    .from('health')
    .whereVars('province', 'district')
    .groupBy('station', 'district', 'isp');
}

// ---- station detail --------------------------------------------------------------------------------------------

const ST = ['station'] as const;

export function currentState(): Select {
  return select(col('code'), col('cause'), col('since'), col('last_seen')).from('health').whereVars(...ST).newestFirst().limit(1);
}

export function probeByRole(field: string, expr: string): Select {
  return select(`${expr} AS "${field}"`).from('probe').whereVars(...ST).groupByTime().groupBy('role', 'target').fill('null');
}

export function httpPhases(): Select {
  return select(agg('mean', 'dns_ms'), agg('mean', 'connect_ms'), agg('mean', 'tls_ms'), agg('mean', 'ttfb_ms'))
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

export function outbox(): Select {
  return select(agg('max', 'outbox_depth'), agg('max', 'outbox_dropped')).from('report').whereVars(...ST).groupByTime().fill('null');
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

export function alertStationCode(): Select {
  return select(agg('last', 'code')).from('health').groupBy('station', 'district', 'isp');
}

export function alertDistrictIncidents(): Select {
  return openIncidents('district');
}

export function alertSlaMargin(): Select {
  return select('100 * mean("avail") - last("sla_target") AS "margin"').from('health').groupBy('station', 'isp', 'district');
}
