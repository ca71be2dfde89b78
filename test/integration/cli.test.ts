import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';
import { runCli } from '../helpers/proc.js';

async function run(args: string[]) {
  const p = runCli(args);
  const code = await p.exited;
  return { code, output: p.output() };
}

describe('linkwatch CLI', () => {
  it.each(['agent', 'collector', 'evaluator', 'demo', 'status', 'dashboards', 'credentials'])('prints help for %s', async (cmd) => {
    const { code, output } = await run([cmd, '--help']);
    expect(code).toBe(0);
    expect(output).toContain(`Usage: linkwatch ${cmd}`);
  });

  it('exits 2 on a bad agent config, naming the key, before any network I/O', async () => {
    const dir = tempDir('lw-cli-');
    const file = join(dir, 'agent.yaml');
    // Nothing listens at the broker address: had the agent started, it would retry forever instead of exiting.
    writeFileSync(file, `station: bk-test\nbroker: { url: 'mqtt://127.0.0.1:1' }\noutbox: { path: ${JSON.stringify(dir)} }\ntargets:\n  - { name: a, role: core, kind: tcp, host: h, port: 99999 }\n`);
    const started = Date.now();
    const { code, output } = await run(['agent', '--config', file]);
    expect(code).toBe(2);
    expect(output).toMatch(/config error: .*agent\.yaml: targets\[0\]\.port: /);
    // Had it started, it would retry the dead broker forever; a loaded machine may take seconds just to start node.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('exits 2 on a collector registry with a duplicate station, naming the line', async () => {
    const dir = tempDir('lw-cli-');
    const csv = join(dir, 'stations.csv');
    writeFileSync(csv, 'id,name,commune,district,province,lat,lon,isp,circuit,sla_target\nbk-a,A,Xã A,Chợ Mới,Bắc Kạn,21.8,105.7,VNPT,c1,99.5\nbk-a,B,Xã B,Chợ Mới,Bắc Kạn,21.8,105.7,VNPT,c2,99.5\n');
    const file = join(dir, 'collector.yaml');
    writeFileSync(file, `broker: { url: 'mqtt://127.0.0.1:1' }\ninflux: { url: 'http://127.0.0.1:1', database: lw }\nstations: ${JSON.stringify(csv)}\n`);
    const { code, output } = await run(['collector', '--config', file]);
    expect(code).toBe(2);
    expect(output).toMatch(/stations: .*stations\.csv:3: duplicate id "bk-a"/);
  });

  it('exits 2 naming dead_letter.path when the collector cannot keep its dead letters there, with no stack trace', async () => {
    const dir = tempDir('lw-cli-');
    const csv = join(dir, 'stations.csv');
    writeFileSync(csv, 'id,name,commune,district,province,lat,lon,isp,circuit,sla_target\nbk-a,A,Xã A,Chợ Mới,Thái Nguyên,21.8,105.7,VNPT,c1,99.5\n');
    const file = join(dir, 'collector.yaml');
    // A file where the directory should be: mkdir fails whoever runs the test (root included).
    writeFileSync(join(dir, 'not-a-dir'), '');
    writeFileSync(file, `broker: { url: 'mqtt://127.0.0.1:1' }\ninflux: { url: 'http://127.0.0.1:1', database: lw }\nstations: ${JSON.stringify(csv)}\ndead_letter: { path: ${JSON.stringify(join(dir, 'not-a-dir', 'dl'))} }\nhttp: { listen: 'off' }\n`);
    const { code, output } = await run(['collector', '--config', file]);
    expect(code).toBe(2);
    expect(output).toMatch(/config error: .*collector\.yaml: dead_letter\.path: cannot write .*ENOTDIR/);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on a missing config file', async () => {
    const { code, output } = await run(['agent', '--config', '/nonexistent/agent.yaml']);
    expect(code).toBe(2);
    expect(output).toMatch(/cannot read/);
  });
});
