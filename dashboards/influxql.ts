/**
 * A small InfluxQL builder for raw Grafana queries, and the cog Dataquery that carries them.
 *
 * The SDK has no InfluxDB query type (research/grafana.md §1.4), so `InfluxQLQueryBuilder` implements the SDK's
 * custom-query pattern and emits Grafana's `InfluxQuery` JSON: `{ refId, query, rawQuery: true, resultFormat }`.
 * `select()` writes the InfluxQL itself. Every SELECT level carries `$timeFilter`: Grafana requires it in raw mode,
 * and an outer `GROUP BY time()` over a subquery without its own time bound runs up to now() (InfluxDB 1.x).
 */
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

/** Quotes an identifier (measurement, field, tag) for InfluxQL. */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Quotes a string literal for InfluxQL. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `fn("field") AS "alias"`, e.g. `agg('last', 'code')`; `extra` adds arguments (`percentile("rtt_ms", 95)`). */
export function agg(fn: string, field: string, as: string = field, ...extra: (string | number)[]): string {
  const args = [ident(field), ...extra.map(String)].join(', ');
  return `${fn}(${args}) AS ${ident(as)}`;
}

/** A plain field, optionally renamed. */
export function col(field: string, as?: string): string {
  return as ? `${ident(field)} AS ${ident(as)}` : ident(field);
}

/** A tag matched against a Grafana variable: `"district" =~ /^$district$/` (multi-value and All safe). */
export function tagMatchesVar(tag: string, variable: string = tag): string {
  return `${ident(tag)} =~ /^$${variable}$/`;
}

export function tagEquals(tag: string, value: string): string {
  return `${ident(tag)} = ${literal(value)}`;
}

export type Fill = 'none' | 'null' | 'previous' | 'linear' | number;

/** A measurement in a named retention policy: `"rollups"."sla_hour"` (a source string starting with `"` is kept as is). */
export function inPolicy(policy: string, measurement: string): string {
  return `${ident(policy)}.${ident(measurement)}`;
}

/** One SELECT statement; `from` is a measurement or subqueries. Immutable: every method returns a copy. */
export class Select {
  private constructor(
    private readonly fields: readonly string[],
    private readonly sources: readonly (string | Select)[] = [],
    private readonly conditions: readonly string[] = [],
    private readonly timeBucket: string | undefined = undefined,
    private readonly tags: readonly string[] = [],
    private readonly fillOption: Fill | undefined = undefined,
    private readonly descending = false,
    private readonly limitN: number | undefined = undefined,
    private readonly zone: string | undefined = undefined,
  ) {}

  static of(fields: string[]): Select {
    if (fields.length === 0) throw new Error('a SELECT needs at least one field');
    return new Select(fields);
  }

  private with(p: Partial<{ sources: readonly (string | Select)[]; conditions: readonly string[]; timeBucket: string;
    tags: readonly string[]; fillOption: Fill; descending: boolean; limitN: number; zone: string }>): Select {
    return new Select(
      this.fields,
      p.sources ?? this.sources,
      p.conditions ?? this.conditions,
      p.timeBucket ?? this.timeBucket,
      p.tags ?? this.tags,
      p.fillOption ?? this.fillOption,
      p.descending ?? this.descending,
      p.limitN ?? this.limitN,
      p.zone ?? this.zone,
    );
  }

  /** A measurement, or one or more subqueries (InfluxQL merges several subqueries in FROM). */
  from(...sources: (string | Select)[]): Select {
    return this.with({ sources });
  }

  /** Conditions ANDed before `$timeFilter`. Tag conditions go here, raw field conditions too. */
  where(...conditions: string[]): Select {
    return this.with({ conditions: [...this.conditions, ...conditions] });
  }

  /** `"tag" =~ /^$var$/` for each tag named after its variable. */
  whereVars(...tags: string[]): Select {
    return this.where(...tags.map((t) => tagMatchesVar(t)));
  }

  groupByTime(bucket = '$__interval'): Select {
    return this.with({ timeBucket: bucket });
  }

  groupBy(...tags: string[]): Select {
    return this.with({ tags: [...this.tags, ...tags] });
  }

  fill(option: Fill): Select {
    return this.with({ fillOption: option });
  }

  /** Newest first; a subquery ordered this way needs its outer query ordered the same (InfluxDB 1.x rule). */
  newestFirst(): Select {
    return this.with({ descending: true });
  }

  limit(n: number): Select {
    return this.with({ limitN: n });
  }

  /** `tz('Asia/Ho_Chi_Minh')`: time buckets of a day start at local midnight. */
  tz(zone: string): Select {
    return this.with({ zone });
  }

  toString(): string {
    if (this.sources.length === 0) throw new Error('a SELECT needs FROM');
    const from = this.sources.map((s) => (typeof s === 'string' ? (s.startsWith('"') ? s : ident(s)) : `(${s.toString()})`)).join(', ');
    const where = [...this.conditions, '$timeFilter'].join(' AND ');
    let q = `SELECT ${this.fields.join(', ')} FROM ${from} WHERE ${where}`;
    const groups = [...(this.timeBucket ? [`time(${this.timeBucket})`] : []), ...this.tags.map(ident)];
    if (groups.length > 0) q += ` GROUP BY ${groups.join(', ')}`;
    if (this.fillOption !== undefined) q += ` fill(${this.fillOption})`;
    if (this.descending) q += ' ORDER BY time DESC';
    if (this.limitN !== undefined) q += ` LIMIT ${this.limitN}`;
    if (this.zone !== undefined) q += ` tz(${literal(this.zone)})`;
    return q;
  }
}

/** Starts a SELECT: `select(agg('last', 'code')).from('health').whereVars('district').groupBy('station')`. */
export function select(...fields: string[]): Select {
  return Select.of(fields);
}

export type ResultFormat = 'time_series' | 'table' | 'logs';

/** Grafana's InfluxDB query model in raw InfluxQL mode. */
export interface InfluxQLQuery extends Dataquery {
  refId?: string;
  hide?: boolean;
  datasource?: DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  alias?: string;
}

/** A panel target or alert query model holding raw InfluxQL (the SDK's custom-query pattern). */
export class InfluxQLQueryBuilder implements Builder<Dataquery> {
  private readonly internal: InfluxQLQuery;

  constructor(query: string | Select) {
    this.internal = {
      query: String(query),
      rawQuery: true,
      resultFormat: 'time_series',
      _implementsDataqueryVariant() {},
    };
  }

  build(): InfluxQLQuery {
    return this.internal;
  }

  refId(v: string): this {
    this.internal.refId = v;
    return this;
  }

  datasource(v: DataSourceRef): this {
    this.internal.datasource = v;
    return this;
  }

  /** Table format: one frame, a column per GROUP BY tag and per selected field. */
  table(): this {
    this.internal.resultFormat = 'table';
    return this;
  }

  /** Legend pattern: `$tag_station`, `$col`, `$m`. */
  alias(v: string): this {
    this.internal.alias = v;
    return this;
  }
}
