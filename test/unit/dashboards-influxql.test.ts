import { describe, expect, it } from 'vitest';
import { agg, col, ident, InfluxQLQueryBuilder, literal, select, tagMatchesVar } from '../../dashboards/influxql.js';

describe('InfluxQL builder', () => {
  it.each([
    [select(agg('last', 'code')).from('health'), 'SELECT last("code") AS "code" FROM "health" WHERE $timeFilter'],
    [
      select(agg('mean', 'rtt_avg_ms')).from('probe').whereVars('station').groupByTime().groupBy('role').fill('null'),
      'SELECT mean("rtt_avg_ms") AS "rtt_avg_ms" FROM "probe" WHERE "station" =~ /^$station$/ AND $timeFilter GROUP BY time($__interval), "role" fill(null)',
    ],
    [
      select(agg('percentile', 'rtt_ms', 'p95', 95)).from('health').groupBy('isp'),
      'SELECT percentile("rtt_ms", 95) AS "p95" FROM "health" WHERE $timeFilter GROUP BY "isp"',
    ],
    [
      select(col('code')).from(select(col('code')).from('health').groupBy('station').newestFirst().limit(1)).where('"code" > 0').groupBy('station').newestFirst(),
      'SELECT "code" FROM (SELECT "code" FROM "health" WHERE $timeFilter GROUP BY "station" ORDER BY time DESC LIMIT 1) WHERE "code" > 0 AND $timeFilter GROUP BY "station" ORDER BY time DESC',
    ],
    [
      select('sum("x")').from(select(col('a', 'x')).from('m'), select(col('b', 'x')).from('n')).groupByTime('1h').fill(0),
      'SELECT sum("x") FROM (SELECT "a" AS "x" FROM "m" WHERE $timeFilter), (SELECT "b" AS "x" FROM "n" WHERE $timeFilter) WHERE $timeFilter GROUP BY time(1h) fill(0)',
    ],
  ])('writes %s', (q, expected) => {
    expect(q.toString()).toBe(expected);
  });

  it('is immutable: deriving a query leaves the original as it was', () => {
    const base = select(col('code')).from('health');
    const narrowed = base.whereVars('district');
    expect(base.toString()).toBe('SELECT "code" FROM "health" WHERE $timeFilter');
    expect(narrowed.toString()).toContain('"district" =~ /^$district$/');
  });

  it('quotes identifiers and literals so names with quotes stay one token', () => {
    expect(ident('a"b')).toBe('"a\\"b"');
    expect(literal("Chợ Mới's")).toBe("'Chợ Mới\\'s'");
    expect(tagMatchesVar('district')).toBe('"district" =~ /^$district$/');
  });

  it('refuses a SELECT without FROM or without fields', () => {
    expect(() => select(col('a')).toString()).toThrow(/FROM/);
    expect(() => select()).toThrow(/field/);
  });

  it("emits Grafana's raw InfluxQL target model and nothing else", () => {
    const t = new InfluxQLQueryBuilder(select(col('a')).from('m')).refId('A').table().alias('$tag_station').build();
    expect(JSON.parse(JSON.stringify(t))).toEqual({
      query: 'SELECT "a" FROM "m" WHERE $timeFilter', rawQuery: true, resultFormat: 'table', refId: 'A', alias: '$tag_station',
    });
  });
});
