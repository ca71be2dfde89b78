/**
 * Inputs as people really type them, through the real CLI in a child process: the exit code and what it says.
 * The agent's broker is a loopback port nothing listens on, so no test here needs a server.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { eventually, tempDir } from '../helpers/env.js';
import { runCli, type Proc } from '../helpers/proc.js';

let dir: string;
let closedPort: number;
const running: Proc[] = [];

/** A loopback port that was free a moment ago: connecting to it is refused at once. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

function agentFile(name: string, overrides: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, YAML.stringify({
    station: 'bk-cho-moi-yen-dinh',
    interval: '1s',
    broker: { url: `mqtt://127.0.0.1:${closedPort}`, username: 'bk-cho-moi-yen-dinh' },
    outbox: { path: join(dir, 'outbox', name) },
    targets: [{ name: 'hub', role: 'core', kind: 'tcp', host: '127.0.0.1', port: closedPort, count: 1 }],
    ...overrides,
  }));
  return file;
}

function collectorFile(): string {
  writeFileSync(join(dir, 'stations.csv'), 'id,name,commune,district,province,lat,lon,isp,circuit,sla_target\nbk-cho-moi-yen-dinh,Công an xã Yên Định,Yên Định,Chợ Mới,Bắc Kạn,21.87,105.78,VNPT,VNPT-1,99.5\n');
  const file = join(dir, 'collector.yaml');
  writeFileSync(file, YAML.stringify({
    broker: { url: `mqtt://127.0.0.1:${closedPort}` },
    influx: { url: `http://127.0.0.1:${closedPort}`, database: 'linkwatch' },
    stations: join(dir, 'stations.csv'),
  }));
  return file;
}

async function exitOf(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const p = runCli(args, env);
  running.push(p);
  const code = await p.exited;
  return { code, output: p.output() };
}

beforeAll(async () => {
  dir = tempDir('lw-cli-inputs-');
  closedPort = await freePort();
});

afterAll(async () => {
  await Promise.all(running.map((p) => p.kill9()));
});

describe('linkwatch agent --json', () => {
  it('without --once exits 2 and says to add --once, before reading the config', async () => {
    const { code, output } = await exitOf(['agent', '--config', join(dir, 'no-such.yaml'), '--json']);
    expect(code).toBe(2);
    expect(output).toMatch(/--json prints the report of --once/);
    expect(output).not.toMatch(/no-such\.yaml/);
  });
});

describe('config keys people get wrong', () => {
  it('exits 2 naming `interval` for an agent interval below 1 s', async () => {
    const { code, output } = await exitOf(['agent', '--config', agentFile('fast', { interval: '10ms' })]);
    expect(code).toBe(2);
    expect(output).toMatch(/config error: .*fast\.yaml: interval: must be at least 1s/);
  });

  it('exits 2 naming targets[0].url for an HTTP URL that cannot be parsed', async () => {
    const file = agentFile('url', { targets: [{ name: 'dancu', role: 'service', kind: 'http', url: 'https://dan cu.example.vn/health' }] });
    const { code, output } = await exitOf(['agent', '--config', file, '--once']);
    expect(code).toBe(2);
    expect(output).toMatch(/config error: .*url\.yaml: targets\[0\]\.url: cannot be parsed as a URL/);
  });
});

describe('LINKWATCH_LOG_LEVEL', () => {
  it('overrides the level of the config file in the agent', async () => {
    // The config says silent; the environment asks for info, so the lifecycle line appears.
    const p = runCli(['agent', '--config', agentFile('loud', { log_level: 'silent' })], { LINKWATCH_LOG_LEVEL: 'info' });
    running.push(p);
    await eventually('the agent logs that it started', () => p.output().includes('"msg":"agent started"'), 20_000);
    expect(await p.stop()).toBe(0);
  });

  it('quietens the agent below the config file level', async () => {
    const file = agentFile('quiet', { log_level: 'info' });
    const p = runCli(['agent', '--config', file], { LINKWATCH_LOG_LEVEL: 'error' });
    running.push(p);
    // Started (its outbox exists) and ran a few cycles against a refused broker and target, saying nothing.
    await eventually('the agent opened its outbox', () => existsSync(join(dir, 'outbox', 'quiet', 'outbox.db')), 20_000);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await p.stop()).toBe(0);
    expect(p.output()).toBe('');
  });

  it.each([
    ['agent', () => ['agent', '--config', agentFile('badlevel')]],
    ['collector', () => ['collector', '--config', collectorFile()]],
    ['evaluator', () => ['evaluator', '--config', collectorFile()]],
  ])('that pino does not know stops the %s with exit 2, naming the variable', async (_name, args) => {
    const { code, output } = await exitOf(args(), { LINKWATCH_LOG_LEVEL: 'verbose' });
    expect(code).toBe(2);
    expect(output).toMatch(/config error: environment: LINKWATCH_LOG_LEVEL: "verbose" is not one of/);
  });

  it('sends the logs of --once --json to stderr, so stdout stays JSON', async () => {
    const p = runCli(['agent', '--config', agentFile('once'), '--once', '--json'], { LINKWATCH_LOG_LEVEL: 'debug' });
    running.push(p);
    let stdout = '';
    p.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    expect(await p.exited).toBe(0);
    const report = JSON.parse(stdout) as { station: string };
    expect(report.station).toBe('bk-cho-moi-yen-dinh');
  });
});
