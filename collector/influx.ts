/**
 * The one way to InfluxDB (v1 HTTP API): what is stored (one table of measurements, tags and field types), how it is
 * written (line protocol, for the collector's reports and the evaluator's verdicts alike), how it is read (InfluxQL
 * quoting and a small SELECT builder) and the database's creation (its retention policies: collector/retention.ts).
 *
 * The `influx` package is used through its public API for what it does well: queries (result parsing) and database
 * administration. Writes do not go through it: its `writePoints` coerces every point through its schema (sorting
 * field names, an array per field, a regex escaper per key and value), which cost more than everything else the
 * collector does per report (docs/performance.md), and it has no public call that takes line protocol. So the writer
 * POSTs line protocol built from the table below to `/write` itself, over a keep-alive agent (docs/architecture.md).
 */
import http from 'node:http';
import https from 'node:https';
import { FieldType, InfluxDB, type IPoint, type ISchemaOptions } from 'influx';
import { ident } from '../dashboards/influxql.js';
import { InfluxWriteError, REJECT_REASONS } from '../lib/errors.js';

// ---- What is stored -----------------------------------------------------------------------------------------------

export type FieldKind = 'float' | 'integer' | 'boolean' | 'string';

/** One measurement: its tags in the order they are written, and each field's type. */
export interface MeasurementSpec {
  readonly tags: readonly string[];
  readonly fields: Readonly<Record<string, FieldKind>>;
}

/** Tags every station measurement carries, from the registry (never from the payload). */
export const STATION_TAGS = ['station', 'district', 'province', 'isp'] as const;

/**
 * Every measurement linkwatch writes, with its field types, so integers stay integers whatever JSON made of them
 * (docs/influxdb-schema.md). Extend, never rename or retype: InfluxDB refuses a field written with another type.
 * `status`, `event` and `collector` numbers were always written as floats, so they stay floats.
 */
const ROLLUP_FIELDS = {
  period_s: 'float', available_s: 'float', downtime_s: 'float', maintenance_s: 'float', station_side_s: 'float', other_s: 'float',
  unknown_s: 'float', outages: 'integer', sla_target: 'float', rtt_p50_ms: 'float', rtt_p95_ms: 'float', loss_p50: 'float',
  loss_p95: 'float', jitter_p50_ms: 'float', jitter_p95_ms: 'float',
} as const;

export const MEASUREMENTS = {
  probe: {
    tags: [...STATION_TAGS, 'target', 'role', 'kind'],
    fields: {
      ok: 'boolean', loss: 'float', rtt_min_ms: 'float', rtt_avg_ms: 'float', rtt_max_ms: 'float', rtt_p95_ms: 'float',
      jitter_ms: 'float', sent: 'integer', received: 'integer', dns_ms: 'float', connect_ms: 'float', tls_ms: 'float',
      ttfb_ms: 'float', status: 'integer', error: 'string', cert_days: 'float',
    },
  },
  session: { tags: [...STATION_TAGS, 'session'], fields: { up: 'boolean', drops: 'integer', down_ms: 'integer' } },
  backlog: { tags: [...STATION_TAGS, 'source'], fields: { pending: 'integer', bytes: 'integer', oldest_age_s: 'float', error: 'string' } },
  host: {
    tags: STATION_TAGS,
    fields: { cpu_pct: 'float', mem_used_pct: 'float', disk_free_bytes: 'integer', uptime_s: 'float', iface_up: 'boolean', iface: 'string' },
  },
  report: {
    tags: STATION_TAGS,
    fields: {
      seq: 'integer', delay_ms: 'integer', outbox_depth: 'integer', outbox_dropped: 'integer', interval_s: 'float',
      clock_offset_ms: 'float', agent_version: 'string',
      // What the evaluator reads of the report, in one field (collector/cycle-field.ts).
      cycle: 'string',
    },
  },
  status: { tags: STATION_TAGS, fields: { state: 'string' } },
  event: { tags: [...STATION_TAGS, 'type'], fields: { name: 'string', count: 'float', down_ms: 'float', detail: 'string' } },
  collector: {
    tags: ['collector'],
    fields: {
      messages: 'float', reports: 'float', rejected: 'float', batches: 'float', points: 'float', retries: 'float',
      refused_full: 'float', pending_points: 'float', connected: 'float', deaf: 'float', ...Object.fromEntries(REJECT_REASONS.map((r) => [`rejected_${r}`, 'float'])),
    },
  },
  health: {
    tags: STATION_TAGS,
    fields: {
      state: 'string', code: 'integer', cause: 'string', since: 'integer', lat: 'float', lon: 'float', name: 'string',
      commune: 'string', circuit: 'string', avail: 'integer', outage_start: 'integer', loss: 'float', rtt_ms: 'float',
      last_seen: 'integer', sla_target: 'float',
    },
  },
  incident: { tags: ['scope', 'key'], fields: { stations: 'integer', cause: 'string', open: 'boolean', since: 'integer' } },
  // SLA rollups, in the retention policy `rollups` (collector/sla/rollup-job.ts, docs/sla.md).
  sla_hour: { tags: [...STATION_TAGS, 'circuit'], fields: ROLLUP_FIELDS },
  sla_day: { tags: [...STATION_TAGS, 'circuit'], fields: ROLLUP_FIELDS },
  sla_month: { tags: [...STATION_TAGS, 'circuit'], fields: ROLLUP_FIELDS },
  sla_outage: { tags: [...STATION_TAGS, 'circuit'], fields: { end: 'integer', duration_s: 'float', cause: 'string', continued: 'integer' } },
} as const satisfies Record<string, MeasurementSpec>;

export type Measurement = keyof typeof MEASUREMENTS;

/** The table as the `influx` package's schema options (for tools and tests that write through the package). */
export function packageSchema(database?: string): ISchemaOptions[] {
  const type = { float: FieldType.FLOAT, integer: FieldType.INTEGER, boolean: FieldType.BOOLEAN, string: FieldType.STRING };
  return Object.entries(MEASUREMENTS).map(([measurement, spec]) => ({
    measurement,
    ...(database ? { database } : {}),
    tags: [...spec.tags],
    fields: Object.fromEntries(Object.entries(spec.fields).map(([k, kind]) => [k, type[kind]])),
  }));
}

// ---- Line protocol ------------------------------------------------------------------------------------------------
// Floats as JavaScript prints them, integers with the `i` suffix, booleans as T/F, strings quoted; fields in sorted
// order and tags in the table's order, like the influx package writes them, so the stored bytes did not change
// (test/unit/line-protocol.test.ts).

const TAG_SPECIAL = /[,= ]/;
const TAG_SPECIAL_G = /[,= ]/g;
const STRING_SPECIAL = /["\\]/;
const STRING_SPECIAL_G = /["\\]/g;

/** Escapes a measurement, tag key, tag value or field key: comma, equals sign and space take a backslash. */
export function escapeTag(s: string): string {
  return TAG_SPECIAL.test(s) ? s.replace(TAG_SPECIAL_G, '\\$&') : s;
}

/** A string field value: quoted, with `"` and `\` escaped. */
export function quoteString(s: string): string {
  return STRING_SPECIAL.test(s) ? `"${s.replace(STRING_SPECIAL_G, '\\$&')}"` : `"${s}"`;
}

/** Field values of one point by name; `undefined` and `null` are left out (InfluxDB has no null). */
export type FieldValues = Readonly<Record<string, number | boolean | string | undefined | null>>;

interface FieldEncoder {
  key: string;
  /** `key=` with the key escaped. */
  prefix: string;
  kind: FieldKind;
}

interface MeasurementEncoder {
  /** The escaped measurement name. */
  name: string;
  tags: ReadonlyArray<{ key: string; prefix: string }>;
  fields: readonly FieldEncoder[];
  kinds: Readonly<Record<string, FieldKind>>;
}

const encoders = new Map<string, MeasurementEncoder>();
for (const [name, spec] of Object.entries(MEASUREMENTS) as Array<[string, MeasurementSpec]>) {
  encoders.set(name, {
    name: escapeTag(name),
    tags: spec.tags.map((key) => ({ key, prefix: `,${escapeTag(key)}=` })),
    fields: Object.keys(spec.fields).sort().map((key) => ({ key, prefix: `${escapeTag(key)}=`, kind: spec.fields[key]! })),
    kinds: spec.fields,
  });
}

function encoderOf(measurement: string): MeasurementEncoder {
  const e = encoders.get(measurement);
  if (!e) throw new Error(`measurement "${measurement}" is not in the table of collector/influx.ts`);
  return e;
}

function fieldText(kind: FieldKind, v: number | boolean | string): string {
  switch (kind) {
    case 'integer':
      return `${Math.floor(v as number)}i`;
    case 'boolean':
      return v ? 'T' : 'F';
    case 'string':
      return quoteString(String(v));
    default:
      return String(v);
  }
}

/** The field set of a point of `measurement`, in line protocol (empty when no field is defined). */
export function fieldsText(measurement: Measurement, values: FieldValues): string {
  const enc = encoderOf(measurement);
  let out = '';
  for (const f of enc.fields) {
    const v = values[f.key];
    if (v === undefined || v === null) continue;
    out += `${out.length === 0 ? '' : ','}${f.prefix}${fieldText(f.kind, v)}`;
  }
  return out;
}

/**
 * `,tag=v,…` of a point: the table's tags in its order, then any others (the registry's extra grouping columns,
 * `area`, `hub`…, which vary by province) by name. Absent and empty values are left out: InfluxDB refuses an empty tag.
 */
export function tagsText(measurement: Measurement, tags: Readonly<Record<string, string | undefined>>): string {
  let out = '';
  const known = encoderOf(measurement).tags;
  for (const t of known) {
    const v = tags[t.key];
    if (v !== undefined && v !== '') out += `${t.prefix}${escapeTag(v)}`;
  }
  const extra = Object.keys(tags).filter((k) => !known.some((t) => t.key === k)).sort();
  for (const k of extra) {
    const v = tags[k];
    if (v !== undefined && v !== '') out += `,${escapeTag(k)}=${escapeTag(v)}`;
  }
  return out;
}

/** A point as the evaluator and the collector's own counters build it (the `influx` package's `IPoint` shape). */
export interface Point {
  measurement: Measurement;
  tags: Readonly<Record<string, string>>;
  fields: FieldValues;
  /** ms epoch */
  timestamp: number;
}

/** One point in line protocol. A field the table does not know is a bug, and throws. */
export function pointToLine(p: Point | IPoint): string {
  const measurement = p.measurement as Measurement;
  const enc = encoderOf(measurement);
  const fields = p.fields ?? {};
  for (const k in fields) if (!(k in enc.kinds)) throw new Error(`field "${k}" of "${measurement}" is not in the table of collector/influx.ts`);
  const ts = p.timestamp instanceof Date ? p.timestamp.getTime() : p.timestamp;
  return `${enc.name}${tagsText(measurement, (p.tags ?? {}) as Record<string, string>)} ${fieldsText(measurement, fields as FieldValues)}${ts !== undefined && ts !== '' ? ` ${ts}` : ''}`;
}

// ---- Reading: InfluxQL --------------------------------------------------------------------------------------------

// InfluxQL quoting is the dashboards' (one pair of quoting rules for every query linkwatch writes); that module
// imports only types at run time, so the collector loads nothing of Grafana's.
export { ident, literal } from '../dashboards/influxql.js';

/** A SELECT over one measurement (the collector side's queries: the evaluator's reads and `linkwatch status`). */
export interface SelectSpec {
  /** Field expressions as written (`ident('seq')`, `last("code")`); `*` for all. */
  fields: readonly string[];
  from: Measurement;
  /** Conditions ANDed, e.g. `time >= ${t}ms`, `${ident('station')} = ${literal(id)}`. */
  where?: readonly string[];
  /** Tags, or a `time(…)` bucket as written. */
  groupBy?: readonly string[];
  newestFirst?: boolean;
  limit?: number;
}

/** Writes one InfluxQL SELECT. Pure. */
export function select(q: SelectSpec): string {
  let s = `SELECT ${q.fields.join(', ')} FROM ${ident(q.from)}`;
  if (q.where && q.where.length > 0) s += ` WHERE ${q.where.join(' AND ')}`;
  if (q.groupBy && q.groupBy.length > 0) s += ` GROUP BY ${q.groupBy.map((g) => (g.includes('(') || g === '*' ? g : ident(g))).join(', ')}`;
  if (q.newestFirst) s += ' ORDER BY time DESC';
  if (q.limit !== undefined) s += ` LIMIT ${q.limit}`;
  return s;
}

/** `time >= <from>ms AND time < <to>ms` style bounds; either may be left open. */
export function timeRange(from: { ms: number; inclusive?: boolean } | undefined, to: { ms: number; inclusive?: boolean } | undefined): string[] {
  return [
    ...(from ? [`time ${from.inclusive === false ? '>' : '>='} ${from.ms}ms`] : []),
    ...(to ? [`time ${to.inclusive ? '<=' : '<'} ${to.ms}ms`] : []),
  ];
}

// ---- The client ---------------------------------------------------------------------------------------------------

/** Where and as whom to reach InfluxDB (the collector config's `influx:` after its secrets are read). */
export interface InfluxTarget {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Per request, ms. */
  timeout: number;
}

/** Writes in flight at once to one InfluxDB; the writer uses 2 (research/ceilings.md), the evaluator 1. */
const MAX_SOCKETS = 4;

/**
 * One InfluxDB: `query`/`queryRaw` are the `influx` package's (public API), writes are line protocol POSTed to
 * `/write` with ms precision. Constructing it does no I/O.
 */
export class Influx {
  /** The `influx` package's client, for queries and administration. */
  readonly client: InfluxDB;
  readonly query: InfluxDB['query'];
  readonly queryRaw: InfluxDB['queryRaw'];
  private readonly request: typeof http.request;
  private readonly agent: http.Agent;
  private readonly writeOptions: http.RequestOptions;

  constructor(readonly target: InfluxTarget) {
    const url = new URL(target.url);
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    this.client = new InfluxDB({
      host: url.hostname,
      port,
      protocol: secure ? 'https' : 'http',
      database: target.database,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      // The writer retries with its own backoff; the pool's retries would hide a down InfluxDB from it.
      pool: { maxRetries: 0, requestTimeout: target.timeout },
    });
    this.query = this.client.query.bind(this.client);
    this.queryRaw = this.client.queryRaw.bind(this.client);
    this.request = secure ? https.request : http.request;
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }) : new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    const base = url.pathname.replace(/\/+$/, '');
    this.writeOptions = {
      method: 'POST',
      hostname: url.hostname,
      port,
      path: `${base}/write?db=${encodeURIComponent(target.database)}&precision=ms`,
      agent: this.agent,
      timeout: target.timeout,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        ...(target.username ? { authorization: `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}` } : {}),
      },
    };
  }

  /**
   * POSTs line protocol (points one a line, ms timestamps). Resolves on 204; otherwise rejects with an
   * InfluxWriteError carrying the HTTP status (absent for a network error or a timeout) and InfluxDB's message.
   */
  writeLines(body: string, retentionPolicy?: string): Promise<void> {
    const options = retentionPolicy ? { ...this.writeOptions, path: `${this.writeOptions.path}&rp=${encodeURIComponent(retentionPolicy)}` } : this.writeOptions;
    return new Promise((resolve, reject) => {
      const req = this.request(options, (res) => {
        const status = res.statusCode ?? 0;
        if (status === 204 || status === 200) {
          res.resume();
          res.on('end', resolve);
          return;
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < 2000) text += d;
        });
        res.on('end', () => {
          let message = text;
          try {
            message = (JSON.parse(text) as { error?: string }).error ?? text;
          } catch {
            // not JSON: keep the text
          }
          reject(new InfluxWriteError(status, `InfluxDB /write: ${status} ${message}`.trim().slice(0, 500)));
        });
        res.on('error', (err) => reject(new InfluxWriteError(status, `InfluxDB /write: ${err.message}`, { cause: err })));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.target.timeout} ms`)));
      req.on('error', (err) => reject(new InfluxWriteError(undefined, `InfluxDB /write: ${err.message}`, { cause: err })));
      req.end(body);
    });
  }

  /**
   * Writes points of the table's measurements (the evaluator's verdicts, the collector's counters), timestamps in ms
   * (`options` is there for callers of the package's `writePoints`; only ms precision is written).
   */
  writePoints(points: ReadonlyArray<Point | IPoint>, options?: { precision?: 'ms'; retentionPolicy?: string }): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    let body = '';
    for (const p of points) body += body.length === 0 ? pointToLine(p) : `\n${pointToLine(p)}`;
    return this.writeLines(body, options?.retentionPolicy);
  }

  /**
   * Creates the database (idempotent); run at start and whenever a write finds the database missing. Its retention
   * policies are collector/retention.ts's (`ensureRetention`).
   */
  async ensureDatabase(): Promise<void> {
    await this.client.createDatabase(this.target.database); // CREATE DATABASE is idempotent
  }

  /** Closes the idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}

/** The `influx:` section of a config (or the evaluator's variant of it) and its password. */
export function influxFromConfig(cfg: { url: string; database: string; username?: string | undefined; timeout: number }, password: string | undefined): Influx {
  return new Influx({ url: cfg.url, database: cfg.database, username: cfg.username, password, timeout: cfg.timeout });
}
