/** `linkwatch status` exit codes and messages when it cannot answer: bad config, InfluxDB down, no verdicts yet. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort, startInflux, type LocalServer } from '../../deploy/local-servers.js';

const run = (config: string) => spawnSync(process.execPath, ['bin/linkwatch.js', 'status', '--config', config, '--json'], { encoding: 'utf8', timeout: 30_000 });

describe('linkwatch status when it cannot answer', () => {
  let dir: string;
  let influx: LocalServer;
  const config = (name: string, influxUrl: string, extra: Record<string, unknown> = {}) => {
    const file = join(dir, name);
    writeFileSync(file, YAML.stringify({ broker: { url: 'mqtt://127.0.0.1:1' }, influx: { url: influxUrl, database: 'linkwatch' }, stations: join(dir, 'stations.csv'), ...extra }));
    return file;
  };

  beforeAll(async () => {
    buildCliIfStale();
    dir = mkdtempSync(join(tmpdir(), 'lw-status-'));
    writeFileSync(join(dir, 'stations.csv'), 'id,name,commune,district,province,lat,lon,isp,circuit,sla_target,sla_class\nbk-1,Công an xã Yên Định,Yên Định,Chợ Mới,Bắc Kạn,22.1,105.8,VNPT,c1,99.5,gold\n');
    influx = await startInflux({ dir: join(dir, 'influxdb') });
  });

  afterAll(async () => {
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown key', { verdicts: { rasie: 3, classes: { gold: {} } } }, /verdicts\.rasie: unknown key/],
    ['a bad duration', { evaluator: { period: 'soon' }, verdicts: { classes: { gold: {} } } }, /evaluator\.period: invalid duration/],
    ['a station naming an unknown SLA class', {}, /stations: .*sla_class "gold" is not in verdicts\.classes/],
  ])('exits 2 on a config with %s, naming the key', (_, extra, message) => {
    const r = run(config('bad.yaml', 'http://127.0.0.1:1', extra));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('exits 2 when InfluxDB cannot be reached, saying so', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = run(config('unreachable.yaml', url, { verdicts: { classes: { gold: {} } } }));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cannot query InfluxDB at ${url}`);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
  });

  it('exits 2 when there are no verdicts yet', async () => {
    const file = config('empty.yaml', influx.url, { verdicts: { classes: { gold: {} } } });
    expect(run(file).stderr).toMatch(/no such database yet/);
    await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE linkwatch')}`, { method: 'POST' });
    const r = run(file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no verdicts in InfluxDB .*evaluator/);
  });
});

/** These tests run the built CLI; build it when a source it needs is newer than dist/. */
function buildCliIfStale() {
  const built = existsSync('dist/cli/status.js') ? statSync('dist/cli/status.js').mtimeMs : 0;
  const sources = ['cli/status.ts', 'cli/main.ts', 'collector/evaluator.ts', 'collector/main.ts', 'collector/verdict/format.ts'];
  if (sources.some((s) => statSync(s).mtimeMs > built)) spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
}
