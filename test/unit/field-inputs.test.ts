import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config.js';
import { ConfigError, loadConfigFile } from '../../lib/config-file.js';
import { resolveLogLevel } from '../../lib/log.js';
import { tempDir } from '../helpers/env.js';

const base = { station: 'bk-x', broker: { url: 'mqtt://127.0.0.1:1883' }, outbox: { path: '/tmp/x' }, targets: [{ name: 'a', role: 'core', kind: 'tcp', host: 'h', port: 1 }] };

/** Loads `data` as an agent config file and returns the ConfigError it raises. */
function refusal(data: unknown): ConfigError {
  const file = join(tempDir('lw-inputs-'), 'agent.yaml');
  writeFileSync(file, JSON.stringify(data));
  try {
    loadConfigFile(file, agentConfigSchema);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  return expect.unreachable('config was accepted');
}

describe('the agent interval', () => {
  it.each([['999ms'], ['10ms'], ['0s'], [0.5], [0]])('refuses %j, below the 1 s floor, naming `interval`', (interval) => {
    const err = refusal({ ...base, interval });
    expect(err.key).toBe('interval');
    expect(err.problem).toMatch(/at least 1s/);
  });

  it.each([['1s', 1000], [1, 1000], ['10s', 10_000]])('accepts %j', (interval, ms) => {
    expect(agentConfigSchema.parse({ ...base, interval }).interval).toBe(ms);
  });
});

describe('an HTTP probe URL', () => {
  const http = (url: string) => ({ ...base, targets: [base.targets[0], { name: 'svc', role: 'service', kind: 'http', url }] });

  it.each([
    ['a space in the host', 'http://dan cu.example.vn/health'],
    ['an unclosed IPv6 bracket', 'https://[::1/health'],
    ['no host', 'http://:80/'],
    ['a port out of range', 'http://10.0.0.1:99999/'],
  ])('refuses %s, naming targets[1].url', (_what, url) => {
    const err = refusal(http(url));
    expect(err.key).toBe('targets[1].url');
    expect(err.problem).toMatch(/cannot be parsed/);
  });

  it('still refuses another scheme with its own message', () => {
    expect(refusal(http('ftp://dancu.example.vn/')).problem).toMatch(/http:\/\/ or https:\/\//);
  });

  it.each([['https://dâncư.example.vn/health'], ['https://dancu.example.vn/tra cứu?q=Chợ Mới'], ['http://[::1]:8080/health']])('accepts %s', (url) => {
    expect(agentConfigSchema.safeParse(http(url)).success).toBe(true);
  });
});

describe('resolveLogLevel', () => {
  it.each([
    ['info', {}, 'info'],
    [undefined, {}, 'info'],
    ['info', { LINKWATCH_LOG_LEVEL: 'debug' }, 'debug'],
    ['silent', { LINKWATCH_LOG_LEVEL: 'warn' }, 'warn'],
    ['debug', { LINKWATCH_LOG_LEVEL: ' ERROR ' }, 'error'],
    ['warn', { LINKWATCH_LOG_LEVEL: '' }, 'warn'],
  ])('with the config at %j and the environment %j logs at %j', (configured, env, level) => {
    expect(resolveLogLevel(configured, env)).toBe(level);
  });

  it('refuses a level pino does not know, naming the variable', () => {
    try {
      resolveLogLevel('info', { LINKWATCH_LOG_LEVEL: 'verbose' });
      expect.unreachable('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe('LINKWATCH_LOG_LEVEL');
      expect((err as ConfigError).problem).toMatch(/"verbose" is not one of fatal, error, warn, info, debug, trace, silent/);
    }
  });
});
