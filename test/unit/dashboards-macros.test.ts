import { describe, expect, it } from 'vitest';
import {
  ALL, applyBackendMacros, calculateIntervalMs, escapeRegex, formatInterval, interpolateVariables, substituteMacros,
  type VariableValue, variablesIn,
} from '../../dashboards/macros.js';

const FROM = 1_767_571_200_000;
const TO = FROM + 86_400_000;

describe('backend macros (pkg/tsdb/influxdb/models/query.go)', () => {
  it.each([
    ['$timeFilter', `time >= ${FROM}ms and time <= ${TO}ms`],
    ['GROUP BY time($__interval)', 'GROUP BY time(1m)'],
    ['GROUP BY time($interval)', 'GROUP BY time(1m)'],
    ['LIMIT $__interval_ms', 'LIMIT 60000'],
    ['$__interval_ms/$__interval/$interval', '60000/1m/1m'],
    ['WHERE $timeFilter AND $timeFilter', `WHERE time >= ${FROM}ms and time <= ${TO}ms AND time >= ${FROM}ms and time <= ${TO}ms`],
    ['no macros here', 'no macros here'],
  ])('replaces %s', (query, expected) => {
    expect(applyBackendMacros(query, { from: FROM, to: TO, intervalMs: 60_000 })).toBe(expected);
  });

  it.each([
    [1, '1ms'], [500, '500ms'], [1000, '1s'], [10_000, '10s'], [90_000, '1m'], [60_000, '1m'], [3_600_000, '1h'],
    [5_400_000, '1h'], [86_400_000, '1d'], [0, '1ms'],
  ])('formats an interval of %i ms as %s, like gtime.FormatInterval', (ms, text) => {
    expect(formatInterval(ms)).toBe(text);
  });

  it.each([
    // range, max data points, min interval → $__interval
    [86_400_000, 1000, 10_000, 60_000],
    [6 * 3_600_000, 1000, 10_000, 20_000],
    [15 * 60_000, 1000, 10_000, 10_000],
    [30 * 86_400_000, 1000, 10_000, 1_800_000],
    [7 * 86_400_000, 1000, 10_000, 600_000],
    [60_000, 1000, 0, 50],
  ])('range %i ms over %i points with min %i ms gives %i ms', (range, points, min, expected) => {
    expect(calculateIntervalMs(range, points, min)).toBe(expected);
  });
});

describe('template variables (browser side)', () => {
  const one = (value: string, multi = false): VariableValue => ({ value, multi });
  const vars: Record<string, VariableValue> = {
    district: { value: ['Chợ Mới', 'Ba Bể'], multi: true, options: ['Chợ Mới', 'Ba Bể', 'Na Rì'] },
    isp: { value: ALL, allValue: '.*', multi: true, options: ['VNPT', 'Viettel'] },
    province: { value: ALL, multi: true, options: ['Bắc Kạn', 'Cao Bằng'] },
    station: one('bk-cho-moi-yen-dinh'),
    odd: one('a.b/c (x)', true),
    single: one('a.b'),
  };

  it.each([
    ['"district" =~ /^$district$/', '"district" =~ /^(Chợ Mới|Ba Bể)$/'],
    ['"district" =~ /^${district}$/', '"district" =~ /^(Chợ Mới|Ba Bể)$/'],
    ['"district" =~ /^${district:regex}$/', '"district" =~ /^(Chợ Mới|Ba Bể)$/'],
    ['"district" =~ /^[[district]]$/', '"district" =~ /^(Chợ Mới|Ba Bể)$/'],
    ['"isp" =~ /^$isp$/', '"isp" =~ /^.*$/'],
    ['"isp" =~ /^${isp:regex}$/', '"isp" =~ /^.*$/'],
    ['"province" =~ /^$province$/', '"province" =~ /^(Bắc Kạn|Cao Bằng)$/'],
    ['"station" =~ /^$station$/', '"station" =~ /^bk-cho-moi-yen-dinh$/'],
    ['"x" =~ /^$odd$/', '"x" =~ /^a\\.b\\/c \\(x\\)$/'],
    ['"x" = \'$single\'', '"x" = \'a.b\''],
    ['"x" =~ /^${single:regex}$/', '"x" =~ /^a\\.b$/'],
    ['${district:raw}', 'Chợ Mới,Ba Bể'],
    ['${district:pipe}', 'Chợ Mới|Ba Bể'],
    ['${district:singlequote}', "'Chợ Mới','Ba Bể'"],
    ['$unknown stays, $timeFilter stays, $__interval stays', '$unknown stays, $timeFilter stays, $__interval stays'],
  ])('interpolates %s', (query, expected) => {
    expect(interpolateVariables(query, vars)).toBe(expected);
  });

  it('escapes every regex metacharacter and the slash that would end an InfluxQL regex', () => {
    expect(escapeRegex('^a$b*c+d?e.f(g)h|i[j]k{l}m/n\\o')).toBe('\\^a\\$b\\*c\\+d\\?e\\.f\\(g\\)h\\|i\\[j\\]k\\{l\\}m\\/n\\\\o');
  });

  it('finds the variables a text refers to in every syntax', () => {
    expect(variablesIn('$a ${b} ${c:regex} [[d]] [[e:raw]] $__interval $timeFilter').sort()).toEqual(
      ['__interval', 'a', 'b', 'c', 'd', 'e', 'timeFilter'],
    );
  });

  it('interpolates variables before the backend macros, as Grafana does', () => {
    const q = 'SELECT max("code") FROM "health" WHERE "district" =~ /^$district$/ AND $timeFilter GROUP BY time($__interval)';
    expect(substituteMacros(q, { from: FROM, to: TO, intervalMs: 300_000, variables: vars })).toBe(
      `SELECT max("code") FROM "health" WHERE "district" =~ /^(Chợ Mới|Ba Bể)$/ AND time >= ${FROM}ms and time <= ${TO}ms GROUP BY time(5m)`,
    );
  });
});
