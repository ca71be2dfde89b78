import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config.js';
import { collectorConfigSchema } from '../../collector/config.js';
import { parseRegistry } from '../../collector/registry.js';
import { ConfigError, loadConfigFile } from '../../lib/config-file.js';
import { parseBytes, parseDuration } from '../../lib/units.js';
import { readFileSync } from 'node:fs';
import { tempDir } from '../helpers/env.js';

const examples = join(import.meta.dirname, '../../deploy/examples');

describe('units', () => {
  it.each([
    ['10s', 10_000], ['500ms', 500], ['5m', 300_000], ['1h', 3_600_000], ['2d', 172_800_000], [3, 3000], ['1.5s', 1500],
  ])('reads the duration %s as %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));
  it.each([
    ['256MB', 256e6], ['64KiB', 65_536], ['1GB', 1e9], ['512', 512], [1024, 1024], ['40KB', 40_000],
  ])('reads the size %s as %d bytes', (input, bytes) => expect(parseBytes(input)).toBe(bytes));
  it.each(['ten seconds', '-5s', '5 parsecs', ''])('refuses the duration %j', (input) => expect(() => parseDuration(input)).toThrow(/invalid duration/));
});

describe('config files', () => {
  it('loads the example agent config, with defaults', () => {
    const cfg = loadConfigFile(join(examples, 'agent.yaml'), agentConfigSchema);
    expect(cfg.interval).toBe(10_000);
    expect(cfg.outbox.max_bytes).toBe(256e6);
    expect(cfg.outbox.ack_timeout).toBe(30_000);
    expect(cfg.targets.map((t) => t.role)).toEqual(['gateway', 'isp', 'core', 'service']);
  });

  it('loads the example collector config and registry', () => {
    const cfg = loadConfigFile(join(examples, 'collector.yaml'), collectorConfigSchema);
    expect(cfg.influx.batch_points).toBe(5000);
    const stations = parseRegistry(readFileSync(join(examples, 'stations.csv'), 'utf8'));
    expect(stations.get('bk-cho-moi-yen-dinh')).toMatchObject({ province: 'Thái Nguyên', district: '', groups: { area: 'Chợ Mới' } });
    expect(stations.get('bk-ba-be-nam-mau')?.sla_class).toBe('remote');
  });

  const base = { station: 'bk-x', broker: { url: 'mqtt://127.0.0.1:1883' }, outbox: { path: '/tmp/x' }, targets: [{ name: 'a', role: 'core', kind: 'tcp', host: 'h', port: 1 }] };
  it.each([
    ['a bad station id', { ...base, station: 'Chợ Mới' }, 'station', /must match/],
    ['a port out of range', { ...base, targets: [{ ...base.targets[0], port: 70000 }] }, 'targets[0].port', /<=65535|too big/i],
    ['an unknown key', { ...base, intervall: '10s' }, 'intervall', /unknown key/],
    ['an unknown probe kind', { ...base, targets: [{ ...base.targets[0], kind: 'smoke' }] }, 'targets[0].kind', /invalid|expected/i],
    ['a duration without meaning', { ...base, interval: 'often' }, 'interval', /invalid duration/],
    ['a duplicate target name', { ...base, targets: [base.targets[0], base.targets[0]] }, 'targets[1].name', /duplicate/],
    ['a non-MQTT broker URL', { ...base, broker: { url: 'http://x' } }, 'broker.url', /mqtt/],
  ])('names the key of %s', (_what, data, key, problem) => {
    const dir = tempDir('lw-cfg-');
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, JSON.stringify(data));
    try {
      loadConfigFile(file, agentConfigSchema);
      expect.unreachable('config was accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
      expect((err as ConfigError).problem).toMatch(problem);
    }
  });

  it('says where YAML is broken', () => {
    const file = join(tempDir('lw-cfg-'), 'agent.yaml');
    writeFileSync(file, 'station: [unclosed\n');
    expect(() => loadConfigFile(file, agentConfigSchema)).toThrow(/not valid YAML/);
  });
});
